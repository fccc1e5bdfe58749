"""later ratings, closure surveys, proxy links, SMS reminders and opt-outs

Calls get their survey `kind`, the call a later rating rates, and the linked party.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:47:57.357773
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "sms_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_opt_outs")),
        sa.UniqueConstraint("number", name=op.f("uq_sms_opt_outs_number")),
    )
    op.create_table(
        "closure_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_closure_surveys_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closure_surveys")),
        sa.UniqueConstraint("ticket", name=op.f("uq_closure_surveys_ticket")),
    )
    op.create_table(
        "sms_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_sms_reminders_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_reminders")),
        sa.UniqueConstraint("call_id", name=op.f("uq_sms_reminders_call_id")),
    )
    with op.batch_alter_table("sms_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_reminders_number"), ["number"], unique=False)
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
        batch_op.create_foreign_key(
            batch_op.f("fk_calls_linked_call_id_calls"),
            "calls",
            ["linked_call_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_calls_rates_call_id_calls"),
            "calls",
            ["rates_call_id"],
            ["id"],
            ondelete="SET NULL",
        )


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
