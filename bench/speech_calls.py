"""Spoken ratings per call, as the rating flow really runs them (``callflows/rating.toml``).

A single utterance that is not resolved is not the end of the call: the flow reads
back what it heard (the caller presses 2 if it is not what they said) or says it did
not understand, and lets the caller speak again (the engine decides how often: speech
not understood twice falls back to keys). This module replays that with the flow
engine itself: the caller of an utterance says the same phrase again, in the same
voice, pitch and channel, at the next of the corpus's speeds (a caller repeating
themselves, slower or faster), and confirms a read-back only if it names the level
they said (the careful caller of ``ivr simulate``'s ``confirm:LEVEL``).

Outcome of a call: ``right`` (the level said was stored from speech), ``wrong`` (a
level stored from speech that the caller did not say), ``keys`` (speech gave up: the
caller is offered keys only, or the flow ends unrated).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from callflows import (
    RECORDING_RATING,
    Heard,
    KeyPressed,
    NotUnderstood,
    Position,
    Start,
    Step,
    load_flow,
    step,
)

OUTCOMES = ("right", "wrong", "keys")
MAX_STEPS = 20


def call_outcome(
    truth: str, attempts: Sequence[tuple[str | None, bool]], flow_name: str = "rating"
) -> tuple[str, int]:
    """Run one call: ``attempts`` are the (level, certain) of each time the caller speaks,
    in order. Returns the outcome and the number of times the caller spoke."""
    flow = load_flow(flow_name)
    current: Step = step(flow, Position(flow.start), Start(), speech=True)
    spoken = 0
    for _ in range(MAX_STEPS):
        if current.rate is not None:
            return ("right" if current.rate == truth else "wrong"), spoken
        if current.disposition is not None:
            return "keys", spoken
        if current.listen == RECORDING_RATING and spoken < len(attempts):
            level, certain = attempts[spoken]
            spoken += 1
            event = Heard(level, certain) if level is not None else NotUnderstood()
        elif current.position.heard is not None:  # a read-back: confirm only the truth
            event = KeyPressed("1" if current.position.heard == truth else "2")
        else:  # keys only from here (or no rendering left): speech gave up
            return "keys", spoken
        current = step(flow, current.position, event, speech=True)
    return "keys", spoken


def per_call(
    utterances: Sequence, result_of: Callable[[object], tuple[str | None, bool]]
) -> Counter:
    """Outcome of a call for each phrase utterance (an object with ``text``, ``level``,
    ``voice``, ``pitch``, ``channel``, ``speed``); ``result_of(u)`` is its (level,
    certain). The repeats are the same phrase at the following speeds, cyclically."""
    renderings: dict[tuple, list] = {}
    for u in utterances:
        renderings.setdefault((u.text, u.voice, u.pitch, u.channel), []).append(u)
    counts: Counter = Counter()
    for group in renderings.values():
        group.sort(key=lambda u: u.speed)
        for i, u in enumerate(group):
            order = group[i:] + group[:i]
            outcome, spoken = call_outcome(u.level, [result_of(v) for v in order])
            counts[outcome] += 1
            counts[f"spoke_{spoken}"] += 1
    return counts
