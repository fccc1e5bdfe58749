"""The survey's variants as data: the closure and later flows extend the rating flow."""

from __future__ import annotations

import itertools

import pytest

import prompts
from callflows import KeyPressed, NoInput, Position, Start, load_flow, step
from callflows.vocabulary import LEVELS
from storage.records.later import MAX_AGO

pytestmark = pytest.mark.any_database

FLOWS = ("rating", "closure", "later")


def test_a_variant_restates_only_what_differs():
    rating, closure = load_flow("rating"), load_flow("closure")
    assert closure.nodes["ask"].prompts == ("ask_closure",)
    assert closure.nodes["ask"].keys == rating.nodes["ask"].keys
    assert closure.nodes["ask"].listen_seconds == rating.nodes["ask"].listen_seconds
    assert closure.nodes["confirm"] == rating.nodes["confirm"]
    assert rating.nodes["ask"].prompts == ("ask_rating",)  # the base is untouched


def test_the_later_flow_says_which_call_then_asks_the_usual_question():
    later = load_flow("later")
    offer = step(later, Position("", ago=3), Start())
    assert offer.prompts == ("later_offer", "days_ago_3", "later_options")
    assert offer.position.ago == 3
    again = step(later, offer.position, NoInput())
    assert again.prompts == ("no_input", "later_offer", "days_ago_3", "later_options")
    ask = step(later, offer.position, KeyPressed("1"))
    assert ask.prompts[0] == "ask_rating" and ask.wait_for_key
    rated = step(later, ask.position, KeyPressed("2"))
    assert rated.rate == "satisfied" and rated.rate_source == "dtmf"
    declined = step(later, offer.position, KeyPressed("2"))
    assert declined.disposition == "no_input" and declined.rate is None


def _prompt_names(flow_name: str) -> set[str]:
    names = set()
    for node in load_flow(flow_name).nodes.values():
        templates = [*node.prompts, *node.listen_prompts]
        templates += [node.invalid_prompt, node.no_input_prompt, node.not_understood_prompt]
        templates += [node.speech_late_prompt]
        for template, heard, ago in itertools.product(
            [t for t in templates if t], LEVELS, range(MAX_AGO + 1)
        ):
            names.add(template.format(heard=heard, ago=ago))
    return names


@pytest.mark.parametrize(
    ("flow_name", "lang"), list(itertools.product(FLOWS, ("zh-CN", "ko-KR", "en-US")))
)
def test_every_prompt_of_every_flow_is_in_every_pack_with_its_audio(flow_name, lang):
    pack = prompts.load_pack(lang)
    missing = _prompt_names(flow_name) - set(pack.prompts)
    assert not missing
    no_audio = [n for n in _prompt_names(flow_name) if prompts.audio_path(lang, n) is None]
    assert not no_audio, f"run python -m prompts.build: {no_audio}"
