"""Render a flow as a Mermaid state diagram, for supervisors who review it."""

from __future__ import annotations

from callflows.engine import Flow


def to_mermaid(flow: Flow) -> str:
    """Return a Mermaid `stateDiagram-v2` of every transition in `flow`."""
    lines = ["stateDiagram-v2", f"    [*] --> {flow.start}"]
    for node in flow.nodes.values():
        lines.append(f"    {node.name}: {node.name} (plays {node.prompt})")
        for key, route in node.keys.items():
            label = f"key {key}" + (f" / rate {route.rate}" if route.rate else "")
            lines.append(f"    {node.name} --> {route.next}: {label}")
        if node.repeat_key:
            lines.append(f"    {node.name} --> {node.name}: key {node.repeat_key} / repeat")
        if node.input:
            lines.append(
                f"    {node.name} --> {node.name}: invalid key or no input"
                f" / re-ask (at most {node.max_reasks})"
            )
            lines.append(f"    {node.name} --> {node.on_exhausted}: re-asks used up")
        if node.end:
            lines.append(f"    {node.name} --> [*]: hang up / {node.end}")
    return "\n".join(lines) + "\n"
