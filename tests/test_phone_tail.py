"""The header search by a caller's last 4 digits reads an indexed column (`caller_tail`),
kept wherever a call is written: the webhooks, the kept-key spool replay, the seeding,
and the migration that filled it for the calls there were."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, select

from storage.access.privacy import phone_tail
from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from storage.models import Call
from storage.records.calls import CallDetails
from storage.records.kept import apply_entries, entry
from storage.seed import SeedPlan, seed_calls
from storage.types import UTCDateTime, utcnow
from tests.console_helpers import login, make_people

pytestmark = pytest.mark.usefixtures("fast_hashing")


def found(client, tail: str) -> int:
    """How many calls the header search by `tail` reports."""
    page = client.get(f"/console/search?q={tail}").get_data(as_text=True)
    if "没有找到" in page:
        return 0
    return int(page.split("共 <strong>", 1)[1].split("</strong>", 1)[0])


def tails(sessions) -> dict[str, str | None]:
    with sessions() as session:
        return dict(session.execute(select(Call.call_sid, Call.caller_tail)).all())


def test_the_tail_is_the_last_four_digits_whatever_the_format():
    assert phone_tail("+8613812345678") == "5678"
    assert phone_tail("+86 138-1234-0042") == "0042"
    assert phone_tail("4321") == "4321"
    for nothing in (None, "", "anonymous", "+123"):
        assert phone_tail(nothing) is None


def test_a_call_placed_through_the_webhooks_is_found_by_its_tail(place_call, client, sessions):
    make_people(sessions)
    place_call("5", caller="+8613900002468")
    place_call("1", caller="+8613900002468")
    place_call("5", caller="+8613924680000")  # the digits elsewhere in the number
    place_call("5", caller="anonymous")
    assert sorted(tails(sessions).values(), key=str) == ["0000", "2468", "2468", None]
    login(client, "li")
    assert found(client, "2468") == 2
    assert found(client, "0000") == 1
    assert found(client, "1357") == 0


def test_a_call_replayed_from_the_spool_is_found_by_its_tail(client, sessions):
    make_people(sessions)
    details = CallDetails(caller="+8613700001357", agent="A07", dept="D-water")
    kept = [
        entry("survey", "CA-kept", details),
        entry("key", "CA-kept", details, level="dissatisfied", source="dtmf"),
    ]
    apply_entries(sessions, kept)
    assert tails(sessions) == {"CA-kept": "1357"}
    login(client, "li")
    assert found(client, "1357") == 1


def test_seeded_calls_carry_their_tails(sessions):
    plan = SeedPlan(calls=300, start=utcnow() - timedelta(days=3), days=3)
    seed_calls(sessions, plan)
    with sessions() as session:
        rows = session.execute(select(Call.caller, Call.caller_tail)).all()
    assert len(rows) == 300 and any(tail for _, tail in rows)
    assert all(tail == phone_tail(caller) for caller, tail in rows)


def test_the_migration_fills_the_tails_of_the_calls_there_were(database_url):
    downgrade(database_url, "0012")
    engine = make_engine(database_url)
    assert "caller_tail" not in {c["name"] for c in inspect(engine).get_columns("calls")}
    calls = sa.table(
        "calls",
        *(sa.column(name) for name in ("call_sid", "caller", "disposition", "kind")),
        *(sa.column(name, UTCDateTime()) for name in ("created_at", "updated_at")),
    )
    callers = {
        "CA1": "+8613812345678",
        "CA2": "+86 150 0000 0042",
        "CA3": None,
        "CA4": "12",
        "CA5": "(0755) 8888-12 34",
        "CA6": "anonymous",
    }
    now = utcnow()
    with engine.begin() as connection:
        for sid, caller in callers.items():
            values = {"call_sid": sid, "caller": caller, "disposition": "rated", "kind": "hotline"}
            connection.execute(sa.insert(calls).values(created_at=now, updated_at=now, **values))
    engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        got = dict(connection.execute(sa.text("SELECT call_sid, caller_tail FROM calls")).all())
        indexes = {i["name"] for i in inspect(connection).get_indexes("calls")}
    engine.dispose()
    assert got == {
        "CA1": "5678",
        "CA2": "0042",
        "CA3": None,
        "CA4": None,
        "CA5": "1234",
        "CA6": None,
    }
    assert "ix_calls_caller_tail" in indexes


def test_the_console_indexes_exist(database_url):
    """Migration 0013's indexes, the expression one included (autogenerate cannot compare
    an index on an expression, so tests/test_migrations.py does not see it)."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        indexes = {
            i["name"] for t in ("calls", "callbacks") for i in inspect(connection).get_indexes(t)
        }
        if engine.dialect.name == "sqlite":
            found = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            found = "SELECT indexname FROM pg_indexes WHERE tablename = 'callbacks'"
        indexes |= set(connection.execute(sa.text(found)).scalars())
    engine.dispose()
    wanted = {"ix_calls_dept_created_at", "ix_callbacks_board", "ix_callbacks_created_at"}
    assert wanted | {"ix_callbacks_deadline", "ix_calls_caller_tail"} <= indexes
