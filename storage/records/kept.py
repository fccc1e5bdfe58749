"""Applying what webhooks kept in the spool (``storage.records.spool``) while the database was busy.

An entry is what a webhook would have stored: the call's details (survey start, status
callback), how its survey ended, and a rating given by key, each with the time it
happened. Applying is idempotent (the call is found or created, a call keeps its first
rating), so an entry applied twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.records import spool
from storage.records.calls import (
    CallDetails,
    end_survey,
    get_or_create_call,
    log_event,
    record_rating,
)
from storage.records.later import rated_call
from storage.types import utcnow

log = logging.getLogger(__name__)

EVENT = "kept_while_db_busy"


def entry(
    kind: str,
    call_sid: str,
    details: CallDetails,
    *,
    disposition: str | None = None,
    level: str | None = None,
    source: str | None = None,
    call_kind: str | None = None,
    at: datetime | None = None,
) -> dict:
    """A spool entry (plain JSON) for what a webhook could not store."""
    fields = {k: v for k, v in asdict(details).items() if v}
    return {
        "kind": kind,
        "call_sid": call_sid,
        "details": fields | {"tickets": list(details.tickets)},
        "disposition": disposition,
        "level": level,
        "source": source,
        "call_kind": call_kind,
        "at": (at or utcnow()).isoformat(),
    }


def _apply_one(session: Session, item: dict) -> None:
    at = datetime.fromisoformat(item["at"])
    raw = dict(item.get("details") or {})
    details = CallDetails(**raw | {"tickets": tuple(raw.get("tickets") or ())})
    call = get_or_create_call(session, item["call_sid"], details)
    if call.created_at > at:
        call.created_at = at  # the call began when Twilio told us, not when applied
    if item.get("call_kind") and call.rating is None:
        call.kind = item["call_kind"]
    if item.get("level"):
        rated = rated_call(session, call)
        rating = record_rating(session, rated, item["level"], item.get("source") or "dtmf", at)
        stored = "stored" if rating is not None else "already rated"
        log_event(session, call, EVENT, f"{item['kind']} {item['level']} ({stored})")
    else:
        log_event(session, call, EVENT, item["kind"])
    if item.get("disposition"):
        end_survey(session, call, item["disposition"])
        if call.ended_at is not None and call.ended_at > at:
            call.ended_at = at


def apply_entries(
    factory: sessionmaker[Session], entries: list[dict], wait_s: float | None = None
) -> list[tuple[int, str]]:
    """Apply kept entries, in order, in one transaction (all or none; waiting at most
    `wait_s` for locks); returns the outbox jobs it recorded, to send after commit."""
    with transaction(factory, wait_s) as session:
        for item in entries:
            _apply_one(session, item)
            session.flush()
    return session.info.pop("outbox_jobs", [])


def drain_spool(
    factory: sessionmaker[Session], folder: Path | None = None, wait_s: float | None = None
) -> list[tuple[int, str]]:
    """Apply every kept entry of this machine; the outbox jobs to send (the sweep
    sends any left unsent). Raises if the database fails: the entries stay kept."""
    jobs: list[tuple[int, str]] = []
    spool.drain(lambda entries: jobs.extend(apply_entries(factory, entries, wait_s)), folder)
    return jobs


def calls_in_spool(folder: Path | None = None) -> set[str]:
    """CallSids with an entry not yet applied."""
    sids = set()
    for path in spool.pending(folder):
        try:
            sids |= {e["call_sid"] for e in spool.read_entries(path)}
        except FileNotFoundError:
            continue
    return sids
