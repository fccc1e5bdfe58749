"""What every survey webhook shares: the caller's position in the flow (carried in the
signed URLs we write), and turning a `Step` into stored effects and the provider's answer."""

from __future__ import annotations

import logging
from functools import cache
from urllib.parse import urlencode

from flask import Response, request
from sqlalchemy.orm import Session

import prompts
from callflows import LEVELS, Position, Step, flow_for_kind
from ivr.extensions import settings
from ivr.telephony import StepUrls
from ivr.telephony.web import provider, respond
from storage.models import (
    DISPOSITION_RATED_BY_LINK,
    KIND_SURVEY_LINE,
    Call,
)
from storage.records.calls import end_survey, log_event, record_rating
from storage.records.later import MAX_AGO, rated_by_default, rated_call, replace_default_rating
from storage.records.recordings import find_recording
from storage.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_LANG = "zh-CN"
MAX_FIELD = 64
MAX_URL = 2000


def flow(call: Call | None = None):
    """The flow of the call's kind of survey (the rating flow by default)."""
    return flow_for_kind(call.kind if call is not None else None)


@cache
def _languages() -> frozenset[str]:
    return frozenset(prompts.available_languages())


def survey_lang() -> str:
    """The call's language pack: the requested one if it exists, else the default."""
    raw = request.args.get("lang")
    if raw in _languages():
        return raw
    if raw:
        log.warning("unknown lang %r: using %s", raw[:MAX_FIELD], DEFAULT_LANG)
    return DEFAULT_LANG


def can_speak(lang: str) -> bool:
    """Does the language have a speech model here? Without one, the survey is keys only."""
    try:
        from prompts.speech import speech_available  # the pack, not Vosk

        return speech_available(lang)
    except Exception:  # a broken pack must not break the call: keys still work
        log.exception("speech pack for %s unusable: keys only", lang)
        return False


def field(name: str, limit: int = MAX_FIELD) -> str | None:
    """A value of our own URL's query, trimmed and cut to `limit`; None when empty."""
    value = (request.args.get(name) or "").strip()
    return value[:limit] or None


def position() -> Position:
    """The caller's place in the flow, from the query string of our own action URL."""
    reasks = request.args.get("reasks", "0")
    heard = request.args.get("heard")
    ago = request.args.get("ago", "")
    return Position(
        node=request.args.get("node", "")[:MAX_FIELD],
        reasks=int(reasks) if reasks.isdigit() and len(reasks) < 3 else 0,
        heard=heard if heard in LEVELS else None,
        keys_only=request.args.get("ko") == "1",
        ago=min(int(ago), MAX_AGO) if ago.isdigit() and len(ago) < 3 else None,
    )


def url_for_step(path: str, lang: str, where: Position, **extra: str | int | None) -> str:
    """An absolute URL of ours that carries the caller's position."""
    query = {"lang": lang, "node": where.node, "reasks": where.reasks}
    if where.heard:
        query["heard"] = where.heard
    if where.keys_only:
        query["ko"] = 1
    if where.ago is not None:
        query["ago"] = where.ago
    query |= {key: value for key, value in extra.items() if value is not None}
    return f"{settings().public_base_url}/voice/survey/{path}?{urlencode(query)}"


def answer(
    lang: str, result: Step, recording_sid: str | None = None, *, live: bool = True
) -> Response:
    """TwiML for `result`, with action URLs that bring the caller back here.

    A question that listens goes over a media stream when one can take it (`live`)."""
    if live:
        from ivr.voice.streamed import stream_reply

        streamed = stream_reply(result, lang)
        if streamed is not None:
            return respond(streamed)
    where = result.position
    base = settings().public_base_url
    urls = StepUrls(
        key=url_for_step("input", lang, where, rec=recording_sid),
        recorded=url_for_step("recorded" if result.wait_for_key else "reason", lang, where),
        nothing_recorded=url_for_step("silence" if result.wait_for_key else "reason", lang, where),
        recording_status=f"{base}/voice/survey/recording-status?"
        + urlencode({"lang": lang, "purpose": result.listen or ""}),
    )
    return respond(provider().render(result, base, lang, urls))


def goodbye(lang: str, *names: str) -> Response:
    """Play the prompts, then hang up."""
    return respond(provider().play_and_hang_up(settings().public_base_url, lang, *names))


def apply_step(
    session: Session, call: Call, result: Step, lang: str, recording_sid: str | None = None
) -> Response:
    """Store what the step decided and answer; a rated call is never asked again.

    A `later` call's rating is stored on the earlier call it rates.
    """
    if call.kind == KIND_SURVEY_LINE:  # nothing to rate: a stale or replayed URL stores nothing
        log_event(session, call, "nothing_to_rate", "input ignored")
        return goodbye(lang, "nothing_to_rate")
    rated = rated_call(session, call)
    replaceable = rated is not call and rated_by_default(rated)
    if rated.disposition == DISPOSITION_RATED_BY_LINK and (result.rate or result.wait_for_key):
        log_event(session, call, "already_rated", "closed by the linked call's rating")
        return goodbye(lang, "already_rated")
    if result.rate is not None:
        recording = find_recording(session, recording_sid) if recording_sid else None
        if recording is not None and recording.call_id != call.id:
            recording = None
        spoken_id = recording.id if recording and result.rate_source == "speech" else None
        rating = record_rating(
            session,
            rated,
            result.rate,
            result.rate_source or "dtmf",
            recording_id=spoken_id,
        )
        if rating is None and replaceable:  # the caller's own rating replaces the default
            rating = replace_default_rating(
                session,
                rated,
                result.rate,
                result.rate_source or "dtmf",
                utcnow(),
                recording_id=spoken_id,
            )
        if rating is None and rated.disposition == DISPOSITION_RATED_BY_LINK:
            log_event(session, call, "already_rated", "closed by the linked call's rating")
            return goodbye(lang, "already_rated")
        if rating is None and rated.rating is not None and rated.rating.level != result.rate:
            log.info("call %s already rated %s: answer ignored", rated.call_sid, rated.rating.level)
            log_event(session, call, "already_rated", f"ignored {result.rate}")
            return goodbye(lang, "already_rated")
        if rating is not None:
            log.info("call %s rated %s (%s)", rated.call_sid, result.rate, rating.source)
            if recording is not None and request.args.get("heard"):
                recording.confirmed_level = result.rate  # confirmed by the caller's key
    elif rated.rating is not None and result.wait_for_key and not replaceable:
        return goodbye(lang, "already_rated")
    if result.disposition is not None:
        end_survey(session, call, result.disposition)
    return answer(lang, result, recording_sid if result.position.heard else None)
