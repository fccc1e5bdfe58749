"""holidays table, 监督查评 verification samples, malicious raters, survey-line calls

Also marks the calls to the survey line that rated themselves (no agent leg, agent,
department or tickets; they ran the rating flow with nothing offered) as
`kind = 'survey_line'`, so that their department-less ratings leave the figures.
"""

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.migrations.shapes import authored, create_table, filled_in_by, sample_draw

revision: str = "0007"
down_revision: str | None = "0005"

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
    create_table(
        "holiday_years",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("notice", sa.String(length=200), nullable=False),
        sa.Column("days_off", sa.Integer(), nullable=False),
        sa.Column("make_up_days", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTC, nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        unique=["year"],
    )
    create_table(
        "holidays",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        unique=["day"],
    )
    op.create_index(op.f("ix_holidays_year"), "holidays", ["year"], unique=False)
    create_table(
        "verification_checks",
        *authored("created", UTC),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        *sample_draw(),
        references={"created_by_id": ("users", "SET NULL")},
    )
    create_table(
        "verification_items",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *filled_in_by("recorded", UTC),
        parent=("check_id", "verification_checks"),
        references={"call_id": ("calls", "CASCADE"), "recorded_by_id": ("users", "SET NULL")},
        unique=["check_id", "call_id"],
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
    create_table(
        "malicious_raters",
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("approved_at", UTC, nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        references={"call_id": ("calls", "CASCADE"), "callback_id": ("callbacks", "CASCADE")},
        unique=["callback_id"],
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
