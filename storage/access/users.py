"""Console users, their roles and departments.

Passwords are kept only as salted scrypt hashes (`werkzeug.security`) and are never
logged. Staff belong to one department (by its code, the `dept` calls carry) and work
only its callbacks; supervisors and admins may name a department too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from storage.models import ROLE_STAFF, ROLE_SUPERVISOR, ROLES, Department, User
from storage.types import utcnow

_Row = TypeVar("_Row", User, Department)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
DEPT_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Checked against when the user does not exist, so that both cases take as long.
_DUMMY_HASH = generate_password_hash("not a real password")


class UserError(ValueError):
    """A user or department that cannot be created as asked; the message says why."""


def check_password(password: str) -> None:
    """Raise `UserError` unless `password` is acceptable (never echoes it)."""
    if not password:
        raise UserError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise UserError("the password starts or ends with white space")


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password`."""
    return generate_password_hash(password, method="scrypt")


def find_department(session: Session, code: str) -> Department | None:
    """The department with `code`, or None."""
    return session.scalars(select(Department).where(Department.code == code)).one_or_none()


def create_department(session: Session, code: str, name: str) -> Department:
    """Create a department; its code must be new."""
    if not DEPT_CODE_PATTERN.fullmatch(code or ""):
        raise UserError(f"invalid department code {code!r}: letters, digits, _ . -")
    if not name or not name.strip():
        raise UserError("the department needs a name")
    if find_department(session, code) is not None:
        raise UserError(f"department {code!r} exists already")
    department = Department(code=code, name=name.strip()[:200])
    return _add(session, department, f"department {code!r} exists already")


def set_department_head(session: Session, code: str, username: str | None) -> Department:
    """Make `username` (None: nobody) the head of department `code`, who gets escalations."""
    department = find_department(session, code)
    if department is None:
        raise UserError(f"no department {code!r}")
    user = None if username is None else find_user(session, username)
    if username is not None and user is None:
        raise UserError(f"no user {username!r}")
    department.head_user_id = None if user is None else user.id
    return department


def find_user(session: Session, username: str) -> User | None:
    """The user called `username`, or None."""
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def check_role(session: Session, role: str, dept: str | None, command_hints: bool = False) -> None:
    """Raise `UserError` unless `role` is known and the department (a staff member's must
    be given) exists; `command_hints` adds what to type (the `ivr user` command's words)."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if role == ROLE_STAFF and not dept:
        hint = ": give --dept CODE" if command_hints else ""
        raise UserError(f"staff belong to a department{hint}")
    if dept and find_department(session, dept) is None:
        hint = ": create it first (ivr dept create)" if command_hints else ""
        raise UserError(f"no department {dept!r}{hint}")


def create_user(
    session: Session, username: str, password: str, role: str, dept: str | None = None
) -> User:
    """Create a console user; raise `UserError` with the reason when that is not possible."""
    if not USERNAME_PATTERN.fullmatch(username or ""):
        raise UserError(f"invalid user name {username!r}: letters, digits, _ . @ -")
    check_role(session, role, dept, command_hints=True)
    check_password(password)
    if find_user(session, username) is not None:
        raise UserError(f"user {username!r} exists already")
    user = User(username=username, password_hash=hash_password(password), role=role, dept=dept)
    return _add(session, user, f"user {username!r} exists already")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None; the login time is noted."""
    user = find_user(session, username) if username else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace the user's password (checked like a new one)."""
    check_password(password)
    user.password_hash = hash_password(password)


def supervisors(session: Session) -> Sequence[User]:
    """Every active supervisor."""
    statement = select(User).where(User.role == ROLE_SUPERVISOR, User.active.is_(True))
    return session.scalars(statement.order_by(User.id)).all()


def department_heads(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """Department code → the user id of its (active) head, for the codes that have one."""
    if not codes:
        return {}
    statement = (
        select(Department.code, User.id)
        .join(User, User.id == Department.head_user_id)
        .where(Department.code.in_(codes), User.active.is_(True))
    )
    return {code: user_id for code, user_id in session.execute(statement)}


def _add(session: Session, row: _Row, duplicate: str) -> _Row:
    """Insert `row` in a savepoint; a concurrent duplicate becomes a `UserError`."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        raise UserError(duplicate) from error
    return row
