"""Notifications sent outside the console: SMS to a person, a group robot webhook.

Channels (environment):

- `NOTIFY_SMS=on`: an SMS (from `SURVEY_NUMBER`) to the person named on the case, and to
  the department head on escalation, when their account has a phone number;
- `NOTIFY_WEBHOOK_URL` (with `NOTIFY_WEBHOOK_SECRET`): one message per event, whose JSON
  body a group robot accepts, `NOTIFY_WEBHOOK_FORMAT` `wecom` (企业微信, the default) or
  `dingtalk` (钉钉). Signed both ways: `X-IVR-Timestamp`/`X-IVR-Signature` as every push of
  this service, and for DingTalk also its own `timestamp`/`sign` URL parameters (加签).

Each delivery is a `NotificationDelivery` row and an outbox job
(`workers.jobs.deliver_notification`), written with the event. A failure is recorded on
the row (`attempts`, `last_error`) and the job is sent again by the sweep, until
`NOTIFY_MAX_ATTEMPTS` (5); then the row is `failed`. The inbox and admin pages list them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.access.privacy import mask_number
from storage.inserts import insert_once
from storage.models import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    NotificationDelivery,
    User,
)
from storage.outbox import DELIVER_NOTIFICATION, add_job
from storage.settings import settings

DELIVER_JOB = DELIVER_NOTIFICATION
CHANNEL_SMS = "sms"
CHANNEL_WEBHOOK = "webhook"
FORMATS = ("wecom", "dingtalk")


def sms_enabled() -> bool:
    """`NOTIFY_SMS=on` (off by default)."""
    return settings().notify_sms


def webhook_url() -> str | None:
    """`NOTIFY_WEBHOOK_URL`, or None."""
    return settings().notify_webhook_url


def webhook_format() -> str:
    """`NOTIFY_WEBHOOK_FORMAT`: `wecom` (default) or `dingtalk`."""
    return settings().notify_webhook_format


def max_attempts() -> int:
    """`NOTIFY_MAX_ATTEMPTS`: tries of one delivery before it is given up (default 5)."""
    return settings().notify_max_attempts


def queue(
    session: Session,
    key: str,
    text: str,
    sms: Sequence[tuple[int, User]],
    now: datetime,
) -> int:
    """Queue the event's deliveries on the configured channels; returns how many."""
    queued = 0
    if sms_enabled():
        for notification_id, user in sms:
            if user.phone:
                queued += _add(
                    session, f"sms:{notification_id}", CHANNEL_SMS, text, now,
                    notification_id=notification_id, target=mask_number(user.phone),
                )  # fmt: skip
    if webhook_url():
        mentions = [user.phone for _, user in sms if user.phone]
        queued += _add(
            session, f"webhook:{key}", CHANNEL_WEBHOOK, text, now,
            target=webhook_format(), mentions=mentions or None,
        )  # fmt: skip
    return queued


def _add(session: Session, key: str, channel: str, text: str, now: datetime, **values) -> int:
    row = {"dedupe_key": key, "channel": channel, "text": text, "created_at": now}
    row |= {"status": DELIVERY_PENDING, "attempts": 0} | values
    delivery_id = insert_once(session, NotificationDelivery, row, "dedupe_key")
    if delivery_id is None:
        return 0
    add_job(session, DELIVER_JOB, {"delivery_id": delivery_id}, f"deliver:{delivery_id}")
    return 1


def troubled(session: Session, limit: int = 50) -> list[NotificationDelivery]:
    """Deliveries that failed at least once (being retried, or given up), newest first."""
    statement = (
        select(NotificationDelivery)
        .where(
            or_(
                NotificationDelivery.status == DELIVERY_FAILED,
                NotificationDelivery.last_error.is_not(None),
            )
        )
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))
