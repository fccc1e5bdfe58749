"""The jobs themselves: plain functions of ids, each safe to run more than once."""

from __future__ import annotations

import json
import logging

from storage.db import transaction
from storage.models import Notification
from storage.records.calls import find_call
from storage.reports.serialize import call_to_dict
from storage.settings import settings
from storage.workflow.notifications import AUDIENCE_MANAGEMENT, notification_to_dict
from workers.context import session_factory
from workers.notify import announce_bad_rating, deliver_notification
from workers.outcome_sms import send_outcome_sms
from workers.recordings import process_recording
from workers.reminders import send_reminder as send_sms_reminder
from workers.signed_post import signed_post

__all__ = [
    "announce_bad_rating",
    "deliver_notification",
    "process_recording",
    "push_call_update",
    "push_notification",
    "send_outcome_sms",
    "send_sms_reminder",
]

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 10


def push_call_update(call_sid: str) -> str:
    """Push the call's current rating and callback to `WORKORDER_WEBHOOK_URL`, signed.

    The body is the call as the read API serves it; the receiver checks
    `X-IVR-Signature: sha256=<hex HMAC of timestamp.body>` with the shared
    `WORKORDER_WEBHOOK_SECRET`. Sending the current state makes repeats harmless.
    """
    hook = _hook("WORKORDER_WEBHOOK")
    if hook is None:
        return "no WORKORDER_WEBHOOK_URL: nothing to push"
    with transaction(session_factory()) as session:
        call = find_call(session, call_sid)
        if call is None:
            return "unknown call"
        body = json.dumps({"event": "call.updated", "call": call_to_dict(call)}).encode()
    return post_signed(*hook, body)


def push_notification(notification_id: int) -> str:
    """Push a notification for the management body to `MANAGEMENT_WEBHOOK_URL`, signed.

    Signed like `push_call_update`, with `MANAGEMENT_WEBHOOK_SECRET`; the body is
    `{"event": "notification.<kind>", "notification": {...}}` (no caller number).
    """
    hook = _hook("MANAGEMENT_WEBHOOK")
    if hook is None:
        return "no MANAGEMENT_WEBHOOK_URL: nothing to push"
    with transaction(session_factory()) as session:
        notification = session.get(Notification, notification_id)
        if notification is None or notification.audience != AUDIENCE_MANAGEMENT:
            return "no such management notification"
        event = f"notification.{notification.kind}"
        payload = {"event": event, "notification": notification_to_dict(notification)}
        body = json.dumps(payload, ensure_ascii=False).encode()
    return post_signed(*hook, body)


def _hook(prefix: str) -> tuple[str, str] | None:
    """`(<prefix>_URL, <prefix>_SECRET)` from the environment; None without a URL.

    A URL without its secret is a configuration error: the job fails and stays pending.
    """
    current = settings()
    url = getattr(current, f"{prefix.lower()}_url")
    if not url:
        return None
    return url, getattr(current, f"{prefix.lower()}_secret")


def post_signed(url: str, secret: str, body: bytes) -> str:
    """POST `body` as JSON with `X-IVR-Timestamp` and `X-IVR-Signature` (HMAC-SHA256)."""
    response = signed_post(url, secret, body, PUSH_TIMEOUT_S)
    return f"pushed ({response.status_code})"
