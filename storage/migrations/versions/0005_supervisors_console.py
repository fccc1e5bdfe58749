"""supervisors console: audit trail, daily figures rollup, spot checks, calls by day


Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 16:47:11.501217
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figures_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("good", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("bad", sa.Integer(), nullable=False),
        sa.Column("excluded", sa.Integer(), nullable=False),
        sa.Column("not_adopted", sa.Integer(), nullable=False),
        sa.Column("cb_settled", sa.Integer(), nullable=False),
        sa.Column("cb_in_time", sa.Integer(), nullable=False),
        sa.Column("cb_pending", sa.Integer(), nullable=False),
        sa.Column("rect_settled", sa.Integer(), nullable=False),
        sa.Column("rect_on_time", sa.Integer(), nullable=False),
        sa.Column("realname_bad", sa.Integer(), nullable=False),
        sa.Column("realname_followed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figures_daily")),
        sa.UniqueConstraint("day", "dept", "agent", name=op.f("uq_figures_daily_day")),
    )
    with op.batch_alter_table("figures_daily", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_figures_daily_day"), ["day"], unique=False)

    op.create_table(
        "figures_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_until", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figures_state")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_entries_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_at"), ["at"], unique=False)

    op.create_table(
        "spot_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Double(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_spot_checks_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_checks")),
    )
    op.create_table(
        "spot_check_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spot_check_id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("scored_by_id", sa.Integer(), nullable=True),
        sa.Column("scored_by_name", sa.String(length=64), nullable=True),
        sa.Column("scored_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_spot_check_items_callback_id_callbacks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scored_by_id"],
            ["users.id"],
            name=op.f("fk_spot_check_items_scored_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spot_check_id"],
            ["spot_checks.id"],
            name=op.f("fk_spot_check_items_spot_check_id_spot_checks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check_items")),
        sa.UniqueConstraint(
            "spot_check_id", "callback_id", name=op.f("uq_spot_check_items_spot_check_id")
        ),
    )
    with op.batch_alter_table("spot_check_items", schema=None) as batch_op:
        batch_op.create_index("ix_spot_check_items_callback_id", ["callback_id"], unique=False)

    op.create_table(
        "public_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_public_cases_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_public_cases_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_cases")),
        sa.UniqueConstraint("call_id", name=op.f("uq_public_cases_call_id")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_created_at")

    with op.batch_alter_table("spot_check_items", schema=None) as batch_op:
        batch_op.drop_index("ix_spot_check_items_callback_id")

    op.drop_table("public_cases")
    op.drop_table("spot_check_items")
    op.drop_table("spot_checks")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_at"))

    op.drop_table("audit_entries")
    op.drop_table("figures_state")
    with op.batch_alter_table("figures_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_figures_daily_day"))

    op.drop_table("figures_daily")
