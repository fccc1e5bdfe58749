"""The callback workflow's messages: escalations, notifications, 会商, deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import utcnow


class Escalation(Base):
    """An overdue step reported upward, once: `dedupe_key` is `<step>:<callback id>`."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    callback_id: Mapped[int] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(16))  # callback or rectify
    at: Mapped[datetime] = mapped_column(default=utcnow)
    recipients: Mapped[int] = mapped_column(default=0)


class Notification(Base):
    """A message to a user (escalations) or to the management body (not adopted)."""

    __tablename__ = "notifications"
    # The inbox counts a user's unread notifications.
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(16))  # user or management
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    callback_id: Mapped[int | None] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class CallbackConsult(Base):
    """A department consulted (会商) on a complex case: it sees the case and adds notes."""

    __tablename__ = "callback_consults"
    __table_args__ = (UniqueConstraint("callback_id", "dept"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id", ondelete="CASCADE"))
    dept: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Delivery states of a notification on a channel.
DELIVERY_PENDING = "pending"  # queued, or failed and to be retried
DELIVERY_SENT = "sent"
DELIVERY_FAILED = "failed"  # given up after the attempts (last_error says why)


class NotificationDelivery(Base):
    """One notification sent on one channel (SMS to a person, or the group robot webhook)."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # sms or webhook
    target: Mapped[str | None] = mapped_column(String(64))  # masked number, or the robot
    text: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[str] | None] = mapped_column(JSON)  # phone numbers to @ (robot)
    status: Mapped[str] = mapped_column(String(16), default=DELIVERY_PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
