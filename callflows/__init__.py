"""Call flows as data, and the pure engine that runs them.

Nothing here imports Flask or twilio: a flow can be tested as a table, drawn as a
diagram, and rendered by any telephony adapter.
"""

from callflows.engine import (
    Flow,
    FlowError,
    KeyPressed,
    NoInput,
    Position,
    Start,
    Step,
    load_flow,
    step,
)

__all__ = [
    "Flow",
    "FlowError",
    "KeyPressed",
    "NoInput",
    "Position",
    "Start",
    "Step",
    "load_flow",
    "step",
]
