"""The per-call figure of bench/speech.py follows the real rating flow (callflows/rating.toml).

A caller whose rating is read back wrong presses 2 and says it again; speech not
understood is asked again once, then keys; a certain result is stored at once.
"""

from __future__ import annotations

import importlib.util
import sys
from types import SimpleNamespace

import pytest
from speech_fixtures import ROOT

pytestmark = pytest.mark.any_database


def _speech_calls():
    spec = importlib.util.spec_from_file_location(
        "speech_bench_calls", ROOT / "bench/speech_calls.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


speech_calls = _speech_calls()
call_outcome = speech_calls.call_outcome

SAT, BAD = "satisfied", "dissatisfied"


def test_a_read_back_of_the_right_level_is_confirmed_and_stored():
    assert call_outcome(SAT, [(SAT, False)]) == ("right", 1)
    assert call_outcome(SAT, [(SAT, True)]) == ("right", 1)


def test_a_wrong_read_back_is_rejected_and_the_caller_speaks_again():
    assert call_outcome(SAT, [(BAD, False), (SAT, False)]) == ("right", 2)
    assert call_outcome(SAT, [(BAD, False), (BAD, False), (SAT, False)]) == ("right", 3)


def test_speech_not_understood_twice_falls_back_to_keys():
    assert call_outcome(SAT, [(None, False), (SAT, False)]) == ("right", 2)
    assert call_outcome(SAT, [(None, False), (None, False), (SAT, False)]) == ("keys", 2)


def test_a_certain_wrong_result_is_counted_wrong():
    assert call_outcome(SAT, [(BAD, True), (SAT, False)]) == ("wrong", 1)


def test_per_call_repeats_the_same_voice_at_the_next_speed():
    def u(speed: int, heard: str | None) -> SimpleNamespace:
        return SimpleNamespace(
            text="좋아요", level=SAT, voice="ko", pitch=40, channel="tel", speed=speed, heard=heard
        )

    calls = [u(120, None), u(150, SAT), u(180, BAD)]
    counts = speech_calls.per_call(calls, lambda x: (x.heard, False))
    # 120: not understood, then 150 read back right; 150: right at once;
    # 180: wrong read-back rejected, then 120 not understood, keys only
    assert (counts["right"], counts["keys"], counts["wrong"]) == (2, 1, 0)
