"""Call flows as data, and the pure engine that runs them.

The service's vocabulary (levels, dispositions, callback states …) is
`callflows.vocabulary`. Nothing here imports Flask or twilio: a flow can be tested as
a table, drawn as a diagram, and rendered by any telephony adapter.
"""

from callflows.engine import (
    Event,
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
from callflows.loader import flow_for_kind, load_flow, parse_flow
from callflows.vocabulary import LEVEL_CATEGORY, LEVELS, RECORDING_RATING, RECORDING_REASON

__all__ = [
    "LEVELS",
    "LEVEL_CATEGORY",
    "RECORDING_RATING",
    "RECORDING_REASON",
    "Event",
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
    "flow_for_kind",
    "load_flow",
    "parse_flow",
    "step",
]
