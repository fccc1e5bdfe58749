"""Render a flow as a Mermaid state diagram, for supervisors who review it."""

from __future__ import annotations

from callflows.engine import HEARD, Flow, Node
from callflows.vocabulary import LEVEL_CATEGORY


def to_mermaid(flow: Flow) -> str:
    """Return a Mermaid `stateDiagram-v2` of every transition in `flow`."""
    lines = ["stateDiagram-v2", f"    [*] --> {flow.start}"]
    for category in sorted(set(LEVEL_CATEGORY.values())):
        lines.append(f"    rated_{category}: a {category} rating is stored")
        lines.append(f"    rated_{category} --> {flow.after_rating[category]}")
        for spoken in ("rated_by_speech", "rated_by_readback"):
            lines.append(f"    {spoken} --> rated_{category}: level heard is {category}")
    for node in flow.nodes.values():
        plays = " + ".join(node.prompts).replace("{heard}", "HEARD").replace("{ago}", "N")
        lines.append(f"    {node.name}: {node.name} (plays {plays})")
        lines.extend(f"    {node.name} --> {target}: {label}" for target, label in _edges(node))
    return "\n".join(lines) + "\n"


def _edges(node: Node) -> list[tuple[str, str]]:
    if node.kind == "end":
        return [("[*]", f"hang up / {node.end}")]
    if node.kind == "record":
        return [(node.next, f"records up to {node.listen_seconds} s (with speech only)")]
    edges = []
    for key, route in node.keys.items():
        if route.rate == HEARD:
            edges.append(("rated_by_readback", f"key {key} / confirm the level heard"))
        elif route.rate:
            edges.append((f"rated_{LEVEL_CATEGORY[route.rate]}", f"key {key} / rate {route.rate}"))
        else:
            edges.append((route.next, f"key {key}" + (" / re-ask" if route.reask else "")))
    if node.repeat_key:
        edges.append((node.name, f"key {node.repeat_key} / repeat"))
    if node.listen_seconds:
        edges.append(("rated_by_speech", "speech, certain / rate the level heard"))
        edges.append((node.on_uncertain, "speech, uncertain / read back"))
    edges.append(
        (
            node.name,
            f"invalid key, silence or speech not understood / re-ask (at most {node.max_reasks})",
        )
    )
    edges.append((node.on_exhausted, "re-asks used up"))
    return edges
