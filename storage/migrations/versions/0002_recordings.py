"""recordings"""

import sqlalchemy as sa
from alembic import op

from storage.migrations.shapes import (
    add_reference_key,
    batch_create_indexes,
    batch_drop_indexes,
    create_table,
    timestamps,
)

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    create_table(
        "recordings",
        sa.Column("recording_sid", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("duration_seconds", sa.Double(), nullable=True),
        sa.Column("file_key", sa.String(length=255), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("recognized_level", sa.String(length=32), nullable=True),
        sa.Column("certain", sa.Boolean(), nullable=True),
        sa.Column("confirmed_level", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *timestamps(sa.DateTime(timezone=True)),
        parent=("call_id", "calls"),
        unique=["recording_sid"],
    )
    batch_create_indexes("recordings", "call_id")

    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_id", sa.Integer(), nullable=True))
        add_reference_key(batch_op, "ratings", "recording_id", "recordings", "SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ratings_recording_id_recordings"), type_="foreignkey"
        )
        batch_op.drop_column("recording_id")

    batch_drop_indexes("recordings", "call_id")
    op.drop_table("recordings")
