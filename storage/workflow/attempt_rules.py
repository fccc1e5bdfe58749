"""When failed call-back attempts make a callback `unreachable` (no dodging).

A callback becomes `unreachable` only after `CALLBACK_MAX_ATTEMPTS` (3) failed attempts
spread over at least `CALLBACK_ATTEMPT_DAYS` (2) calendar days of the hotline
(`HOTLINE_TZ`), each at least `CALLBACK_ATTEMPT_GAP_HOURS` (2) after the one before.
An attempt logged sooner than the gap is refused with the time from which to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.settings import settings
from storage.workflow import deadlines

DEFAULT_ATTEMPTS = 3
DEFAULT_DAYS = 2
DEFAULT_GAP_HOURS = 2.0


def counted(stored: list[str] | None) -> list[datetime]:
    """The counted attempt times kept on a callback (ISO strings), as datetimes."""
    return [datetime.fromisoformat(text) for text in stored or []]


def days_spanned(times: list[datetime]) -> int:
    """How many distinct hotline calendar days the attempts fall on."""
    tz = deadlines.hotline_tz()
    return len({deadlines.local_day(t, tz) for t in times})


@dataclass(frozen=True)
class AttemptRules:
    """The three settings (`CALLBACK_MAX_ATTEMPTS`, `CALLBACK_ATTEMPT_DAYS`, `…_GAP_HOURS`)."""

    attempts: int = DEFAULT_ATTEMPTS
    days: int = DEFAULT_DAYS
    gap: timedelta = timedelta(hours=DEFAULT_GAP_HOURS)

    @classmethod
    def from_env(cls, attempts: int | None = None) -> AttemptRules:
        configured = settings()
        return cls(
            attempts=attempts or configured.callback_max_attempts,
            days=configured.callback_attempt_days,
            gap=timedelta(hours=configured.callback_attempt_gap_hours),
        )

    def soon_enough(self, times: list[datetime], now: datetime) -> str | None:
        """Why an attempt at `now` is too soon after the last counted one, or None."""
        if not times or now - times[-1] >= self.gap:
            return None
        hours = self.gap.total_seconds() / 3600
        tz = deadlines.hotline_tz()
        last = times[-1].astimezone(tz).strftime("%m月%d日 %H:%M:%S")
        retry = (times[-1] + self.gap).astimezone(tz).strftime("%m月%d日 %H:%M:%S")
        return (
            f"距上次未接通的回访尝试（{last}）不足 {hours:g} 小时，本次不予登记："
            f"请于 {retry} 之后再次拨打并登记。"
        )

    def unreachable(self, times: list[datetime]) -> bool:
        """Whether the counted attempts are enough to call the caller unreachable."""
        return len(times) >= self.attempts and days_spanned(times) >= self.days

    def explain(self, times: list[datetime]) -> str:
        """What is still needed before `unreachable`, in Chinese, for the page."""
        hours = self.gap.total_seconds() / 3600
        spanned = days_spanned(times)
        done = f"已计入 {len(times)} 次未接通（跨 {spanned} 个自然日）。" if times else ""
        return (
            f"{done}标记为无法联系须至少 {self.attempts} 次未接通、跨至少 {self.days} 个自然日、"
            f"每次间隔不少于 {hours:g} 小时。"
        )
