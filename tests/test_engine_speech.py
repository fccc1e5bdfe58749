"""The rating flow with a speech model: spoken answers, read-back, reasons, fallbacks."""

from __future__ import annotations

import pytest

from callflows import (
    Heard,
    KeyPressed,
    NoInput,
    NotUnderstood,
    Position,
    Recorded,
    SpeechLate,
    Start,
    load_flow,
    step,
)

pytestmark = pytest.mark.any_database

FLOW = load_flow("rating")

LISTEN = ("ask_rating", "speak_after_tone", "recording_notice")
READBACK_BAD = ("readback", "level_dissatisfied", "readback_options")

# With a speech model: (position, event, prompts, listens for, next position, rating, source)
SPEECH_TABLE = [
    (Position(""), Start(), LISTEN, "rating", Position("ask"), None, None),
    (
        Position("ask"),
        Heard("satisfied", True),
        ("thanks",),
        None,
        Position("thanks"),
        "satisfied",
        "speech",
    ),
    (
        Position("ask"),
        Heard("dissatisfied", True),
        ("reason_ask", "recording_notice"),
        "reason",
        Position("reason"),
        "dissatisfied",
        "speech",
    ),
    (
        Position("ask"),
        Heard("dissatisfied", False),
        READBACK_BAD,
        None,
        Position("confirm", heard="dissatisfied"),
        None,
        None,
    ),
    (
        Position("confirm", heard="dissatisfied"),
        KeyPressed("1"),
        ("reason_ask", "recording_notice"),
        "reason",
        Position("reason"),
        "dissatisfied",
        "speech",
    ),
    (
        Position("confirm", heard="dissatisfied"),
        KeyPressed("2"),
        LISTEN,
        "rating",
        Position("ask", 1),
        None,
        None,
    ),
    (
        Position("confirm", 2, heard="satisfied"),
        KeyPressed("2"),
        ("goodbye",),
        None,
        Position("goodbye_unrated"),
        None,
        None,
    ),
    (
        Position("confirm", heard="dissatisfied"),
        KeyPressed("9"),
        ("invalid_key", *READBACK_BAD),
        None,
        Position("confirm", 1, heard="dissatisfied"),
        None,
        None,
    ),
    (Position("confirm"), KeyPressed("1"), LISTEN, "rating", Position("ask"), None, None),
    (
        Position("ask"),
        NotUnderstood(),
        ("not_understood", *LISTEN),
        "rating",
        Position("ask", 1),
        None,
        None,
    ),
    (
        Position("ask", 1),
        NotUnderstood(),
        ("not_understood", "ask_rating"),
        None,
        Position("ask", 2, keys_only=True),
        None,
        None,
    ),
    (
        Position("ask", 2),
        NotUnderstood(),
        ("goodbye",),
        None,
        Position("goodbye_unrated"),
        None,
        None,
    ),
    (
        Position("ask"),
        SpeechLate(),
        ("speech_late", "ask_rating"),
        None,
        Position("ask", keys_only=True),
        None,
        None,
    ),
    (Position("ask"), NoInput(), ("no_input", *LISTEN), "rating", Position("ask", 1), None, None),
    (
        Position("ask", 1, keys_only=True),
        KeyPressed("*"),
        ("ask_rating",),
        None,
        Position("ask", 1, keys_only=True),
        None,
        None,
    ),
    (
        Position("ask"),
        KeyPressed("5"),
        ("reason_ask", "recording_notice"),
        "reason",
        Position("reason"),
        "very_dissatisfied",
        "dtmf",
    ),
    (Position("reason"), Recorded(), ("thanks_bad",), None, Position("thanks_bad"), None, None),
    (
        Position("reason"),
        KeyPressed("#"),
        ("thanks_bad",),
        None,
        Position("thanks_bad"),
        None,
        None,
    ),
    (
        Position("ask"),
        Heard("nonsense", True),
        ("invalid_key", *LISTEN),
        "rating",
        Position("ask", 1),
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("position", "event", "prompts", "listen", "after", "rate", "source"), SPEECH_TABLE
)
def test_speech_flow_table(position, event, prompts, listen, after, rate, source):
    result = step(FLOW, position, event, speech=True)
    assert result.prompts == prompts
    assert result.listen == listen
    assert result.position == after
    assert (result.rate, result.rate_source) == (rate, source)


def test_speech_is_never_an_endless_loop():
    """A caller who keeps saying something unclear, or keeps refusing the read-back, is let go."""
    for events in ([NotUnderstood()] * 10, [Heard("satisfied", False), KeyPressed("2")] * 10):
        result = step(FLOW, Position(""), Start(), speech=True)
        for event in events:
            if result.disposition:
                break
            result = step(FLOW, result.position, event, speech=True)
        assert result.disposition == "no_input"
