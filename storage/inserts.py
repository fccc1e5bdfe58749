"""`INSERT … ON CONFLICT DO NOTHING`, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Column, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.connections import connection_of
from storage.models import Base

M = TypeVar("M", bound=Base)


def insert_new(session: Session, model: type[M], values: dict[str, Any], key: str) -> M | None:
    """`insert_once` that returns the new row as an object of the session (no re-select);
    None when a row with the same `key` exists."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model).values(**values).on_conflict_do_nothing(index_elements=[key]).returning(model)
    )
    return session.scalars(statement).one_or_none()


def insert_once(
    session: Session, model: type[Base], values: dict[str, Any], key: str
) -> int | None:
    """Insert a row unless one with the same unique `key` exists; return the new id or None.

    One plain statement per table, built once, the values sent as its parameters on the
    session's connection (no ORM execution); the session's pending changes are flushed
    first, as before an ORM statement."""
    if session.autoflush:
        session.flush()
    statement = insert_once_statement(model.__table__, key, session.get_bind().dialect.name)
    return connection_of(session).execute(statement, values).scalar_one_or_none()


@cache
def insert_once_statement(table: Table, key: str, dialect: str) -> Insert:
    """`INSERT … ON CONFLICT (key) DO NOTHING RETURNING id` for `table` (built once)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)


def insert_many_once(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    key: str,
    returning: Column[Any] | Any,
) -> list[Any]:
    """`insert_once` for many rows: `INSERT … ON CONFLICT DO NOTHING`, in few statements.

    Returns the `returning` column of the rows actually inserted.
    """
    if not rows:
        return []
    if session.autoflush:
        session.flush()
    dialect = session.get_bind().dialect.name
    statement = _insert_many_once(model.__table__, key, returning.key, dialect)
    # An executemany: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues").
    return list(connection_of(session).execute(statement, list(rows)).scalars().all())


@cache
def _insert_many_once(table: Table, key: str, returning: str, dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[returning])
