"""The sweep's retention duty, deleting Twilio's copy through its REST API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from twilio.rest import Client

from storage.files import file_store
from storage.retention import PurgeReport, RetentionError, purge_expired, retention_days
from workers.twilio_rest import NotConfigured, TwilioRestException, rest_client

log = logging.getLogger(__name__)


def twilio_client() -> Client | None:
    """A REST client for the account, or None without credentials."""
    try:
        return rest_client()
    except NotConfigured:
        return None


def remote_deleter(client: Client | None) -> Callable[[str], None] | None:
    """Deletes a recording at Twilio; one Twilio no longer has counts as deleted."""
    if client is None:
        return None

    def delete(recording_sid: str) -> None:
        try:
            client.recordings(recording_sid).delete()
        except TwilioRestException as error:
            if error.status != 404:
                raise

    return delete


def purge_recordings(factory: sessionmaker[Session], now: datetime) -> PurgeReport:
    """Run the retention duty if `RECORDING_RETENTION_DAYS` is set."""
    try:
        days = retention_days()
    except RetentionError as error:
        log.error("retention skipped: %s", error)
        return PurgeReport()
    if days is None:
        return PurgeReport()
    client = twilio_client()
    if client is None:
        log.warning("retention: no Twilio credentials, Twilio's copies are not deleted")
    return purge_expired(factory, file_store(), now, days, remote_deleter(client))
