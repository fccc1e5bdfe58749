"""callbacks: clocks from the forwarding, assignee, spread attempts, 会商, deliveries"""

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.migrations.shapes import add_reference_key, create_table

revision: str = "0006"
down_revision: str | None = "0011"  # was "0005"; re-chained after merging main (0007, 0011)


def upgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_start_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("contact_due_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "contact_overdue", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("round", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("attempt_times", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("due_soon_sent", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_callbacks_assignee_id"), ["assignee_id"])
        add_reference_key(batch_op, "callbacks", "assignee_id", "users", "SET NULL")
    op.execute("UPDATE callbacks SET clock_start_at = created_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    with op.batch_alter_table("figures_daily", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("realname_unconfirmed", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("anonymous_bad", sa.Integer(), server_default="0", nullable=False)
        )
    create_table(
        "callback_consults",
        sa.Column("dept", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        parent=("callback_id", "callbacks"),
        unique=["callback_id", "dept"],
    )
    op.create_index(op.f("ix_callback_consults_dept"), "callback_consults", ["dept"])
    create_table(
        "notification_deliveries",
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=True),
        references={"notification_id": ("notifications", "CASCADE")},
        unique=["dedupe_key"],
    )
    op.create_index(
        op.f("ix_notification_deliveries_notification_id"),
        "notification_deliveries",
        ["notification_id"],
    )
    op.create_index(
        op.f("ix_notification_deliveries_status"), "notification_deliveries", ["status"]
    )
    # The inbox counts a user's unread notifications by kind.
    op.create_index("ix_notifications_user_id_read_at", "notifications", ["user_id", "read_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_user_id_read_at", table_name="notifications")
    op.drop_table("notification_deliveries")
    op.drop_table("callback_consults")
    with op.batch_alter_table("figures_daily", schema=None) as batch_op:
        batch_op.drop_column("anonymous_bad")
        batch_op.drop_column("realname_unconfirmed")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_callbacks_assignee_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_callbacks_assignee_id"))
        for column in (
            "due_soon_sent",
            "assignee_id",
            "attempt_times",
            "round",
            "contact_overdue",
            "contact_due_at",
            "clock_start_at",
        ):
            batch_op.drop_column(column)
