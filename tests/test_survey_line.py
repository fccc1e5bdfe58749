"""The survey line rates only real service (issue 10, item 6).

A call to the survey line stores a rating only against a real hotline call of the
caller's number that is unrated or default-rated and still inside its supplementary
window (24:00 of the call's day + 15, hotline time); with nothing to rate it says so,
stores nothing, gets no reminder and no default, and is not counted in the figures.
A caller's own later rating replaces a default one (the default stays in the history),
and a 差评 opens the callback of that call's department.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

import ivr.voice.survey
from storage.access.tokens import create_token
from storage.db import make_engine, transaction
from storage.migrate import upgrade
from storage.models import Call, CallEvent, SmsReminder
from storage.records.later import window_end
from storage.reports.figures import Period, figures
from storage.reports.figures_rollup import rebuild
from tests.helpers import callbacks_of, count, ratings_of, stored_call
from workers.duties import give_default_ratings
from workers.reminders import queue_reminders

CALLER = "+8613811112222"
SURVEY_LINE = {"agent": None, "dept": None, "tickets": (), "dial_status": None}
# A hotline call at 10:00 Beijing time on 2026-11-01: its window ends at 24:00 on 11-16.
CALL_AT = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)


def hung_up_call(place_call, sessions, at: datetime, caller: str = CALLER, **script) -> str:
    """A hotline call whose caller hung up at the question, made at `at`."""
    call, _ = place_call("hangup", caller=caller, **script)
    with transaction(sessions) as session:
        stored = session.scalars(select(Call).where(Call.call_sid == call.call_sid)).one()
        assert stored.disposition == "hung_up"
        stored.created_at = at
    return call.call_sid


def clock(monkeypatch, now: datetime) -> None:
    """The survey webhook's clock, frozen at `now`."""
    monkeypatch.setattr(ivr.voice.survey, "utcnow", lambda: now)


def events(sessions, sid: str) -> list[tuple[str, str | None]]:
    with sessions() as session:
        statement = (
            select(CallEvent.kind, CallEvent.detail)
            .join(Call)
            .where(Call.call_sid == sid)
            .order_by(CallEvent.id)
        )
        return [tuple(row) for row in session.execute(statement)]


def test_the_window_ends_at_24_00_of_the_fifteenth_day():
    assert window_end(CALL_AT) == WINDOW_END


def test_the_last_second_of_the_window_is_offered(place_call, sessions, monkeypatch):
    earlier = hung_up_call(place_call, sessions, CALL_AT, dept="D-water", tickets=("T9",))
    clock(monkeypatch, WINDOW_END - timedelta(seconds=1))
    later, outcome = place_call("1,4", caller=CALLER, **SURVEY_LINE)
    assert outcome.heard[:3] == ["later_offer", "days_ago_15", "later_options"]
    [rating] = ratings_of(sessions, earlier)
    assert (rating.level, rating.source) == ("dissatisfied", "dtmf")
    [callback] = callbacks_of(sessions, earlier)
    assert callback.dept == "D-water"
    assert stored_call(sessions, later.call_sid).kind == "later"


def test_one_second_later_nothing_is_rated_and_nothing_follows(place_call, sessions, monkeypatch):
    earlier = hung_up_call(place_call, sessions, CALL_AT)
    clock(monkeypatch, WINDOW_END)
    line, outcome = place_call("1,5", caller=CALLER, **SURVEY_LINE)
    assert outcome.heard == ["nothing_to_rate"]
    assert ratings_of(sessions, earlier) == [] and ratings_of(sessions, line.call_sid) == []
    stored = stored_call(sessions, line.call_sid)
    assert (stored.kind, stored.disposition) == ("survey_line", "not_served")
    assert ("nothing_to_rate", "no rateable call of this number") in events(sessions, line.call_sid)
    # No default rating, ever, and no SMS reminder for the call to the survey line.
    monkeypatch.setenv("SMS_REMINDERS", "on")
    monkeypatch.setenv("SURVEY_NUMBER", "+8610012345")
    now = datetime.now(UTC)
    queue_reminders(sessions, now)
    give_default_ratings(sessions, now + timedelta(days=30))
    assert ratings_of(sessions, line.call_sid) == []
    with sessions() as session:
        reminded = session.scalars(select(SmsReminder.call_id)).all()
    assert stored.id not in reminded


def test_a_number_with_nothing_to_rate_is_told_so_every_time(place_call, sessions, post):
    for _ in range(3):
        line, outcome = place_call("5", caller="+8613900000000", **SURVEY_LINE)
        assert outcome.heard == ["nothing_to_rate"]
    _, outcome = place_call("5", caller="", **SURVEY_LINE)  # no caller id
    assert outcome.heard == ["nothing_to_rate"]
    assert count(sessions, CallEvent) > 0
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM ratings")) == 0
    # A repeated start of the same call answers the same; a replayed key press stores nothing.
    form = {"CallSid": line.call_sid, "From": "+8613900000000", "CallStatus": "in-progress"}
    assert "nothing_to_rate.wav" in post("/voice/survey", form).get_data(as_text=True)
    key = {"CallSid": line.call_sid, "Digits": "5"}
    pressed = post("/voice/survey/input?lang=zh-CN&node=ask", key)
    assert "nothing_to_rate.wav" in pressed.get_data(as_text=True)
    assert ratings_of(sessions, line.call_sid) == []


def test_a_call_moved_in_by_the_api_is_the_service_itself(post, sessions):
    sid = "CA" + "5" * 32
    form = {"CallSid": sid, "From": CALLER, "CallStatus": "in-progress"}
    body = post("/voice/survey?lang=zh-CN&moved=1", form).get_data(as_text=True)
    assert "ask_rating.wav" in body and "nothing_to_rate" not in body
    assert stored_call(sessions, sid).kind == "hotline"


def test_the_callers_own_rating_replaces_a_default_one(place_call, sessions, client, monkeypatch):
    earlier = hung_up_call(place_call, sessions, CALL_AT, dept="D-housing", tickets=("T7",))
    assert give_default_ratings(sessions, CALL_AT + timedelta(days=8)) == 1
    [default] = ratings_of(sessions, earlier)
    assert (default.level, default.source) == ("basically_satisfied", "default")
    clock(monkeypatch, CALL_AT + timedelta(days=10))
    later, outcome = place_call("1,5", caller=CALLER, **SURVEY_LINE)
    assert outcome.heard[:2] == ["later_offer", "days_ago_10"]
    [rating] = ratings_of(sessions, earlier)  # still one rating per call
    assert rating.id == default.id
    assert (rating.level, rating.category, rating.source) == ("very_dissatisfied", "bad", "dtmf")
    [callback] = callbacks_of(sessions, earlier)
    assert (callback.dept, callback.state) == ("D-housing", "open")
    kinds = [kind for kind, _ in events(sessions, earlier)]
    assert kinds.count("rated") == 2 and "default_replaced" in kinds
    replaced = dict(events(sessions, earlier))["default_replaced"]
    assert replaced.startswith("basically_satisfied (default, ")
    with sessions.begin() as session:
        token = create_token(session, "work-orders")
    got = client.get(f"/api/v1/calls/{earlier}", headers={"Authorization": f"Bearer {token}"})
    assert got.json["rating"]["level"] == "very_dissatisfied"
    assert got.json["rating"]["source"] == "dtmf"
    assert got.json["callback"]["state"] == "open"
    # Rated by the caller now: the survey line has nothing more to offer.
    _, again = place_call("1,1", caller=CALLER, **SURVEY_LINE)
    assert again.heard == ["nothing_to_rate"]
    # The figures count one rating, the caller's own, as a 差评.
    rebuild(sessions)
    with sessions() as session:
        total, _ = figures(session, Period(CALL_AT.date(), CALL_AT.date()), "dept")
    assert (total.calls, total.rated, total.active, total.bad, total.neutral) == (1, 1, 1, 1, 0)
    assert stored_call(sessions, later.call_sid).kind == "later"


def test_survey_line_calls_never_enter_the_figures(place_call, sessions, monkeypatch):
    hung_up_call(place_call, sessions, CALL_AT, dept="D-water")
    clock(monkeypatch, CALL_AT + timedelta(days=1))
    place_call("1,2", caller=CALLER, **SURVEY_LINE)  # a later rating of the real call
    place_call("5", caller="+8613900000000", **SURVEY_LINE)  # nothing to rate
    with transaction(sessions) as session:
        session.execute(text("UPDATE calls SET created_at = :at"), {"at": CALL_AT})
    rebuild(sessions)
    with sessions() as session:
        total, rows = figures(session, Period(CALL_AT.date(), CALL_AT.date()), "dept")
    assert (total.calls, total.rated, total.good) == (1, 1, 1)
    assert [row.key for row in rows] == ["D-water"]


@pytest.mark.usefixtures("sqlite_only")
def test_the_migration_takes_old_self_rated_survey_line_calls_out_of_the_figures(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0005")
    engine = make_engine(url)
    at = "2026-11-01 02:00:00.000000"
    with engine.begin() as db:
        for sid, dept, dial in (("CAold1", None, None), ("CAreal", "D-water", "completed")):
            db.execute(
                text(
                    "INSERT INTO calls (call_sid, caller, dept, dial_call_status, disposition,"
                    " created_at, updated_at, kind) VALUES (:sid, :caller, :dept, :dial,"
                    " 'rated', :at, :at, 'hotline')"
                ),
                {"sid": sid, "caller": CALLER, "dept": dept, "dial": dial, "at": at},
            )
            call_id = db.execute(text("SELECT id FROM calls WHERE call_sid = :s"), {"s": sid})
            call_id = call_id.scalar_one()
            db.execute(
                text(
                    "INSERT INTO call_events (call_id, at, kind) VALUES (:c, :at, 'survey_started')"
                ),
                {"c": call_id, "at": at},
            )
            db.execute(
                text(
                    "INSERT INTO ratings (call_id, level, category, source, rated_at, excluded)"
                    " VALUES (:c, 'very_dissatisfied', 'bad', 'dtmf', :at, 0)"
                ),
                {"c": call_id, "at": at},
            )
    upgrade(url)
    with engine.connect() as db:
        kinds = {sid: kind for sid, kind in db.execute(text("SELECT call_sid, kind FROM calls"))}
    assert kinds == {"CAold1": "survey_line", "CAreal": "hotline"}
