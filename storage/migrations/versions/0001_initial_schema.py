"""initial schema"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.shapes import (
    batch_create_indexes,
    batch_drop_indexes,
    create_table,
    timestamps,
)

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    create_table(
        "api_tokens",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        unique=["token_hash"],
    )
    create_table(
        "calls",
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=True),
        sa.Column("called", sa.String(length=32), nullable=True),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("call_status", sa.String(length=16), nullable=True),
        sa.Column("dial_call_status", sa.String(length=16), nullable=True),
        *timestamps(sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        unique=["call_sid"],
    )
    batch_create_indexes("calls", "dept", "updated_at")

    create_table(
        "outbox_jobs",
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("func", sa.String(length=128), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        unique=["dedupe_key"],
    )
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_jobs_pending", ["done_at", "enqueued_at"], unique=False)

    create_table(
        "call_events",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        parent=("call_id", "calls"),
    )
    batch_create_indexes("call_events", "call_id")

    create_table(
        "call_tickets",
        sa.Column("ticket", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        parent=("call_id", "calls"),
        unique=["call_id", "ticket"],
    )
    batch_create_indexes("call_tickets", "ticket")

    create_table(
        "ratings",
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        parent=("call_id", "calls"),
        unique=["call_id"],
    )
    create_table(
        "callbacks",
        sa.Column("rating_id", sa.Integer(), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("rectify_due_at", sa.DateTime(timezone=True), nullable=True),
        *timestamps(sa.DateTime(timezone=True)),
        parent=("call_id", "calls"),
        references={"rating_id": ("ratings", "CASCADE")},
        unique=["call_id"],
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callbacks_dept"), ["dept"], unique=False)
        batch_op.create_index("ix_callbacks_state_due_at", ["state", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_callbacks_state_due_at")
        batch_op.drop_index(batch_op.f("ix_callbacks_dept"))

    op.drop_table("callbacks")
    op.drop_table("ratings")
    batch_drop_indexes("call_tickets", "ticket")
    op.drop_table("call_tickets")
    batch_drop_indexes("call_events", "call_id")
    op.drop_table("call_events")
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_jobs_pending")

    op.drop_table("outbox_jobs")
    batch_drop_indexes("calls", "updated_at", "dept")
    op.drop_table("calls")
    op.drop_table("api_tokens")
