"""The figures of `bench/stream.py`, read from the database after each round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from timing import percentile

from storage.models import Call, OutboxJob, Rating, Recording
from storage.outbox import SPEECH_QUEUE
from storage.records.media_streams import MediaStream


def ms(values: list[float]) -> str:
    """p50/p95/p99 of seconds, in ms."""
    if not values:
        return "none"
    p = [percentile(sorted(values), q) * 1000 for q in (0.5, 0.95, 0.99)]
    return f"p50 {p[0]:.0f} ms, p95 {p[1]:.0f} ms, p99 {p[2]:.0f} ms (n={len(values)})"


def stream_figures(factory, placed: list) -> dict:
    """Per streamed caller: last voiced frame → decision and → rating stored; drops, wrongs."""
    decided, rated, dropped, wrong, stored = [], [], 0, 0, 0
    first_voiced, last_decided = float("inf"), 0.0
    with factory() as session:
        for caller in placed:
            call = session.scalars(select(Call).where(Call.call_sid == caller.call_sid)).first()
            streams = (
                list(session.scalars(select(MediaStream).where(MediaStream.call_id == call.id)))
                if call
                else []
            )
            voiced = caller.last_voice_at
            if not streams or streams[0].decided_at is None or not voiced:
                dropped += 1
                continue
            decided.append(streams[0].decided_at.timestamp() - voiced)
            first_voiced = min(first_voiced, voiced)
            last_decided = max(last_decided, streams[0].decided_at.timestamp())
            rating = session.scalars(select(Rating).where(Rating.call_id == call.id)).first()
            if rating is not None:
                stored += 1
                rated.append(rating.rated_at.timestamp() - voiced)
                wrong += rating.level != caller.level
    return {
        "decided": decided,
        "rated": rated,
        "dropped": dropped,
        "wrong": wrong,
        "stored": stored,
        "window": (first_voiced, last_decided),  # first voiced frame → last decision
    }


def poll_figures(factory, calls, since: datetime) -> dict:
    """Record-and-poll calls: recording reported → result and → rating stored; wrongs."""
    decided, rated, wrong, stored, missing = [], [], 0, 0, 0
    shown_unrated = False
    with factory() as session:
        jobs = session.execute(
            select(OutboxJob.created_at, OutboxJob.done_at).where(
                OutboxJob.queue == SPEECH_QUEUE,
                OutboxJob.done_at.is_not(None),
                OutboxJob.created_at >= since,
            )
        )
        decided = [(done - created).total_seconds() for created, done in jobs]
        for script, utterance, outcome in calls:
            call = session.scalars(select(Call).where(Call.call_sid == script.call_sid)).first()
            recording = (
                session.scalars(select(Recording).where(Recording.call_id == call.id)).first()
                if call
                else None
            )
            if recording is None:
                missing += 1
                continue
            rating = session.scalars(select(Rating).where(Rating.call_id == call.id)).first()
            if rating is not None:
                stored += 1
                rated.append((rating.rated_at - recording.created_at).total_seconds())
                wrong += rating.level != utterance.level
            elif outcome is not None and not shown_unrated:  # one example is enough
                shown_unrated = True
                print("  an unrated record-and-poll call ended:")
                print("\n".join(outcome.transcript[-8:]))
    return {
        "decided": decided,
        "rated": rated,
        "dropped": missing,
        "wrong": wrong,
        "stored": stored,
    }
