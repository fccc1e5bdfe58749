"""What each fault test reports: calls placed, keys pressed, ratings stored, callbacks
opened, ratings lost (must be 0), per fault and database.

Each report is printed and appended to ``tests/output/fault-report.txt``, so a run on
SQLite and one on PostgreSQL (``python -m tests.postgres_cluster -- pytest ...``) leave
one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from storage.models import Call, Callback, Rating

REPORT = Path(__file__).resolve().parent / "output" / "fault-report.txt"


@dataclass(frozen=True)
class FaultReport:
    fault: str
    database: str
    calls_placed: int
    keys_pressed: int
    ratings_stored: int
    callbacks_opened: int
    ratings_lost: int

    def line(self) -> str:
        return (
            f"{self.fault:<28} {self.database:<10} calls placed {self.calls_placed:4d}  "
            f"keys pressed {self.keys_pressed:4d}  ratings stored {self.ratings_stored:4d}  "
            f"callbacks opened {self.callbacks_opened:4d}  ratings lost {self.ratings_lost}"
        )


def count_fault(fault: str, sessions, calls: list[str], pressed: dict[str, str]) -> FaultReport:
    """Count what the calls `calls` left, against `pressed` (CallSid -> level keyed)."""
    with sessions() as session:
        database = session.get_bind().dialect.name
        levels = dict(
            session.execute(
                select(Call.call_sid, Rating.level)
                .join(Rating, Rating.call_id == Call.id)
                .where(Call.call_sid.in_(calls), Rating.source != "default")
            ).all()
        )
        callbacks = session.scalar(
            select(func.count())
            .select_from(Callback)
            .join(Call, Callback.call_id == Call.id)
            .where(Call.call_sid.in_(calls))
        )
    lost = sum(1 for sid, level in pressed.items() if levels.get(sid) != level)
    return FaultReport(fault, database, len(calls), len(pressed), len(levels), callbacks, lost)


def report_fault(fault: str, sessions, calls: list[str], pressed: dict[str, str]) -> FaultReport:
    """`count_fault`, printed and added to the report file."""
    result = count_fault(fault, sessions, calls, pressed)
    print(result.line())
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as out:
        out.write(result.line() + "\n")
    return result
