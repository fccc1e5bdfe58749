"""A pure engine for call flows: `step(flow, position, event, speech=...) -> Step`.

The engine keeps no state of its own: the caller's position comes in with each
event and goes out in the returned `Step`, so that it can travel in the URLs a
telephony adapter writes. Speech is recognised elsewhere; the engine only sees its
outcome (`Heard`, `NotUnderstood`, `SpeechLate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from callflows.vocabulary import (
    LEVEL_CATEGORY,
    RECORDING_RATING,
    RECORDING_REASON,
    SOURCE_DTMF,
    SOURCE_SPEECH,
)

HEARD = "heard"  # a key route that rates with the level heard in speech (read-back)


class FlowError(ValueError):
    """A flow file that does not describe a valid flow."""


@dataclass(frozen=True)
class KeyRoute:
    """What a key does: rate (a level, or the level heard), or go to another node."""

    next: str | None = None
    rate: str | None = None
    reask: bool = False  # going there counts as asking again


@dataclass(frozen=True)
class Node:
    """One state of a flow: asks for a key (maybe speech), records a reason, or ends."""

    name: str
    prompts: tuple[str, ...]
    kind: str  # "ask", "record" or "end"
    end: str | None = None
    timeout_seconds: int = 5
    max_reasks: int = 0
    repeat_key: str | None = None
    on_exhausted: str | None = None
    invalid_prompt: str | None = None
    no_input_prompt: str | None = None
    not_understood_prompt: str | None = None
    speech_late_prompt: str | None = None
    listen_prompts: tuple[str, ...] = ()
    listen_seconds: int = 0
    on_uncertain: str | None = None
    next: str | None = None
    keys: dict[str, KeyRoute] = field(default_factory=dict)


@dataclass(frozen=True)
class Flow:
    """A named set of nodes, a start node, and where a rating leads by its category."""

    name: str
    start: str
    nodes: dict[str, Node]
    after_rating: dict[str, str]


@dataclass(frozen=True)
class Position:
    """Where a caller is: the node, re-asks used so far, the level heard, keys only.

    `ago` is how many days ago the call being rated took place, for prompts that say
    which call is meant (`days_ago_{ago}` in a later rating's offer).
    """

    node: str
    reasks: int = 0
    heard: str | None = None
    keys_only: bool = False
    ago: int | None = None


@dataclass(frozen=True)
class Start:
    """The caller enters the flow."""


@dataclass(frozen=True)
class KeyPressed:
    """The caller pressed keys (raw, unvalidated: may be anything Twilio sent)."""

    digits: str


@dataclass(frozen=True)
class NoInput:
    """The caller stayed silent until the timeout."""


@dataclass(frozen=True)
class Heard:
    """Speech recognised as `level`; `certain` False means it must be read back."""

    level: str
    certain: bool


@dataclass(frozen=True)
class NotUnderstood:
    """The caller spoke, but nothing usable was recognised."""


@dataclass(frozen=True)
class SpeechLate:
    """The recognition did not come back in time."""


@dataclass(frozen=True)
class Recorded:
    """A recording step (e.g. the reason for a bad rating) is over."""


Event = Start | KeyPressed | NoInput | Heard | NotUnderstood | SpeechLate | Recorded


@dataclass(frozen=True)
class Step:
    """What the adapter must do next.

    `prompts` are played in order. If `wait_for_key`, they can be interrupted by a
    key and the next event is expected at `position`; if `listen` is also set, the
    caller's speech is then recorded (for up to `listen_seconds`) for that purpose.
    A `listen` step without `wait_for_key` records after the prompts (a reason).
    Otherwise the call hangs up with `disposition`. `rate` is a rating to store,
    given by `rate_source` ("dtmf" or "speech").
    """

    position: Position
    prompts: tuple[str, ...]
    wait_for_key: bool = False
    timeout_seconds: int = 0
    listen: str | None = None
    listen_seconds: int = 0
    rate: str | None = None
    rate_source: str | None = None
    disposition: str | None = None


def step(flow: Flow, position: Position, event: Event, *, speech: bool = False) -> Step:
    """Advance `flow` from `position` on `event`; `speech` says if the call can speak."""
    node = flow.nodes.get(position.node)
    if isinstance(event, Start) or node is None or node.kind == "end":
        return _enter(flow, flow.start, Position(flow.start, ago=position.ago), speech)
    if node.kind == "record":
        return _enter(flow, node.next, replace(position, node=node.next), speech)
    if isinstance(event, KeyPressed) and event.digits in node.keys:
        return _follow_key(flow, node, node.keys[event.digits], position, speech)
    if isinstance(event, KeyPressed) and event.digits == node.repeat_key:
        return _enter(flow, node.name, position, speech)
    if isinstance(event, Heard) and event.level in LEVEL_CATEGORY:
        if event.certain:
            return _rated(flow, position, event.level, SOURCE_SPEECH, speech)
        target = Position(node.on_uncertain, position.reasks, heard=event.level)
        return _enter(flow, node.on_uncertain, target, speech)
    if isinstance(event, SpeechLate):
        later = replace(position, keys_only=True)
        return _enter(flow, node.name, later, speech, preface=node.speech_late_prompt)
    return _reask(flow, node, position, event, speech)


def again(flow: Flow, position: Position, *, speech: bool = False) -> Step:
    """The caller's current question asked again as it was (a transport that failed)."""
    node = flow.nodes.get(position.node)
    if node is None or node.kind != "ask":
        return step(flow, position, Start(), speech=speech)
    return _enter(flow, node.name, position, speech)


def _follow_key(flow: Flow, node: Node, route: KeyRoute, position: Position, speech: bool) -> Step:
    if route.rate == HEARD:
        if position.heard is None:  # nothing was heard: a read-back cannot confirm
            return _enter(flow, flow.start, Position(flow.start), speech)
        return _rated(flow, position, position.heard, SOURCE_SPEECH, speech)
    if route.rate is not None:
        return _rated(flow, position, route.rate, SOURCE_DTMF, speech)
    target = flow.nodes[route.next]
    if route.reask:
        if position.reasks >= target.max_reasks:
            return _enter(flow, target.on_exhausted, Position(target.on_exhausted), speech)
        return _enter(flow, target.name, Position(target.name, position.reasks + 1), speech)
    return _enter(flow, target.name, Position(target.name, position.reasks), speech)


def _reask(flow: Flow, node: Node, position: Position, event: Event, speech: bool) -> Step:
    """An invalid key, silence or unusable speech: ask again, or give up."""
    if position.reasks >= node.max_reasks:
        return _enter(flow, node.on_exhausted, Position(node.on_exhausted), speech)
    if isinstance(event, NoInput):
        preface = node.no_input_prompt
    elif isinstance(event, NotUnderstood):
        preface = node.not_understood_prompt
    else:
        preface = node.invalid_prompt
    # Speech not understood twice: from now on, keys only.
    keys_only = position.keys_only or (isinstance(event, NotUnderstood) and position.reasks >= 1)
    again = replace(position, reasks=position.reasks + 1, keys_only=keys_only)
    return _enter(flow, node.name, again, speech, preface=preface)


def _rated(flow: Flow, position: Position, level: str, source: str, speech: bool) -> Step:
    after = flow.after_rating[LEVEL_CATEGORY[level]]
    result = _enter(flow, after, Position(after, position.reasks), speech)
    return replace(result, rate=level, rate_source=source)


def _enter(
    flow: Flow, name: str, position: Position, speech: bool, preface: str | None = None
) -> Step:
    node = flow.nodes[name]
    prompts = ((preface,) if preface else ()) + tuple(
        prompt.format(heard=position.heard, ago=position.ago) for prompt in node.prompts
    )
    if node.kind == "end":
        return Step(Position(name), prompts, disposition=node.end)
    if node.kind == "record":
        if not speech:  # nothing to record with: skip the step
            return _enter(flow, node.next, replace(position, node=node.next), speech, preface)
        return Step(position, prompts, listen=RECORDING_REASON, listen_seconds=node.listen_seconds)
    listening = speech and node.listen_seconds > 0 and not position.keys_only
    if listening:
        prompts += node.listen_prompts
    return Step(
        position,
        prompts,
        wait_for_key=True,
        timeout_seconds=node.timeout_seconds,
        listen=RECORDING_RATING if listening else None,
        listen_seconds=node.listen_seconds if listening else 0,
    )
