"""The rating flow as a table: (position, event) → what the caller hears and what is stored."""

from __future__ import annotations

import re

import pytest

from callflows import (
    FlowError,
    KeyPressed,
    NoInput,
    Position,
    Start,
    load_flow,
    parse_flow,
    step,
)
from callflows.diagram import to_mermaid

pytestmark = pytest.mark.any_database

FLOW = load_flow("rating")
ASK = "ask_rating"


def rated(at: Position, key: str, level: str, thanks: str = "thanks") -> tuple:
    """A row of TABLE: `key` pressed `at` a question rates `level`, thanked by `thanks`."""
    return (at, KeyPressed(key), (thanks,), False, Position(thanks), level, "rated")


# (position, event, prompts heard, waits for a key, next position, rating, disposition)
TABLE = [
    (Position(""), Start(), ("ask_rating",), True, Position("ask", 0), None, None),
    rated(Position("ask"), "1", "very_satisfied"),
    rated(Position("ask"), "2", "satisfied"),
    rated(Position("ask"), "3", "basically_satisfied"),
    rated(Position("ask"), "4", "dissatisfied", thanks="thanks_bad"),
    rated(Position("ask"), "5", "very_dissatisfied", thanks="thanks_bad"),
    rated(Position("ask", 2), "5", "very_dissatisfied", thanks="thanks_bad"),
    (Position("ask"), KeyPressed("9"), ("invalid_key", ASK), True, Position("ask", 1), None, None),
    (Position("ask"), KeyPressed("0"), ("invalid_key", ASK), True, Position("ask", 1), None, None),
    (Position("ask"), KeyPressed("#"), ("invalid_key", ASK), True, Position("ask", 1), None, None),
    (Position("ask"), KeyPressed("12"), ("invalid_key", ASK), True, Position("ask", 1), None, None),
    (
        Position("ask", 1),
        KeyPressed("x"),
        ("invalid_key", ASK),
        True,
        Position("ask", 2),
        None,
        None,
    ),
    (Position("ask"), NoInput(), ("no_input", ASK), True, Position("ask", 1), None, None),
    (Position("ask", 1), NoInput(), ("no_input", ASK), True, Position("ask", 2), None, None),
    (
        Position("ask", 2),
        NoInput(),
        ("goodbye",),
        False,
        Position("goodbye_unrated"),
        None,
        "no_input",
    ),
    (
        Position("ask", 2),
        KeyPressed("7"),
        ("goodbye",),
        False,
        Position("goodbye_unrated"),
        None,
        "no_input",
    ),
    (Position("ask"), KeyPressed("*"), (ASK,), True, Position("ask", 0), None, None),
    (Position("ask", 2), KeyPressed("*"), (ASK,), True, Position("ask", 2), None, None),
    (Position("no_such_node"), KeyPressed("4"), (ASK,), True, Position("ask", 0), None, None),
    (Position("thanks"), KeyPressed("4"), (ASK,), True, Position("ask", 0), None, None),
]


@pytest.mark.parametrize(
    ("position", "event", "heard", "waits", "after", "rate", "disposition"), TABLE
)
def test_rating_flow_table(position, event, heard, waits, after, rate, disposition):
    result = step(FLOW, position, event)
    assert result.prompts == heard
    assert result.wait_for_key is waits
    assert result.position == after
    assert result.rate == rate
    assert result.disposition == disposition


def test_two_reasks_then_goodbye():
    """The usual practice: the question is asked at most three times in all."""
    result = step(FLOW, Position(""), Start())
    asked = 1
    while result.wait_for_key:
        result = step(FLOW, result.position, NoInput())
        asked += result.wait_for_key
    assert asked == 3
    assert result.disposition == "no_input"


def test_keys_follow_the_domain_order():
    keys = FLOW.nodes["ask"].keys
    assert [keys[k].rate for k in "12345"] == [
        "very_satisfied",
        "satisfied",
        "basically_satisfied",
        "dissatisfied",
        "very_dissatisfied",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": "nowhere"}, "start node"),
        (
            {
                "nodes": {
                    "a": {
                        "prompt": "p",
                        "input": "keys",
                        "keys": {"1": {"next": "b"}},
                        "on_exhausted": "a",
                    }
                }
            },
            "undefined",
        ),
        ({"nodes": {"a": {"prompt": "p", "end": "exploded"}}}, "disposition"),
        (
            {
                "nodes": {
                    "a": {
                        "prompt": "p",
                        "input": "keys",
                        "on_exhausted": "a",
                        "keys": {"1": {"next": "a", "rate": "great"}},
                    }
                }
            },
            "level",
        ),
        (
            {
                "nodes": {
                    "a": {
                        "prompt": "p",
                        "input": "keys",
                        "on_exhausted": "a",
                        "keys": {"11": {"next": "a"}},
                    }
                }
            },
            "phone key",
        ),
        ({"nodes": {"a": {"prompt": "p", "input": "keys"}}}, "on_exhausted"),
        ({"nodes": {"a": {"prompt": "p", "kind": "dance"}}}, "unknown kind"),
        ({"nodes": {"a": {"prompt": "p", "kind": "record", "next": "a"}}}, "listen_seconds"),
        ({"after_rating": {"good": "a"}}, "after_rating.bad"),
        ({"nodes": {"a": {"end": "rated"}}}, "no prompt"),
    ],
)
def test_invalid_flows_are_refused(change, message):
    data = {
        "name": "t",
        "start": "a",
        "after_rating": {"good": "a", "neutral": "a", "bad": "a"},
        "nodes": {"a": {"prompt": "p", "end": "rated"}},
    } | change
    with pytest.raises(FlowError, match=message):
        parse_flow(data)


def test_engine_is_independent_of_the_web_layer(project_root):
    for path in (project_root / "callflows").glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import)\s+(\w+)", path.read_text(), re.MULTILINE)
        assert not {"flask", "twilio", "werkzeug"} & set(imports), path


def test_diagram_shows_every_transition():
    diagram = to_mermaid(FLOW)
    assert diagram.startswith("stateDiagram-v2\n")
    assert "[*] --> ask" in diagram
    assert "ask --> rated_good: key 1 / rate very_satisfied" in diagram
    assert "ask --> rated_bad: key 4 / rate dissatisfied" in diagram
    assert "rated_bad --> reason" in diagram
    assert "ask --> confirm: speech, uncertain / read back" in diagram
    assert "confirm --> rated_by_readback: key 1 / confirm the level heard" in diagram
    assert "ask --> ask: key * / repeat" in diagram
    assert "ask --> goodbye_unrated: re-asks used up" in diagram
    assert "goodbye_unrated --> [*]: hang up / no_input" in diagram
