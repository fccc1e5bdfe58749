"""Call flows as data, and the pure engine that runs them.

Nothing here imports Flask or twilio: a flow can be tested as a table, drawn as a
diagram, and rendered by any telephony adapter.
"""

from callflows.engine import (
    CATEGORY,
    LEVELS,
    LISTEN_RATING,
    LISTEN_REASON,
    Flow,
    FlowError,
    Heard,
    KeyPressed,
    NoInput,
    NotUnderstood,
    Position,
    Recorded,
    SpeechLate,
    Start,
    Step,
    again,
    step,
)
from callflows.loader import load_flow, parse_flow

__all__ = [
    "CATEGORY",
    "LEVELS",
    "LISTEN_RATING",
    "LISTEN_REASON",
    "Flow",
    "FlowError",
    "Heard",
    "KeyPressed",
    "NoInput",
    "NotUnderstood",
    "Position",
    "Recorded",
    "SpeechLate",
    "Start",
    "Step",
    "again",
    "load_flow",
    "parse_flow",
    "step",
]
