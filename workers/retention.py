"""The sweep's retention duty, deleting the provider's copy too."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ivr.telephony import provider
from storage.records.files import file_store
from storage.records.retention import PurgeReport, purge_expired, retention_days

log = logging.getLogger(__name__)


def remote_deleter() -> Callable[[str], None] | None:
    """Deletes a recording at the provider; None without its credentials."""
    telephony = provider()
    return telephony.delete_recording if telephony.configured() else None


def purge_recordings(factory: sessionmaker[Session], now: datetime) -> PurgeReport:
    """Run the retention duty if `RECORDING_RETENTION_DAYS` is set."""
    days = retention_days()
    if days is None:
        return PurgeReport()
    deleter = remote_deleter()
    if deleter is None:
        log.warning("retention: no Twilio credentials, Twilio's copies are not deleted")
    return purge_expired(factory, file_store(), now, days, deleter)
