"""holidays table, 监督查评 verification samples, malicious raters, survey-line calls

Also marks the calls to the survey line that rated themselves (no agent leg, agent,
department or tickets; they ran the rating flow with nothing offered) as
`kind = 'survey_line'`, so that their department-less ratings leave the figures.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = storage.types.UTCDateTime(timezone=True)

LEGACY_SURVEY_LINE = """
UPDATE calls SET kind = 'survey_line'
WHERE kind = 'hotline'
  AND dial_call_status IS NULL AND agent IS NULL AND dept IS NULL
  AND NOT EXISTS (SELECT 1 FROM call_tickets t WHERE t.call_id = calls.id)
  AND EXISTS (
    SELECT 1 FROM call_events e
    WHERE e.call_id = calls.id AND e.kind = 'survey_started' AND e.detail IS NULL
  )
  AND NOT EXISTS (
    SELECT 1 FROM call_events e
    WHERE e.call_id = calls.id AND e.kind = 'survey_requested'
  )
"""


def upgrade() -> None:
    op.create_table(
        "holiday_years",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("notice", sa.String(length=200), nullable=False),
        sa.Column("days_off", sa.Integer(), nullable=False),
        sa.Column("make_up_days", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTC, nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_years")),
        sa.UniqueConstraint("year", name=op.f("uq_holiday_years_year")),
    )
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
        sa.UniqueConstraint("day", name=op.f("uq_holidays_day")),
    )
    op.create_index(op.f("ix_holidays_year"), "holidays", ["year"], unique=False)
    op.create_table(
        "verification_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Double(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_verification_checks_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_checks")),
    )
    op.create_table(
        "verification_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_verification_items_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["verification_checks.id"],
            name=op.f("fk_verification_items_check_id_verification_checks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_verification_items_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_items")),
        sa.UniqueConstraint("check_id", "call_id", name=op.f("uq_verification_items_check_id")),
    )
    op.create_index(
        op.f("ix_verification_items_call_id"), "verification_items", ["call_id"], unique=False
    )
    op.create_index(
        "ix_verification_items_outcome_at",
        "verification_items",
        ["outcome", "recorded_at"],
        unique=False,
    )
    op.create_table(
        "malicious_raters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("approved_at", UTC, nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_malicious_raters_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_malicious_raters_callback_id_callbacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_malicious_raters")),
        sa.UniqueConstraint("callback_id", name=op.f("uq_malicious_raters_callback_id")),
    )
    op.create_index(
        op.f("ix_malicious_raters_number_hash"), "malicious_raters", ["number_hash"], unique=False
    )
    op.execute(LEGACY_SURVEY_LINE)


def downgrade() -> None:
    op.execute("UPDATE calls SET kind = 'hotline' WHERE kind = 'survey_line'")
    op.drop_index(op.f("ix_malicious_raters_number_hash"), table_name="malicious_raters")
    op.drop_table("malicious_raters")
    op.drop_index("ix_verification_items_outcome_at", table_name="verification_items")
    op.drop_index(op.f("ix_verification_items_call_id"), table_name="verification_items")
    op.drop_table("verification_items")
    op.drop_table("verification_checks")
    op.drop_index(op.f("ix_holidays_year"), table_name="holidays")
    op.drop_table("holidays")
    op.drop_table("holiday_years")
