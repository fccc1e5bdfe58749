"""media streams: one row per bidirectional stream of a survey question"""

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.migrations.shapes import create_table

revision: str = "0012"
down_revision: str | None = "0006"  # re-chained after 0006 when merging


def upgrade() -> None:
    create_table(
        "media_streams",
        sa.Column("stream_key", sa.String(length=64), nullable=False),
        sa.Column("stream_sid", sa.String(length=64), nullable=True),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("digits", sa.String(length=8), nullable=True),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("decided_at", storage.types.UTCDateTime(), nullable=True),
        parent=("call_id", "calls"),
        references={"recording_id": ("recordings", "SET NULL")},
        unique=["stream_key"],
    )
    op.create_index(op.f("ix_media_streams_call_id"), "media_streams", ["call_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_streams_call_id"), table_name="media_streams")
    op.drop_table("media_streams")
