"""callback workflow: users, departments, callback events, escalations, notifications

Also the callback's workflow columns, `ratings.excluded` (mistaken/malicious ratings are
not counted) and an index for the default-rating sweep.
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.shapes import (
    add_reference_key,
    batch_create_indexes,
    batch_drop_indexes,
    create_table,
)

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    create_table(
        "users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        unique=["username"],
    )
    batch_create_indexes("users", "dept")

    create_table(
        "departments",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("head_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        references={"head_user_id": ("users", "SET NULL")},
        unique=["code"],
    )
    create_table(
        "callback_events",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("submission_key", sa.String(length=64), nullable=True),
        parent=("callback_id", "callbacks"),
        references={"actor_id": ("users", "SET NULL")},
        unique=["submission_key"],
    )
    batch_create_indexes("callback_events", "callback_id")

    create_table(
        "escalations",
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        references={"callback_id": ("callbacks", "CASCADE")},
        unique=["dedupe_key"],
    )
    batch_create_indexes("escalations", "callback_id")

    create_table(
        "notifications",
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        references={"callback_id": ("callbacks", "CASCADE"), "user_id": ("users", "CASCADE")},
        unique=["dedupe_key"],
    )
    batch_create_indexes("notifications", "callback_id", "user_id")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verdict_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verdict_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verdict_note", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "rectify_due_fallback",
                sa.Boolean(),
                server_default=sa.text("false"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "rectify_overdue", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("rectification", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("feedback", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_callbacks_state_rectify_due_at", ["state", "rectify_due_at"], unique=False
        )
        add_reference_key(batch_op, "callbacks", "verdict_by_id", "users")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_disposition_created_at", ["disposition", "created_at"], unique=False
        )

    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("excluded", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_column("excluded")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_disposition_created_at")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_callbacks_verdict_by_id_users"), type_="foreignkey")
        batch_op.drop_index("ix_callbacks_state_rectify_due_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("feedback")
        batch_op.drop_column("evidence")
        batch_op.drop_column("rectification")
        batch_op.drop_column("rectify_overdue")
        batch_op.drop_column("rectify_due_fallback")
        batch_op.drop_column("verdict_note")
        batch_op.drop_column("verdict_by_id")
        batch_op.drop_column("verdict_at")
        batch_op.drop_column("reached_at")
        batch_op.drop_column("failed_attempts")

    batch_drop_indexes("notifications", "user_id", "callback_id")
    op.drop_table("notifications")
    batch_drop_indexes("escalations", "callback_id")
    op.drop_table("escalations")
    batch_drop_indexes("callback_events", "callback_id")
    op.drop_table("callback_events")
    op.drop_table("departments")
    batch_drop_indexes("users", "dept")
    op.drop_table("users")
