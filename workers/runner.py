"""Runs outbox jobs: at most one success per outbox row, however often it is sent."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from storage.db import transaction
from storage.models import OutboxJob
from storage.types import utcnow
from workers.context import session_factory

log = logging.getLogger(__name__)

ALLOWED_PREFIX = "workers.jobs."


def run_outbox_job(outbox_id: int) -> str:
    """Run the job recorded as outbox row `outbox_id`, unless it is already done."""
    factory = session_factory()
    with transaction(factory) as session:
        job = session.get(OutboxJob, outbox_id)
        if job is None:
            return "missing"
        if job.done_at is not None:
            return "already done"
        func_name, args = job.func, dict(job.args)
    try:
        result = _resolve(func_name)(**args)
    except Exception as error:
        with transaction(factory) as session:
            session.get_one(OutboxJob, outbox_id).last_error = repr(error)[:2000]
        raise
    with transaction(factory) as session:
        session.get_one(OutboxJob, outbox_id).done_at = utcnow()
    log.info("outbox job %s (%s) done: %s", outbox_id, func_name, result)
    return str(result)


def _resolve(name: str) -> Callable[..., Any]:
    if not name.startswith(ALLOWED_PREFIX):
        raise ValueError(f"refusing to run {name!r}: not a job")
    module_name, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)
