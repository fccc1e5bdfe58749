"""media streams: one row per bidirectional stream of a survey question

Revision ID: 0012
Revises: 0007 (0005 on its branch; re-chained when main was merged)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | None = "0006"  # re-chained after 0006 when merging
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("stream_key", sa.String(length=64), nullable=False),
        sa.Column("stream_sid", sa.String(length=64), nullable=True),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("digits", sa.String(length=8), nullable=True),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("decided_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_media_streams_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_media_streams_recording_id_recordings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_streams")),
        sa.UniqueConstraint("stream_key", name=op.f("uq_media_streams_stream_key")),
    )
    op.create_index(op.f("ix_media_streams_call_id"), "media_streams", ["call_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_streams_call_id"), table_name="media_streams")
    op.drop_table("media_streams")
