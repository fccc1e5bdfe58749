"""Raters found malicious (恶意差评, 追究恶意评价人员的相关责任).

When a supervisor approves a 差评 as malicious, the caller's number is recorded
against it, but only as a keyed hash: HMAC-SHA256 of the number (digits and a
leading +) with a key derived from the app's `SECRET_KEY`. The same number always
gives the same hash, so supervisors see numbers that repeat, and nobody can turn a
hash back into a number without the key. (Changing `SECRET_KEY` starts the count
afresh.) Supervisors reach the calls themselves, whose numbers stay masked and whose
full number is shown on request and audited, as everywhere in the console.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.inserts import insert_once
from storage.models import RESOLUTION_MALICIOUS, Callback
from storage.models_review import MaliciousRater
from storage.settings import app_secret

PURPOSE = b"ivr malicious rater v1"
LABEL_LENGTH = 10


def number_hash(number: str, secret: str | None = None) -> str:
    """The keyed hash of a caller number (hex)."""
    key = hmac.new((secret or app_secret()).encode(), PURPOSE, hashlib.sha256).digest()
    canonical = re.sub(r"[^\d+]", "", number)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def record_malicious_rater(session: Session, callback: Callback, by: str, now: datetime) -> bool:
    """Record the rater of `callback`, approved as malicious; False when there is no number."""
    number = callback.call.caller
    if callback.resolution != RESOLUTION_MALICIOUS or not number:
        return False
    values = {
        "number_hash": number_hash(number),
        "callback_id": callback.id,
        "call_id": callback.call_id,
        "dept": callback.dept,
        "approved_at": now,
        "approved_by": by[:64],
    }
    insert_once(session, MaliciousRater, values, "callback_id")
    return True


@dataclass(frozen=True)
class RepeatRater:
    """A number approved as malicious more than once (shown by a short label of its hash)."""

    label: str
    times: int
    first_at: datetime
    last_at: datetime
    callback_ids: list[int]
    call_ids: list[int]


def repeat_raters(session: Session, at_least: int = 2, limit: int = 100) -> list[RepeatRater]:
    """Numbers approved as malicious `at_least` times, most often first."""
    counts = (
        select(MaliciousRater.number_hash, func.count().label("times"))
        .group_by(MaliciousRater.number_hash)
        .having(func.count() >= at_least)
        .order_by(func.count().desc(), MaliciousRater.number_hash)
        .limit(limit)
    )
    found = session.execute(counts).all()
    rows = session.scalars(
        select(MaliciousRater)
        .where(MaliciousRater.number_hash.in_([h for h, _ in found]))
        .order_by(MaliciousRater.approved_at)
    ).all()
    result = []
    for digest, times in found:
        mine = [row for row in rows if row.number_hash == digest]
        result.append(
            RepeatRater(
                label=digest[:LABEL_LENGTH],
                times=times,
                first_at=mine[0].approved_at,
                last_at=mine[-1].approved_at,
                callback_ids=[row.callback_id for row in mine],
                call_ids=[row.call_id for row in mine],
            )
        )
    return result
