"""supervisors console: audit trail, daily figures rollup, spot checks, calls by day"""

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.migrations.shapes import (
    authored,
    batch_create_indexes,
    batch_drop_indexes,
    counters,
    create_table,
    filled_in_by,
    sample_draw,
)

revision: str = "0005"
down_revision: str | None = "0004"

UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    create_table(
        "figures_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        *counters("calls", "rated", "active"),
        *counters("good", "neutral", "bad", "excluded", "not_adopted"),
        *counters("cb_settled", "cb_in_time", "cb_pending", "rect_settled", "rect_on_time"),
        *counters("realname_bad", "realname_followed"),
        unique=["day", "dept", "agent"],
    )
    batch_create_indexes("figures_daily", "day")

    create_table(
        "figures_state",
        sa.Column("refreshed_until", UTC, nullable=False),
    )
    create_table(
        "audit_entries",
        sa.Column("at", UTC, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        references={"user_id": ("users", "SET NULL")},
    )
    batch_create_indexes("audit_entries", "at")

    create_table(
        "spot_checks",
        *authored("created", UTC),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=True),
        *sample_draw(),
        sa.Column("note", sa.Text(), nullable=True),
        references={"created_by_id": ("users", "SET NULL")},
    )
    create_table(
        "spot_check_items",
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("finding", sa.Text(), nullable=True),
        *filled_in_by("scored", UTC),
        parent=("spot_check_id", "spot_checks"),
        references={"callback_id": ("callbacks", "CASCADE"), "scored_by_id": ("users", "SET NULL")},
        unique=["spot_check_id", "callback_id"],
    )
    with op.batch_alter_table("spot_check_items", schema=None) as batch_op:
        batch_op.create_index("ix_spot_check_items_callback_id", ["callback_id"], unique=False)

    create_table(
        "public_cases",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        parent=("call_id", "calls"),
        references={"created_by_id": ("users", "SET NULL")},
        unique=["call_id"],
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
    batch_drop_indexes("audit_entries", "at")
    op.drop_table("audit_entries")
    op.drop_table("figures_state")
    batch_drop_indexes("figures_daily", "day")
    op.drop_table("figures_daily")
