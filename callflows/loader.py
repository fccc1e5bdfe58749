"""Reading flows from TOML files in this folder, checking every reference they make."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from callflows.engine import HEARD, Flow, FlowError, KeyRoute, Node
from callflows.vocabulary import DISPOSITIONS, FLOW_BY_KIND, LEVEL_CATEGORY

FLOWS_DIR = Path(__file__).parent
KINDS = ("ask", "record", "end")


def flow_for_kind(kind: str | None) -> Flow:
    """The flow a survey of this kind runs (the rating flow by default)."""
    return load_flow(FLOW_BY_KIND.get(kind or "", "rating"))


@cache
def load_flow(name: str) -> Flow:
    """Load and validate `callflows/<name>.toml`."""
    if not name.isidentifier():
        raise FlowError(f"bad flow name {name!r}")
    return parse_flow(_read(name))


def _read(name: str, seen: tuple[str, ...] = ()) -> dict:
    """The flow's TOML; with `extends = "base"`, the base's data with this file's on top.

    Top-level keys replace the base's; a node named in both takes the base's settings
    with this file's replacing them key by key, so a variant restates only what differs.
    """
    if not name.isidentifier() or name in seen:
        raise FlowError(f"bad or circular flow name {name!r}")
    with (FLOWS_DIR / f"{name}.toml").open("rb") as f:
        data = tomllib.load(f)
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    base = _read(base_name, (*seen, name))
    nodes = {key: dict(spec) for key, spec in base.get("nodes", {}).items()}
    for key, spec in data.get("nodes", {}).items():
        nodes[key] = nodes.get(key, {}) | spec
    return base | data | {"nodes": nodes}


def parse_flow(data: dict) -> Flow:
    """Build a `Flow` from parsed TOML and validate it."""
    nodes = {name: _parse_node(name, spec) for name, spec in data.get("nodes", {}).items()}
    flow = Flow(
        name=data.get("name", "flow"),
        start=data.get("start", ""),
        nodes=nodes,
        after_rating=dict(data.get("after_rating", {})),
    )
    _validate(flow)
    return flow


def _prompts(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _parse_node(name: str, spec: dict) -> Node:
    if "prompt" not in spec:
        raise FlowError(f"node {name!r} has no prompt")
    keys = {
        str(key): KeyRoute(
            next=route.get("next"), rate=route.get("rate"), reask=route.get("reask", False)
        )
        for key, route in spec.get("keys", {}).items()
    }
    return Node(
        name=name,
        prompts=_prompts(spec["prompt"]),
        kind=spec.get("kind", "end" if "end" in spec else "ask"),
        end=spec.get("end"),
        timeout_seconds=int(spec.get("timeout_seconds", 5)),
        max_reasks=int(spec.get("max_reasks", 0)),
        repeat_key=spec.get("repeat_key"),
        on_exhausted=spec.get("on_exhausted"),
        invalid_prompt=spec.get("on_invalid", {}).get("prompt"),
        no_input_prompt=spec.get("on_no_input", {}).get("prompt"),
        not_understood_prompt=spec.get("on_not_understood", {}).get("prompt"),
        speech_late_prompt=spec.get("on_speech_late", {}).get("prompt"),
        listen_prompts=_prompts(spec.get("listen_prompt")),
        listen_seconds=int(spec.get("listen_seconds", 0)),
        on_uncertain=spec.get("on_uncertain"),
        next=spec.get("next"),
        keys=keys,
    )


def _validate(flow: Flow) -> None:
    if flow.start not in flow.nodes:
        raise FlowError(f"start node {flow.start!r} is not defined")
    for category in sorted(set(LEVEL_CATEGORY.values())):
        if flow.after_rating.get(category) not in flow.nodes:
            raise FlowError(f"after_rating.{category} must name a node")
    for node in flow.nodes.values():
        _validate_node(flow, node)


def _validate_node(flow: Flow, node: Node) -> None:
    def check_target(target: str | None, what: str) -> None:
        if target not in flow.nodes:
            raise FlowError(f"node {node.name!r}: {what} leads to undefined {target!r}")

    if node.kind not in KINDS:
        raise FlowError(f"node {node.name!r}: unknown kind {node.kind!r}")
    if node.kind == "end":
        if node.end not in DISPOSITIONS:
            raise FlowError(f"node {node.name!r}: unknown disposition {node.end!r}")
        return
    if node.kind == "record":
        check_target(node.next, "next")
        if node.listen_seconds <= 0:
            raise FlowError(f"node {node.name!r}: a record node needs listen_seconds")
        return
    if node.on_exhausted is None:
        raise FlowError(f"node {node.name!r} waits for input but has no on_exhausted")
    check_target(node.on_exhausted, "on_exhausted")
    if node.listen_seconds:
        check_target(node.on_uncertain, "on_uncertain")
    for key, route in node.keys.items():
        if len(key) != 1 or key not in "0123456789*#":
            raise FlowError(f"node {node.name!r}: {key!r} is not a phone key")
        if route.rate is None:
            check_target(route.next, f"key {key}")
        elif route.rate != HEARD and route.rate not in LEVEL_CATEGORY:
            raise FlowError(f"node {node.name!r}: unknown level {route.rate!r}")
