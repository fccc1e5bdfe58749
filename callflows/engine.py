"""A pure engine for call flows: `step(flow, position, event) -> Step`.

A flow is a set of nodes loaded from a TOML file in this folder. The engine keeps
no state of its own: the caller's position (node and re-asks used) comes in with
each event and goes out in the returned `Step`, so that it can travel in the URLs a
telephony adapter writes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

FLOWS_DIR = Path(__file__).parent

LEVELS = (
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
)
DISPOSITIONS = ("rated", "no_input", "hung_up", "not_served", "in_progress")


class FlowError(ValueError):
    """A flow file that does not describe a valid flow."""


@dataclass(frozen=True)
class KeyRoute:
    """Where a key leads, and the rating it gives (if any)."""

    next: str
    rate: str | None = None


@dataclass(frozen=True)
class Node:
    """One state of a flow: either waits for a key, or ends the call."""

    name: str
    prompt: str
    input: str | None = None
    end: str | None = None
    timeout_seconds: int = 5
    max_reasks: int = 0
    repeat_key: str | None = None
    on_exhausted: str | None = None
    invalid_prompt: str | None = None
    no_input_prompt: str | None = None
    keys: dict[str, KeyRoute] = field(default_factory=dict)


@dataclass(frozen=True)
class Flow:
    """A named set of nodes with a start node."""

    name: str
    start: str
    nodes: dict[str, Node]


@dataclass(frozen=True)
class Position:
    """Where a caller is in a flow: the node, and how many re-asks were used there."""

    node: str
    reasks: int = 0


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


Event = Start | KeyPressed | NoInput


@dataclass(frozen=True)
class Step:
    """What the adapter must do next.

    `prompts` are played in order; if `wait_for_key` the last of them can be
    interrupted by a key and the engine expects the next event at `position`.
    Otherwise the call hangs up with `disposition`.
    """

    position: Position
    prompts: tuple[str, ...]
    wait_for_key: bool
    timeout_seconds: int = 0
    rate: str | None = None
    disposition: str | None = None


def step(flow: Flow, position: Position, event: Event) -> Step:
    """Advance `flow` from `position` on `event`. Pure: same inputs, same `Step`."""
    node = flow.nodes.get(position.node)
    if isinstance(event, Start) or node is None or node.input is None:
        return _enter(flow, flow.start)
    if isinstance(event, KeyPressed) and event.digits in node.keys:
        route = node.keys[event.digits]
        return _enter(flow, route.next, rate=route.rate)
    if isinstance(event, KeyPressed) and node.repeat_key and event.digits == node.repeat_key:
        return _enter(flow, node.name, reasks=position.reasks)
    if position.reasks >= node.max_reasks:
        if node.on_exhausted is None:
            raise FlowError(f"node {node.name!r} has no on_exhausted")
        return _enter(flow, node.on_exhausted)
    preface = node.no_input_prompt if isinstance(event, NoInput) else node.invalid_prompt
    return _enter(flow, node.name, reasks=position.reasks + 1, preface=preface)


def _enter(
    flow: Flow,
    name: str,
    *,
    reasks: int = 0,
    rate: str | None = None,
    preface: str | None = None,
) -> Step:
    node = flow.nodes[name]
    prompts = ((preface,) if preface else ()) + (node.prompt,)
    if node.end is not None:
        return Step(Position(name), prompts, False, rate=rate, disposition=node.end)
    return Step(Position(name, reasks), prompts, True, node.timeout_seconds, rate=rate)


@lru_cache
def load_flow(name: str) -> Flow:
    """Load and validate `callflows/<name>.toml`."""
    if not name.isidentifier():
        raise FlowError(f"bad flow name {name!r}")
    path = FLOWS_DIR / f"{name}.toml"
    with path.open("rb") as f:
        data = tomllib.load(f)
    return parse_flow(data)


def parse_flow(data: dict) -> Flow:
    """Build a `Flow` from parsed TOML, checking every reference it makes."""
    nodes = {name: _parse_node(name, spec) for name, spec in data.get("nodes", {}).items()}
    flow = Flow(name=data.get("name", "flow"), start=data.get("start", ""), nodes=nodes)
    _validate(flow)
    return flow


def _parse_node(name: str, spec: dict) -> Node:
    keys = {
        str(key): KeyRoute(next=route["next"], rate=route.get("rate"))
        for key, route in spec.get("keys", {}).items()
    }
    return Node(
        name=name,
        prompt=spec["prompt"],
        input=spec.get("input"),
        end=spec.get("end"),
        timeout_seconds=int(spec.get("timeout_seconds", 5)),
        max_reasks=int(spec.get("max_reasks", 0)),
        repeat_key=spec.get("repeat_key"),
        on_exhausted=spec.get("on_exhausted"),
        invalid_prompt=spec.get("on_invalid", {}).get("prompt"),
        no_input_prompt=spec.get("on_no_input", {}).get("prompt"),
        keys=keys,
    )


def _validate(flow: Flow) -> None:
    if flow.start not in flow.nodes:
        raise FlowError(f"start node {flow.start!r} is not defined")
    for node in flow.nodes.values():
        if (node.input is None) == (node.end is None):
            raise FlowError(f"node {node.name!r} needs exactly one of input / end")
        if node.input not in (None, "keys"):
            raise FlowError(f"node {node.name!r}: unknown input {node.input!r}")
        if node.end is not None and node.end not in DISPOSITIONS:
            raise FlowError(f"node {node.name!r}: unknown disposition {node.end!r}")
        targets = [route.next for route in node.keys.values()]
        if node.on_exhausted:
            targets.append(node.on_exhausted)
        for target in targets:
            if target not in flow.nodes:
                raise FlowError(f"node {node.name!r} leads to undefined {target!r}")
        for key, route in node.keys.items():
            if len(key) != 1 or key not in "0123456789*#":
                raise FlowError(f"node {node.name!r}: {key!r} is not a phone key")
            if route.rate is not None and route.rate not in LEVELS:
                raise FlowError(f"node {node.name!r}: unknown level {route.rate!r}")
        if node.input and node.on_exhausted is None:
            raise FlowError(f"node {node.name!r} waits for input but has no on_exhausted")
