"""Administrators' changes to users and departments, each with an audit entry.

Every change records who, when, what and the values before and after; a refused change
is recorded too (`refused`, with the reason), in its own transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage import names
from storage.access import audit as audit_trail
from storage.access.users import (
    UserError,
    check_role,
    create_department,
    create_user,
    find_department,
    set_department_head,
)
from storage.db import transaction
from storage.models import ROLE_ADMIN, AuditEntry, Department, User

__all__ = [
    "UserError",
    "audit",
    "change_user",
    "import_agents",
    "new_department",
    "new_user",
    "recent_audit",
    "record_refused",
    "save_agent",
    "set_head",
]

MAX_AUDIT_ROWS = 50


def audit(
    session: Session,
    actor: User | None,
    action: str,
    target: str,
    detail: dict[str, Any],
    *,
    allowed: bool = True,
) -> None:
    """Append one entry to the console's audit trail."""
    audit_trail.record(session, actor, action, target, allowed=allowed, detail=detail)


def record_refused(
    factory: sessionmaker[Session], actor: User | None, action: str, target: str, reason: str
) -> None:
    """Audit a refused change, apart from the transaction that was rolled back."""
    with transaction(factory) as session:
        detail = {"action": action, "reason": reason[:500]}
        audit(session, actor, "refused", target, detail, allowed=False)


def _admin(session: Session, actor: User) -> User:
    """The acting user as stored now, who must be an active admin."""
    user = session.get(User, actor.id)
    if user is None or not user.active or user.role != ROLE_ADMIN:
        raise PermissionError("only an administrator manages users and departments")
    return user


def new_user(
    session: Session, actor: User, username: str, password: str, role: str, dept: str | None
) -> User:
    """Create a console user (`UserError` says why not)."""
    admin = _admin(session, actor)
    user = create_user(session, username.strip(), password, role, dept or None)
    audit(session, admin, "user_created", f"user:{user.username}", {"role": role, "dept": dept})
    return user


def change_user(
    session: Session, actor: User, user_id: int, role: str, dept: str | None, active: bool
) -> User:
    """Set a user's role, department and whether the account is active."""
    admin = _admin(session, actor)
    user = session.get(User, user_id)
    if user is None:
        raise UserError(f"no user {user_id}")
    dept = dept or None
    check_role(session, role, dept)
    if user.id == admin.id and (role != ROLE_ADMIN or not active):
        raise UserError("administrators cannot demote or deactivate themselves")
    before = {"role": user.role, "dept": user.dept, "active": user.active}
    user.role, user.dept, user.active = role, dept, active
    after = {"role": role, "dept": dept, "active": active}
    if before != after:
        audit(
            session, admin, "user_changed", f"user:{user.username}", {"from": before, "to": after}
        )
    return user


def new_department(session: Session, actor: User, code: str, name: str) -> Department:
    """Create a department."""
    admin = _admin(session, actor)
    department = create_department(session, code.strip(), name)
    audit(session, admin, "dept_created", f"dept:{department.code}", {"name": department.name})
    return department


def set_head(session: Session, actor: User, code: str, username: str | None) -> Department:
    """Make `username` (None: nobody) the department's head, who gets its escalations."""
    admin = _admin(session, actor)
    department = find_department(session, code)
    before = department.head.username if department and department.head else None
    department = set_department_head(session, code, username or None)
    detail = {"from": before, "to": username or None}
    if before != (username or None):
        audit(session, admin, "dept_head_set", f"dept:{code}", detail)
    return department


def recent_audit(session: Session, limit: int = MAX_AUDIT_ROWS) -> list[AuditEntry]:
    """The latest entries about users and departments, newest first."""
    statement = (
        select(AuditEntry)
        .where(or_(*(AuditEntry.target.startswith(kind) for kind in ("user:", "dept:", "agent"))))
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def save_agent(session: Session, actor: User, code: str, name: str, dept: str | None) -> None:
    """Create or update one agent (话务员) and its name."""
    admin = _admin(session, actor)
    agent = names.save_agent(session, code, name, dept)
    audit(session, admin, "agent_saved", f"agent:{agent.code}", {"name": name, "dept": agent.dept})


def import_agents(session: Session, actor: User, text: str) -> int:
    """Create or update the agents of a CSV (`code,name[,dept]`), all or none."""
    admin = _admin(session, actor)
    count = names.import_agents(session, names.read_agent_csv(text))
    audit(session, admin, "agents_imported", "agents", {"count": count})
    return count
