"""Jobs that tell people: a new 差评 to its department, deliveries, the outcome SMS.

- `announce_bad_rating(call_id)`: the department's staff get a 新差评 notification.
- `deliver_notification(delivery_id)`: one SMS or group-robot message
  (`storage.workflow.deliveries`); a failure is recorded and raised, so the outbox sends the job
  again, until the attempts are used up.
- `send_outcome_sms(callback_id, round)`: the caller is told the outcome of a closed
  case, once, unless the number opted out (`storage.outcome_sms`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import quote_plus

from sqlalchemy import select

from ivr.telephony import NotConfigured, provider
from storage.access.privacy import mask_number
from storage.db import transaction
from storage.models import (
    CALLBACK_ANONYMOUS,
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENT,
    Callback,
    Notification,
    NotificationDelivery,
    User,
)
from storage.settings import settings
from storage.types import utcnow
from storage.workflow import deliveries, inbox
from workers.context import session_factory
from workers.signed_post import signed_post

log = logging.getLogger(__name__)

TIMEOUT_S = 10


def announce_bad_rating(call_id: int) -> str:
    """Tell the staff of the callback's department that a new 差评 came in."""
    with transaction(session_factory()) as session:
        callback = session.scalars(select(Callback).where(Callback.call_id == call_id)).first()
        if callback is None:
            return "no callback"
        staff = inbox.department_staff(session, [callback.dept])
        anonymous = "（匿名，无来电号码）" if callback.state == CALLBACK_ANONYMOUS else ""
        subject = f"新差评：回访 #{callback.id}（{callback.dept or '热线'}）{anonymous}"
        sent = inbox.notify(session, inbox.KIND_NEW, f"new:{callback.id}", staff, callback, subject)
    return f"{sent} notified"


def deliver_notification(delivery_id: int) -> str:
    """Send one delivery; record the outcome; raise on failure while attempts remain."""
    factory = session_factory()
    with transaction(factory) as session:
        delivery = session.get(NotificationDelivery, delivery_id)
        if delivery is None or delivery.status != DELIVERY_PENDING:
            return f"nothing to do ({delivery.status if delivery else 'missing'})"
        channel, text, mentions = delivery.channel, delivery.text, delivery.mentions or []
        phone = _phone_of(session, delivery.notification_id)
    try:
        if channel == deliveries.CHANNEL_SMS:
            said = _send_sms(phone, text)
        else:
            said = _post_robot(text, mentions)
    except Exception as error:  # any failure: record it, retry later
        return _failed(factory, delivery_id, error)
    with transaction(factory) as session:
        delivery = session.get_one(NotificationDelivery, delivery_id)
        delivery.status, delivery.sent_at = DELIVERY_SENT, utcnow()
        delivery.attempts += 1
    return said


def _phone_of(session, notification_id: int | None) -> str | None:
    if notification_id is None:
        return None
    notification = session.get(Notification, notification_id)
    user = session.get(User, notification.user_id) if notification else None
    return user.phone if user else None


def _failed(factory, delivery_id: int, error: Exception) -> str:
    """Record a failed try; give up after the attempts, else raise to be sent again."""
    said = str(error) or repr(error)
    with transaction(factory) as session:
        delivery = session.get_one(NotificationDelivery, delivery_id)
        delivery.attempts += 1
        delivery.last_error = said[:2000]
        give_up = delivery.attempts >= deliveries.max_attempts()
        if give_up:
            delivery.status = DELIVERY_FAILED
    log.warning("delivery %s failed (%s): %s", delivery_id, "gave up" if give_up else "retry", said)
    if give_up:
        return f"failed, given up: {said}"
    raise RuntimeError(f"delivery {delivery_id} failed: {said}")


def _send_sms(phone: str | None, text: str) -> str:
    from storage.records import sms

    if not phone:
        raise NotConfigured("the user has no phone number")
    sender = sms.survey_number()
    if not sender:
        raise NotConfigured("SURVEY_NUMBER is not set")
    message_sid = provider().send_sms(to=phone, from_=sender, body=f"【12345】{text}")
    log.info("notification SMS to %s sent (%s)", mask_number(phone), message_sid)
    return f"sent {message_sid}"


def robot_body(text: str, mentions: list[str], format_name: str) -> dict:
    """The JSON a 企业微信 or 钉钉 group robot accepts (`msgtype` text, @ by phone)."""
    content = f"【12345 好差评】{text}"
    if format_name == "dingtalk":
        return {
            "msgtype": "text",
            "text": {"content": content},
            "at": {"atMobiles": mentions, "isAtAll": False},
        }
    return {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": mentions}}


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk's 加签: `timestamp` (ms) and `sign` = base64(HMAC-SHA256(ts + "\\n" + secret))."""
    timestamp = str(now_ms if now_ms is not None else round(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    sign = quote_plus(base64.b64encode(digest.digest()))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={sign}"


def _post_robot(text: str, mentions: list[str]) -> str:
    """POST the message to the group robot, signed; a robot's `errcode` != 0 is a failure."""
    url = deliveries.webhook_url()
    secret = settings().notify_webhook_secret or ""
    if not url:
        raise NotConfigured("NOTIFY_WEBHOOK_URL is not set")
    if not secret:
        raise NotConfigured("NOTIFY_WEBHOOK_URL is set but NOTIFY_WEBHOOK_SECRET is not")
    format_name = deliveries.webhook_format()
    body = json.dumps(robot_body(text, mentions, format_name), ensure_ascii=False).encode()
    if format_name == "dingtalk":
        url = dingtalk_signed_url(url, secret)
    response = signed_post(url, secret, body, TIMEOUT_S)
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        raise RuntimeError(f"robot refused: {answer.get('errcode')} {answer.get('errmsg')}")
    return f"posted ({response.status_code})"
