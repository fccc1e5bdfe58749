"""`INSERT … ON CONFLICT DO NOTHING`, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base


def insert_once(
    session: Session, model: type[Base], values: dict[str, Any], key: str
) -> int | None:
    """Insert a row unless one with the same unique `key` exists; return the new id or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(model.__table__.c.id)
    )
    return session.execute(statement).scalar_one_or_none()
