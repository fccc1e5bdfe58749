"""The console's audit trail: every playback, reveal and export, and every refusal."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEntry, User


def record(
    session: Session,
    user: User | None,
    action: str,
    target: str,
    *,
    allowed: bool = True,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry (`allowed=False` for a refused request)."""
    entry = AuditEntry(
        user_id=user.id if user else None,
        username=user.username if user else "anonymous",
        role=user.role if user else None,
        action=action[:32],
        target=target[:255],
        allowed=allowed,
        ip=(ip or "")[:64] or None,
        detail=detail,
    )
    session.add(entry)
    return entry
