"""Webhooks when the database does not answer in time: keep first, store later.

A webhook waits for the database at most :data:`WEBHOOK_DB_WAIT_S`; then what it would
have stored (a survey start, a key's rating, a status callback) is appended to this
process's spool file (``storage.records.spool``, fsync'd) and the caller is answered as if it
had been stored: a kept key is thanked for, never met with ``system_busy``. A thread
of each web process applies the spool as soon as the database answers.

Bound: the survey start and every key press answer within 5 s under a database lock
(about 2 s of waiting, the fsync, and the TwiML).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask, current_app

from ivr.extensions import db_sessions
from storage.db import DATABASE_UNAVAILABLE
from storage.records import spool
from storage.records.kept import drain_spool

log = logging.getLogger(__name__)

WEBHOOK_DB_WAIT_S = 2.0
DRAIN_EVERY_S = 0.5
# The drainer gives way quickly to webhooks when the database is still busy.
DRAIN_WAIT_S = 1.0

_drainer_lock = threading.Lock()
_drainer: dict[str, object] = {"pid": None, "app": None}


def spool_folder() -> Path:
    """The running app's spool folder (fixed at its first use)."""
    folder = current_app.extensions.get("ivr.spool")
    if folder is None:
        folder = current_app.extensions["ivr.spool"] = spool.spool_dir()
    return folder


def keep(item: dict) -> None:
    """Keep `item` durably (raises OSError if even the disk fails), and make sure this
    process applies it once the database answers."""
    spool.keep(item, spool_folder())
    log.warning("database busy: %s of %s kept in the spool", item["kind"], item["call_sid"])
    start_drainer(current_app._get_current_object())


def start_drainer(app: Flask) -> None:
    """Run the spool-applying thread of this process (one per process, for `app`)."""
    with _drainer_lock:
        _drainer["app"] = app
        if _drainer["pid"] == os.getpid():
            return
        _drainer["pid"] = os.getpid()
    threading.Thread(target=_drain_forever, name="spool-drainer", daemon=True).start()


def _drain_forever() -> None:
    while True:
        time.sleep(DRAIN_EVERY_S)
        app = _drainer["app"]
        try:
            with app.app_context():
                drain_once()
        except Exception:  # the thread must outlive any one failure
            log.exception("spool: applying kept entries failed; trying again")


def drain_once() -> int:
    """Apply this app's spool if the database answers; how many jobs were sent."""
    folder = spool_folder()
    if not spool.pending(folder):
        return 0
    try:
        jobs = drain_spool(db_sessions(), folder, DRAIN_WAIT_S)
    except DATABASE_UNAVAILABLE as error:
        log.info("spool: database still unavailable (%s)", type(error).__name__)
        return 0
    from ivr.redis_guard import send_jobs_guarded

    return send_jobs_guarded(jobs)
