"""Good and bad cases chosen for publication (方案 三), with a summary free of personal data."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Call, PublicCase, User
from storage.reports.figures import Period
from storage.workflow.deadlines import end_of_day, start_of_day

MAX_TITLE = 100
MAX_SUMMARY = 2000
# Seven digits or more, whatever stands between them (spaces, - _ . / brackets): a
# phone or id number, also written 138_1111_2222, 138.1111.2222 or in Chinese numerals.
LONG_NUMBER = re.compile(r"\d(?:[\s\-_.,，、·/\\()（）—]*\d){6,}")
CHINESE_DIGITS = str.maketrans(
    "〇零○幺一壹二贰两三叁四肆五伍六陆七柒八捌九玖", "00011122233445566778899"
)


def contains_long_number(text: str) -> bool:
    """Whether `text` holds a phone or id number in any common spelling."""
    plain = unicodedata.normalize("NFKC", text).translate(CHINESE_DIGITS)
    return LONG_NUMBER.search(plain) is not None


class CaseError(ValueError):
    """A case that cannot be published as asked; the message (Chinese) says why."""


def choose(session: Session, user: User, call: Call, title: str, summary: str) -> PublicCase:
    """Choose `call` as a public case (its kind from the rating), or update its text."""
    rating = call.rating
    if rating is None or rating.excluded or rating.category == "neutral":
        raise CaseError("只有计入统计的好评或差评可以选为公开案例。")
    title, summary = title.strip(), summary.strip()
    if not title or not summary:
        raise CaseError("请填写案例标题和摘要。")
    if len(title) > MAX_TITLE or len(summary) > MAX_SUMMARY:
        raise CaseError(f"标题不超过 {MAX_TITLE} 字，摘要不超过 {MAX_SUMMARY} 字。")
    if contains_long_number(title + " " + summary):
        raise CaseError("案例中不得包含电话号码、证件号等个人信息。")
    case = session.scalars(select(PublicCase).where(PublicCase.call_id == call.id)).first()
    if case is None:
        case = PublicCase(call_id=call.id, created_by_id=user.id, created_by_name=user.username)
        session.add(case)
    case.kind, case.title, case.summary = rating.category, title, summary
    return case


def withdraw(session: Session, call_id: int) -> bool:
    """Take the call's case off the public summary; True if there was one."""
    case = session.scalars(select(PublicCase).where(PublicCase.call_id == call_id)).first()
    if case is not None:
        session.delete(case)
    return case is not None


def cases(session: Session, period: Period) -> list[tuple[PublicCase, str | None]]:
    """The period's cases (by the call's day) with the call's department, good first."""
    statement = (
        select(PublicCase, Call.dept)
        .join(Call, Call.id == PublicCase.call_id)
        .where(
            Call.created_at >= start_of_day(period.start),
            Call.created_at < end_of_day(period.end),
        )
        .order_by(PublicCase.kind.desc(), PublicCase.id)
    )
    return [(case, dept) for case, dept in session.execute(statement)]
