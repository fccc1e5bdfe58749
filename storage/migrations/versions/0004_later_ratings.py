"""later ratings, closure surveys, proxy links, SMS reminders and opt-outs

Calls get their survey `kind`, the call a later rating rates, and the linked party.
"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.shapes import (
    add_reference_key,
    batch_create_indexes,
    create_table,
    timestamps,
)

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    create_table(
        "sms_opt_outs",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        unique=["number"],
    )
    create_table(
        "closure_surveys",
        sa.Column("ticket", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        *timestamps(sa.DateTime(timezone=True)),
        references={"call_id": ("calls", "SET NULL")},
        unique=["ticket"],
    )
    create_table(
        "sms_reminders",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        parent=("call_id", "calls"),
        unique=["call_id"],
    )
    batch_create_indexes("sms_reminders", "number")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind", sa.String(length=16), server_default=sa.text("'hotline'"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("rates_call_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("linked_call_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_calls_linked_call_id"), ["linked_call_id"], unique=False
        )
        add_reference_key(batch_op, "calls", "linked_call_id", "calls", "SET NULL")
        add_reference_key(batch_op, "calls", "rates_call_id", "calls", "SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_calls_rates_call_id_calls"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_calls_linked_call_id_calls"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_calls_linked_call_id"))
        batch_op.drop_column("linked_call_id")
        batch_op.drop_column("rates_call_id")
        batch_op.drop_column("kind")

    op.drop_table("sms_reminders")
    op.drop_table("closure_surveys")
    op.drop_table("sms_opt_outs")
