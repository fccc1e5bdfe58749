"""Retention of recordings (domain.md rule 4): audio and transcripts go after N days.

`RECORDING_RETENTION_DAYS` (unset: kept) counts from the recording's creation. Purging
deletes the stored file and the transcript, keeps what the figures need (the rating,
the recognised level) and marks the row `purging` until the telephony provider has
deleted its own copy too, then `purged`. A failed remote deletion is retried by the
next sweep; the local copy is gone either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callflows.vocabulary import RECORDING_PURGED, RECORDING_PURGING
from storage.db import transaction
from storage.models import Recording
from storage.records.files import FileStore
from storage.settings import settings

log = logging.getLogger(__name__)

BATCH = 200


def retention_days() -> int | None:
    """`RECORDING_RETENTION_DAYS`, or None when recordings are kept."""
    return settings().recording_retention_days


@dataclass(frozen=True)
class PurgeReport:
    purged_here: int = 0
    deleted_remotely: int = 0
    remote_failures: int = 0


def _purge_local(factory: sessionmaker[Session], store: FileStore, cutoff: datetime) -> int:
    """Delete files and transcripts of recordings older than `cutoff`, in batches."""
    done = 0
    while True:
        with transaction(factory) as session:
            batch = session.scalars(
                select(Recording)
                .where(
                    Recording.created_at < cutoff,
                    Recording.status.not_in((RECORDING_PURGING, RECORDING_PURGED)),
                )
                .order_by(Recording.id)
                .limit(BATCH)
            ).all()
            for recording in batch:
                if recording.file_key:
                    store.delete(recording.file_key)
                recording.file_key = None
                recording.transcript = None
                recording.status = RECORDING_PURGING
        done += len(batch)
        if len(batch) < BATCH:
            return done


def purge_expired(
    factory: sessionmaker[Session],
    store: FileStore,
    now: datetime,
    days: int,
    delete_remote: Callable[[str], None] | None,
) -> PurgeReport:
    """Purge recordings older than `days`; `delete_remote(sid)` asks the provider too."""
    purged = _purge_local(factory, store, now - timedelta(days=days))
    with factory() as session:
        pending = session.execute(
            select(Recording.id, Recording.recording_sid).where(
                Recording.status == RECORDING_PURGING
            )
        ).all()
    deleted = failed = 0
    for recording_id, sid in pending:
        if delete_remote is not None:
            try:
                delete_remote(sid)
            except Exception as error:  # any provider error: retried by the next sweep
                log.warning("could not delete recording %s at the provider: %s", sid, error)
                failed += 1
                continue
            deleted += 1
        with transaction(factory) as session:
            session.get_one(Recording, recording_id).status = RECORDING_PURGED
    if purged or pending:
        log.info(
            "retention: %d purged here, %d deleted remotely, %d failed", purged, deleted, failed
        )
    return PurgeReport(purged, deleted, failed)
