"""The service's vocabulary, defined once: levels, categories, sources, dispositions, kinds,
recording purposes, statuses and outcomes, callback states and their transitions.

Engine, storage, workers, console and API import these names; `tests/test_vocabulary.py`
fails if a second definition of any of them appears. Standard library only. The list
of languages is the language packs' (`prompts.available_languages()`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Rating levels in keypad order (domain.md rule 1), each with its category.
LEVEL_CATEGORY = {
    "very_satisfied": "good",
    "satisfied": "good",
    "basically_satisfied": "neutral",
    "dissatisfied": "bad",
    "very_dissatisfied": "bad",
}
LEVELS = tuple(LEVEL_CATEGORY)
CATEGORY_GOOD, CATEGORY_NEUTRAL, CATEGORY_BAD = "good", "neutral", "bad"
CATEGORIES = (CATEGORY_GOOD, CATEGORY_NEUTRAL, CATEGORY_BAD)

# How a rating was given (contract: `source`).
SOURCE_DTMF = "dtmf"  # a key
SOURCE_SPEECH = "speech"  # a spoken answer, recognised (and maybe read back)
SOURCE_DEFAULT = "default"  # no answer in 7 days: 基本满意 by rule
SOURCES = (SOURCE_DTMF, SOURCE_SPEECH, SOURCE_DEFAULT)

# How a call's survey ended (contract: `disposition`).
DISPOSITION_RATED = "rated"  # the caller gave a rating
DISPOSITION_NO_INPUT = "no_input"  # re-asks used up without a valid key
DISPOSITION_HUNG_UP = "hung_up"  # the caller left before rating
DISPOSITION_NOT_SERVED = "not_served"  # no agent was reached: nothing to rate
DISPOSITION_IN_PROGRESS = "in_progress"  # the survey is still running
DISPOSITION_RATED_BY_LINK = "rated_by_link"  # the linked party (proxy/applicant) rated
DISPOSITIONS = (
    DISPOSITION_RATED,
    DISPOSITION_NO_INPUT,
    DISPOSITION_HUNG_UP,
    DISPOSITION_NOT_SERVED,
    DISPOSITION_IN_PROGRESS,
    DISPOSITION_RATED_BY_LINK,
)

# What a call's survey is about (`Call.kind`).
KIND_HOTLINE = "hotline"  # the hotline call itself (the agent's service)
KIND_CLOSURE = "closure"  # an outbound call at ticket closure: the department's handling
KIND_LATER = "later"  # a call to the survey line rating an earlier call (补充评价)
KIND_SURVEY_LINE = "survey_line"  # a call to the survey line that found nothing to rate
KINDS = (KIND_HOTLINE, KIND_CLOSURE, KIND_LATER, KIND_SURVEY_LINE)
# Calls that are a service contact (counted in the figures); the others rate nothing themselves.
SERVICE_KINDS = (KIND_HOTLINE, KIND_CLOSURE)
# The flow each kind of survey runs (`callflows/<name>.toml`); others run "rating".
FLOW_BY_KIND = {KIND_CLOSURE: "closure", KIND_LATER: "later"}

# What a recording is for (`Recording.purpose`; also what a step listens for).
RECORDING_RATING = "rating"  # the spoken answer to the rating question
RECORDING_REASON = "reason"  # the caller's reason for a bad rating
RECORDING_CALL = "call"  # the whole hotline call, recorded by the hotline: kept, not recognised

# Where a recording is (`Recording.status`).
RECORDING_PENDING = "pending"  # known, waiting for the worker
RECORDING_DONE = "done"  # fetched and recognised (the outcome says what was heard)
RECORDING_FAILED = "failed"  # could not be fetched or decoded (the outcome says why)
RECORDING_PURGING = "purging"  # local copy deleted; the provider's copy still to delete
RECORDING_PURGED = "purged"  # deleted here and at the provider

# What became of a recording (`Recording.outcome`).
OUTCOME_OK = "ok"  # recognised with certainty (a rating) or transcribed (a reason)
OUTCOME_KEPT = "kept"  # a whole-call recording: kept, not recognised
OUTCOME_NO_SPEECH = "no_speech"  # audio, but no words in it
OUTCOME_UNRECOGNISED = "unrecognised"  # words, but no phrase of the pack
OUTCOME_ABSENT = "absent"  # the provider recorded nothing (the caller said nothing)
OUTCOME_PROVIDER_FAILED = "twilio_failed"  # the provider failed to record
OUTCOME_KEY_PRESSED = "key_pressed"  # a key ended the recording: the key is the answer
OUTCOME_EMPTY = "empty"  # a recording of no length
OUTCOME_SILENT = "silent"  # only silence
OUTCOME_TOO_SHORT = "too_short"  # too short to hold a word
OUTCOME_TOO_LONG = "too_long"
OUTCOME_TRUNCATED = "truncated"  # the file ends before its header says
OUTCOME_NOT_AUDIO = "not_audio"  # not decodable as audio
OUTCOME_FOREIGN_HOST = "foreign_host"  # the URL is outside RECORDING_HOSTS: never fetched
OUTCOME_UNAVAILABLE = "unavailable"  # the host did not deliver it
# Outcomes meaning the caller said nothing at all (rather than something unclear).
SILENT_OUTCOMES = frozenset(
    {OUTCOME_ABSENT, OUTCOME_NO_SPEECH, OUTCOME_SILENT, OUTCOME_EMPTY, OUTCOME_TOO_SHORT}
)

# Callback states (contract).
CALLBACK_OPEN = "open"  # waiting for the callback (due 48 h after the rating)
CALLBACK_CALLED_BACK = "called_back"  # caller reached; verdict and rectification under way
CALLBACK_CLOSED = "closed"  # resolved and fed back to the caller
CALLBACK_NOT_ADOPTED = "not_adopted"  # mistaken or malicious, approved by a supervisor
CALLBACK_UNREACHABLE = "unreachable"  # not reached after attempts spread over days
CALLBACK_ANONYMOUS = "anonymous"  # no caller number: nobody to call back, counted apart
CALLBACK_STATES = (
    CALLBACK_OPEN,
    CALLBACK_CALLED_BACK,
    CALLBACK_CLOSED,
    CALLBACK_NOT_ADOPTED,
    CALLBACK_UNREACHABLE,
    CALLBACK_ANONYMOUS,
)


@dataclass(frozen=True)
class Transition:
    """One legal move: `trigger` takes a callback from `source` to `dest`."""

    trigger: str
    source: str
    dest: str
    when: str = ""


# Every legal move of a callback; the workflow's guards ask `may()` and `change()` checks
# the move against this table.
TRANSITIONS = (
    Transition("attempt", CALLBACK_OPEN, CALLBACK_CALLED_BACK, "the caller is reached"),
    Transition(
        "attempt",
        CALLBACK_OPEN,
        CALLBACK_OPEN,
        "failed, not yet 3 attempts over 2 days, 2 h apart",
    ),
    Transition(
        "attempt",
        CALLBACK_OPEN,
        CALLBACK_UNREACHABLE,
        "failed attempts spread as storage/attempt_rules",
    ),
    Transition(
        "verdict",
        CALLBACK_CALLED_BACK,
        CALLBACK_CALLED_BACK,
        "rectify, or mistaken/malicious to approve",
    ),
    Transition(
        "verdict", CALLBACK_CALLED_BACK, CALLBACK_CLOSED, "on the spot or explained, with feedback"
    ),
    Transition(
        "approve", CALLBACK_CALLED_BACK, CALLBACK_NOT_ADOPTED, "a supervisor other than the author"
    ),
    Transition("reject", CALLBACK_CALLED_BACK, CALLBACK_CALLED_BACK, "the verdict is withdrawn"),
    Transition(
        "close", CALLBACK_CALLED_BACK, CALLBACK_CLOSED, "rectified, with evidence and feedback"
    ),
    # storage/workflow/callback_people.py: reopening by a supervisor, with a fresh clock.
    Transition("reopen", CALLBACK_UNREACHABLE, CALLBACK_OPEN, "a supervisor, with a reason"),
    Transition("reopen", CALLBACK_CLOSED, CALLBACK_OPEN, "a supervisor, with a reason"),
    # A 差评 without a caller number opens as `anonymous` (storage/records/calls.py): no moves.
)
TRIGGERS = frozenset(t.trigger for t in TRANSITIONS)  # others (assign, take) keep the state


def may(trigger: str, state: str) -> bool:
    """Does the table allow `trigger` from `state`?"""
    return any(t.trigger == trigger and t.source == state for t in TRANSITIONS)


def is_legal(trigger: str, source: str, dest: str) -> bool:
    """Is this exact move in the table?"""
    return Transition(trigger, source, dest) in {
        Transition(t.trigger, t.source, t.dest) for t in TRANSITIONS
    }
