"""Media streams: one row per `<Connect><Stream>` the service offered and Twilio opened.

The media process claims the row when the stream starts (a stream key is used once:
a replayed token finds it taken) and stores there what the caller did: a key, a
spoken result (its recording holds the level), silence, or a hang-up. The web's
`<Connect action>` handler continues the flow from that stored decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import inserts  # a module: storage.models imports this one while loading
from storage.models import Base
from storage.types import utcnow

# What the caller did on the stream (`MediaStream.outcome`).
STREAM_KEY = "key"  # a key was pressed (`digits`)
STREAM_SPOKEN = "spoken"  # speech was decoded (the recording holds the level, if any)
STREAM_SILENT = "silent"  # nothing was said or pressed before the timeout
STREAM_HUNG_UP = "hung_up"  # the caller left (Twilio's `stop`) before a decision
STREAM_OUTCOMES = (STREAM_KEY, STREAM_SPOKEN, STREAM_SILENT, STREAM_HUNG_UP)


class MediaStream(Base):
    """A bidirectional media stream of one question of a call's survey."""

    __tablename__ = "media_streams"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    stream_key: Mapped[str] = mapped_column(String(64), unique=True)
    stream_sid: Mapped[str | None] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))
    digits: Mapped[str | None] = mapped_column(String(8))
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


def claim_stream(
    session: Session, call_id: int, stream_key: str, stream_sid: str, node: str
) -> MediaStream | None:
    """Claim `stream_key` for this stream; None if it was claimed before (a replay)."""
    values = {
        "call_id": call_id,
        "stream_key": stream_key,
        "stream_sid": stream_sid,
        "node": node,
        "started_at": utcnow(),
    }
    new_id = inserts.insert_once(session, MediaStream, values, "stream_key")
    return None if new_id is None else session.get_one(MediaStream, new_id)


def find_stream(session: Session, stream_key: str) -> MediaStream | None:
    """The stream with `stream_key`, or None."""
    statement = select(MediaStream).where(MediaStream.stream_key == stream_key)
    return session.scalars(statement).one_or_none()


def decide(
    stream: MediaStream,
    outcome: str,
    *,
    digits: str | None = None,
    recording_id: int | None = None,
) -> bool:
    """Store what the caller did, once; False if a decision was already stored."""
    if stream.outcome is not None:
        return False
    stream.outcome = outcome
    stream.digits = digits
    stream.recording_id = recording_id
    stream.decided_at = utcnow()
    return True
