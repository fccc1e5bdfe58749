"""console names: agents (话务员) with the names the console shows for their codes;
spot-check answers that override the record's fact; served calls and the five levels
in the daily figures
"""

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.migrations.shapes import create_table

revision: str = "0011"
down_revision: str | None = "0007"  # was "0005"; re-chained after merging main
FIGURE_COLUMNS = (
    "served",
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
)


def upgrade() -> None:
    create_table(
        "agents",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        unique=["code"],
    )
    op.create_index(op.f("ix_agents_dept"), "agents", ["dept"], unique=False)
    with op.batch_alter_table("spot_check_items") as batch:
        batch.add_column(sa.Column("overrides", sa.JSON(), nullable=True))
    with op.batch_alter_table("figures_daily") as batch:
        for name in FIGURE_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.execute("DELETE FROM figures_state")  # the next refresh rebuilds every day
    op.create_index("ix_calls_agent_created_at", "calls", ["agent", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_calls_agent_created_at", table_name="calls")
    with op.batch_alter_table("figures_daily") as batch:
        for name in FIGURE_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table("spot_check_items") as batch:
        batch.drop_column("overrides")
    op.drop_index(op.f("ix_agents_dept"), table_name="agents")
    op.drop_table("agents")
