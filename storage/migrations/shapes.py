"""Table shapes the migrations repeat: a table's id, keys and single-column indexes.

The rule: a migration that calls a helper here depends on what it emits today, forever.
A helper must never change what it emits (names, order, types, options); a new shape
gets a new helper. Before and after any edit of a migration or of this module, the SQL
of the whole chain (`alembic upgrade base:head --sql` on PostgreSQL, and the statements
an online upgrade and downgrade run on SQLite and PostgreSQL) must be identical.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations


def create_table(
    name: str,
    *columns: sa.Column,
    parent: tuple[str, str] | None = None,
    references: dict[str, tuple[str, str | None]] | None = None,
    unique: Iterable[str] = (),
) -> None:
    """Create table `name` with an integer `id` primary key before `columns`.

    `parent` = (column, table): the first column after `id` is a non-null reference to the
    row of `table` that this row belongs to and goes with (ON DELETE CASCADE).
    `references` maps other columns to (the table whose `id` they reference, ON DELETE);
    `unique` lists the columns of the table's one unique constraint. Foreign keys come in
    the order of their columns' names (as autogenerate writes them); constraint names
    follow the project's convention: fk_<table>_<column>_<target>, pk_<table>,
    uq_<table>_<first column>.
    """
    references = dict(references or {})
    if parent is not None:
        column, target = parent
        columns = (sa.Column(column, sa.Integer(), nullable=False), *columns)
        references[column] = (target, "CASCADE")
    keys: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(
            [column],
            [f"{target}.id"],
            name=op.f(f"fk_{name}_{column}_{target}"),
            ondelete=ondelete,
        )
        for column, (target, ondelete) in sorted(references.items())
    ]
    keys.append(sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")))
    unique = list(unique)
    if unique:
        keys.append(sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{unique[0]}")))
    op.create_table(name, sa.Column("id", sa.Integer(), nullable=False), *columns, *keys)


def batch_create_indexes(table: str, *columns: str) -> None:
    """One non-unique index per column, named ix_<table>_<column>, in a batch block."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def batch_drop_indexes(table: str, *columns: str) -> None:
    """Drop the indexes `batch_create_indexes(table, *columns)` made, in that order."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))


def counters(*names: str) -> list[sa.Column]:
    """Non-null integer columns: the daily figures' counts."""
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def authored(action: str, timestamp: sa.types.TypeEngine) -> list[sa.Column]:
    """When and by whom a row was `action`-ed: <action>_at, <action>_by_id (the user,
    kept null when the user goes) and <action>_by_name (kept as written)."""
    return [
        sa.Column(f"{action}_at", timestamp, nullable=False),
        sa.Column(f"{action}_by_id", sa.Integer(), nullable=True),
        sa.Column(f"{action}_by_name", sa.String(length=64), nullable=False),
    ]


def sample_draw() -> list[sa.Column]:
    """How a random sample was drawn: its seed, the rate or count asked, the population."""
    return [
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Double(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
    ]


def filled_in_by(action: str, timestamp: sa.types.TypeEngine) -> list[sa.Column]:
    """Who `action`-ed a row later, and when: <action>_by_id, <action>_by_name and
    <action>_at, all null until then."""
    return [
        sa.Column(f"{action}_by_id", sa.Integer(), nullable=True),
        sa.Column(f"{action}_by_name", sa.String(length=64), nullable=True),
        sa.Column(f"{action}_at", timestamp, nullable=True),
    ]


def timestamps(timestamp: sa.types.TypeEngine) -> list[sa.Column]:
    """When a row was created and last updated: created_at, updated_at (non-null)."""
    return [
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
    ]


def add_reference_key(
    batch_op: BatchOperations, table: str, column: str, target: str, ondelete: str | None = None
) -> None:
    """In a batch on `table`: make `column` reference `target`.id, named
    fk_<table>_<column>_<target>."""
    batch_op.create_foreign_key(
        batch_op.f(f"fk_{table}_{column}_{target}"), target, [column], ["id"], ondelete=ondelete
    )
