"""One vocabulary: the supervisors' filter knows every disposition, the callback guards
follow the transitions table, and no second definition of a word creeps in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from callflows import vocabulary
from callflows.vocabulary import DISPOSITIONS, TRANSITIONS, may
from storage.reports.call_search import FilterError, parse_filter
from tests.console_helpers import login, make_people
from tests.helpers import stored_call

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]

ROOT = Path(__file__).resolve().parent.parent
CODE_FOLDERS = ("ivr", "storage", "workers", "callflows", "prompts", "bench")
# The word lists a second definition would repeat.
GROUPS = {
    "levels": set(vocabulary.LEVELS),
    "categories": set(vocabulary.CATEGORIES),
    "sources": set(vocabulary.SOURCES),
    "dispositions": set(DISPOSITIONS),
    "kinds": set(vocabulary.KINDS),
    "callback states": set(vocabulary.CALLBACK_STATES),
    "silent outcomes": set(vocabulary.SILENT_OUTCOMES),
    "languages": {"zh-CN", "ko-KR", "en-US"},
}
# A single word is a definition when its name says so (`DISPOSITION_RATED = "rated"`).
PREFIXES = {
    "levels": "LEVEL_",
    "categories": "CATEGORY_",
    "sources": "SOURCE_",
    "dispositions": "DISPOSITION_",
    "kinds": "KIND_",
    "callback states": "CALLBACK_",
    "silent outcomes": "OUTCOME_",
    "languages": "LANGUAGE_",  # one language (DEFAULT_LANG = "zh-CN") is no list
}


def test_the_supervisors_filter_selects_calls_closed_by_a_link(place_call, sessions, client):
    applicant, _ = place_call("hangup", caller="+8613800001111")
    proxy, _ = place_call("4", caller="+8613700000001", linked=applicant.call_sid)
    linked = stored_call(sessions, applicant.call_sid)
    assert linked.disposition == "rated_by_link"
    assert parse_filter({"disposition": "rated_by_link"}).disposition == "rated_by_link"
    make_people(sessions)
    login(client, "li")
    page = client.get("/console/calls", query_string={"disposition": "rated_by_link"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f">#{linked.id}<" in text
    assert f">#{stored_call(sessions, proxy.call_sid).id}<" not in text


def test_an_unknown_disposition_is_still_refused():
    with pytest.raises(FilterError):
        parse_filter({"disposition": "rated_by_magic"})


def test_the_guards_follow_the_transitions_table():
    states = vocabulary.CALLBACK_STATES
    for trigger in {t.trigger for t in TRANSITIONS}:
        sources = {t.source for t in TRANSITIONS if t.trigger == trigger}
        assert {s for s in states if may(trigger, s)} == sources
    assert not may("attempt", vocabulary.CALLBACK_CLOSED)


def _strings(node: ast.AST) -> list[str]:
    """The string constants a definition lists (a dict's values, not its keys)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for item in node.elts for s in _strings(item)]
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return [s for value in node.values for s in _strings(value)]
    if isinstance(node, ast.Call) and node.args:  # frozenset({...}), tuple((...))
        return _strings(node.args[0])
    return []


def _second_definitions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
        if not names or node.value is None:
            continue
        words = _strings(node.value)
        for group, members in GROUPS.items():
            listed = [word for word in words if word in members]
            # a list mostly of the group's words (not a few among others: column names)
            relisted = len(set(listed)) >= 2 and 2 * len(listed) >= len(words)
            single = len(words) == 1 and listed and names[0].startswith(PREFIXES[group])
            if relisted or single:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {names[0]} ({group})")
    return found


def test_no_word_of_the_vocabulary_is_defined_twice():
    """Levels, dispositions, states … live in `callflows/vocabulary.py` only."""
    home = ROOT / "callflows" / "vocabulary.py"
    found = [
        where
        for folder in CODE_FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != home and "migrations" not in path.parts
        for where in _second_definitions(path)
    ]
    assert found == []


def test_the_scan_would_see_a_second_definition(tmp_path):
    copy = tmp_path / "copy.py"
    copy.write_text('DISPOSITIONS = ("rated", "no_input")\nKIND_LATER = "later"\n')
    assert len(_second_definitions_at(copy)) == 2


def _second_definitions_at(path: Path) -> list[str]:
    global ROOT
    saved, ROOT = ROOT, path.parent
    try:
        return _second_definitions(path)
    finally:
        ROOT = saved
