"""The sweep's duties: default ratings, overdue steps, escalations; idempotent and concurrent."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from ivr.cli import main
from storage.access.users import create_department, create_user, set_department_head
from storage.db import make_engine, make_session_factory, transaction
from storage.models import (
    Callback,
    CallbackEvent,
    CallEvent,
    Escalation,
    Notification,
    OutboxJob,
    Rating,
    User,
)
from storage.records.calls import (
    CallDetails,
    end_survey,
    find_call,
    get_or_create_call,
    record_rating,
)
from storage.reports.serialize import callback_to_dict
from storage.workflow import callbacks as wf
from storage.workflow.notifications import mark_read, unread
from workers.duties import run_duties
from workers.sweep import sweep

CALL_DAY = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 2 November, 10:00 in Shanghai
DEFAULT_DUE = datetime(2026, 11, 9, 16, 0, tzinfo=UTC)  # 00:00 on 10 November in Shanghai


pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def people(sessions) -> dict[str, int]:
    """A department with a head and a staff member; two supervisors; user ids."""
    with transaction(sessions) as session:
        create_department(session, "D-housing", "住房保障局")
        users = {
            "head": create_user(session, "chen", "password-123", "staff", "D-housing"),
            "staff": create_user(session, "zhang", "password-123", "staff", "D-housing"),
            "sup": create_user(session, "li", "password-123", "supervisor"),
            "sup2": create_user(session, "zhao", "password-123", "supervisor"),
        }
        set_department_head(session, "D-housing", "chen")
        session.flush()
        return {name: user.id for name, user in users.items()}


def add_call(sessions, sid: str, *, level: str | None = None, disposition: str = "hung_up"):
    """A call made on CALL_DAY, rated `level` then, or left with `disposition`."""
    with transaction(sessions) as session:
        call = get_or_create_call(
            session, sid, CallDetails(caller="+8613800002222", dept="D-housing")
        )
        call.created_at = CALL_DAY
        session.flush()
        if level:
            record_rating(session, call, level, "dtmf", now=CALL_DAY)
        else:
            end_survey(session, call, disposition)
        session.flush()
        return call.callback.id if call.callback else None


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_default_rating_after_seven_days_and_not_before(sessions):
    add_call(sessions, "CA-quiet", disposition="hung_up")
    add_call(sessions, "CA-running", disposition="in_progress")
    add_call(sessions, "CA-none", disposition="not_served")
    add_call(sessions, "CA-rated", level="satisfied")
    assert run_duties(sessions, DEFAULT_DUE - timedelta(seconds=1)).default_ratings == 0
    assert run_duties(sessions, DEFAULT_DUE).default_ratings == 2
    assert run_duties(sessions, DEFAULT_DUE + timedelta(days=30)).default_ratings == 0
    with sessions() as session:
        ratings = {r.call.call_sid: r for r in session.scalars(select(Rating))}
        assert {sid: r.source for sid, r in ratings.items()} == {
            "CA-quiet": "default",
            "CA-running": "default",
            "CA-rated": "dtmf",
        }
        quiet = ratings["CA-quiet"]
        assert (quiet.level, quiet.category) == ("basically_satisfied", "neutral")
        assert quiet.rated_at == DEFAULT_DUE, "as of the deadline, however late the sweep"
        assert quiet.call.disposition == "rated"
        assert ratings["CA-rated"].level == "satisfied", "a caller's rating is never replaced"


def test_a_late_sweep_still_dates_the_default_rating_at_the_deadline(sessions):
    add_call(sessions, "CA-quiet")
    late = DEFAULT_DUE + timedelta(days=3)
    assert run_duties(sessions, late).default_ratings == 1
    with sessions() as session:
        rating = session.scalars(select(Rating)).one()
        assert rating.rated_at == DEFAULT_DUE and rating.call.updated_at == late


def test_a_default_rating_is_written_as_record_rating_writes_it(sessions):
    """The sweep's set-based path must not drift from storage.records.calls.record_rating."""
    add_call(sessions, "CA-sweep")
    add_call(sessions, "CA-direct")
    with transaction(sessions) as session:
        direct = find_call(session, "CA-direct")
        record_rating(session, direct, "basically_satisfied", "default", now=DEFAULT_DUE)
    assert run_duties(sessions, DEFAULT_DUE + timedelta(hours=1)).default_ratings == 1

    def written(sid: str) -> tuple:
        with sessions() as session:
            call = find_call(session, sid)
            rating = {c.key: getattr(call.rating, c.key) for c in Rating.__table__.columns}
            for key in ("id", "call_id"):
                rating.pop(key)
            events = [
                (e.kind, e.detail)
                for e in session.scalars(select(CallEvent).where(CallEvent.call_id == call.id))
            ]
            jobs = [
                (j.queue, j.func, j.args, j.dedupe_key, j.attempts)
                for j in session.scalars(
                    select(OutboxJob).where(OutboxJob.dedupe_key.like(f"%:{call.id}"))
                )
            ]
            return (
                call.disposition,
                rating,
                events,
                [
                    (q, f, a == {"call_sid": sid}, k.replace(str(call.id), "ID"), n)
                    for q, f, a, k, n in jobs
                ],
            )

    assert written("CA-sweep") == written("CA-direct")


def test_overdue_callbacks_are_marked_and_escalated_once(sessions, people):
    cb_id = add_call(sessions, "CA-bad", level="dissatisfied")
    due = CALL_DAY + timedelta(hours=48)
    report = run_duties(sessions, due - timedelta(minutes=1))
    # Not overdue yet; the department's two staff (nobody named yet) hear it is due soon.
    assert (report.callbacks_overdue, report.notifications) == (0, 2)
    report = run_duties(sessions, due + timedelta(minutes=1))
    # Escalated to the head and 2 supervisors; the department's 2 staff told it is overdue.
    assert (report.callbacks_overdue, report.notifications) == (1, 5)
    with sessions() as session:
        callback = session.get_one(Callback, cb_id)
        assert callback_to_dict(callback)["overdue"] is True
        escalated = select(Notification.user_id).where(Notification.kind == "escalation")
        recipients = set(session.scalars(escalated))
        [event] = session.scalars(select(CallbackEvent)).all()
    assert recipients == {people["head"], people["sup"], people["sup2"]}
    assert (event.kind, event.actor_name, event.detail["escalated_to"]) == (
        "callback_overdue",
        "system",
        3,
    )
    with transaction(sessions) as session:
        head = session.get_one(User, people["head"])
        [note] = [n for n in unread(session, head) if n.kind == "escalation"]
        assert note.subject.startswith("回访核实超时") and note.payload["call_sid"] == "CA-bad"
        assert mark_read(session, head, note.id) and not mark_read(session, head, note.id)
        assert [n.kind for n in unread(session, head)] == ["overdue", "due_soon"]
    again = run_duties(sessions, due + timedelta(days=1))
    assert (again.callbacks_overdue, again.notifications) == (0, 0)
    assert count(sessions, Escalation) == 1 and count(sessions, Notification) == 7
    assert count(sessions, CallbackEvent) == 1


def test_a_callback_done_in_time_is_not_overdue(sessions, people):
    cb_id = add_call(sessions, "CA-bad", level="very_dissatisfied")
    with sessions() as session:
        staff = session.get_one(User, people["staff"])
    wf.act(sessions, wf.log_attempt, staff, cb_id, "reached", now=CALL_DAY + timedelta(hours=1))
    # Reached is not enough: the 48 hours cover the verdict too (tests/test_callback_clocks.py).
    verdict_at = CALL_DAY + timedelta(hours=47)
    wf.act(sessions, wf.record_verdict, staff, cb_id, "rectify_5d", now=verdict_at)
    assert run_duties(sessions, CALL_DAY + timedelta(days=3)).callbacks_overdue == 0


def test_overdue_rectifications_are_marked_and_escalated_once(sessions, people):
    cb_id = add_call(sessions, "CA-bad", level="dissatisfied")
    with sessions() as session:
        staff = session.get_one(User, people["staff"])
    reached = CALL_DAY + timedelta(hours=2)
    wf.act(sessions, wf.log_attempt, staff, cb_id, "reached", now=reached)
    wf.act(sessions, wf.record_verdict, staff, cb_id, "rectify_5d", now=reached)
    rectify_due = datetime(2026, 11, 7, 16, 0, tzinfo=UTC)  # 24:00 on 7 November, Shanghai
    assert run_duties(sessions, rectify_due - timedelta(seconds=1)).rectifications_overdue == 0
    report = run_duties(sessions, rectify_due + timedelta(seconds=1))
    assert (report.rectifications_overdue, report.callbacks_overdue) == (1, 0)
    assert run_duties(sessions, rectify_due + timedelta(days=2)).rectifications_overdue == 0
    with sessions() as session:
        callback = session.get_one(Callback, cb_id)
        assert callback.rectify_overdue and not callback.overdue
        assert callback_to_dict(callback)["overdue"] is True
        assert session.scalars(select(Escalation.dedupe_key)).all() == [f"rectify:{cb_id}"]
        kinds = [e.kind for e in session.scalars(select(CallbackEvent).order_by(CallbackEvent.id))]
    assert kinds == ["reached", "verdict", "rectify_overdue"]


def test_duties_work_in_batches(sessions, people):
    for number in range(7):
        add_call(sessions, f"CA-q{number}")
        add_call(sessions, f"CA-b{number}", level="dissatisfied")
    report = run_duties(sessions, DEFAULT_DUE, batch=3)
    assert (report.default_ratings, report.callbacks_overdue) == (7, 7)
    assert count(sessions, Escalation) == 7


def test_two_sweeps_at_once_do_everything_exactly_once(database_url, sessions, people):
    for number in range(40):
        add_call(sessions, f"CA-q{number}")
        add_call(sessions, f"CA-b{number}", level="dissatisfied")
    reports, errors = [], []
    start = threading.Barrier(2)

    def run() -> None:
        factory = make_session_factory(make_engine(database_url))  # a process of its own
        start.wait()
        try:
            reports.append(run_duties(factory, DEFAULT_DUE, batch=5))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.default_ratings for r in reports) == 40
    assert sum(r.callbacks_overdue for r in reports) == 40
    # Escalated to the head and 2 supervisors, the 2 staff told: once each, by one sweep.
    assert sum(r.notifications for r in reports) == 40 * 5
    assert count(sessions, Rating, Rating.source == "default") == 40
    assert count(sessions, Escalation) == 40 and count(sessions, Notification) == 200
    assert count(sessions, CallbackEvent) == 40


def test_ivr_sweep_reports_every_duty_and_is_idempotent(env, sessions, redis_url, people):
    add_call(sessions, "CA-quiet")
    add_call(sessions, "CA-bad", level="dissatisfied")
    runner = CliRunner()
    when = DEFAULT_DUE.isoformat()
    first = runner.invoke(main, ["sweep", "--now", when])
    assert first.exit_code == 0, first.output
    assert "default ratings: 1; callbacks marked overdue: 1;" in first.output
    assert "escalation notifications: 5" in first.output
    second = runner.invoke(main, ["sweep", "--now", when]).output
    assert "default ratings: 0; callbacks marked overdue: 0; rectifications marked overdue: 0;" in (
        second
    )
    assert "jobs sent: 0" in second


def test_sweep_sends_every_job_it_made(sessions, redis_url):
    from redis import Redis

    for number in range(3):
        add_call(sessions, f"CA-q{number}")
    report = sweep(sessions, Redis.from_url(redis_url), DEFAULT_DUE)
    assert report.default_ratings == 3
    assert report.jobs_sent == 3  # one push per default rating (calls made here sent none)


def test_a_not_adopted_rating_is_pushed_signed_to_the_management_body(
    env, sessions, people, monkeypatch
):
    import hashlib
    import hmac
    import json

    from tests.http_fakes import post_recorder
    from workers.jobs import push_notification

    received: list[tuple[dict, bytes]] = []

    cb_id = add_call(sessions, "CA-bad", level="dissatisfied")
    with sessions() as session:
        staff, sup = session.get_one(User, people["staff"]), session.get_one(User, people["sup"])
    wf.act(sessions, wf.log_attempt, staff, cb_id, "reached")
    wf.act(sessions, wf.record_verdict, staff, cb_id, "malicious", "同一号码反复差评")
    wf.act(sessions, wf.review_verdict, sup, cb_id, True, "核实属实")
    with sessions() as session:
        notification_id = session.scalars(
            select(Notification.id).where(Notification.audience == "management")
        ).one()
    assert push_notification(notification_id) == "no MANAGEMENT_WEBHOOK_URL: nothing to push"

    server = post_recorder(received)
    try:
        monkeypatch.setenv("MANAGEMENT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/")
        monkeypatch.setenv("MANAGEMENT_WEBHOOK_SECRET", "management-secret")
        assert push_notification(notification_id) == "pushed (204)"
    finally:
        server.shutdown()
    [(headers, body)] = received
    signed = headers["X-IVR-Timestamp"].encode() + b"." + body
    expected = hmac.new(b"management-secret", signed, hashlib.sha256).hexdigest()
    assert headers["X-IVR-Signature"] == "sha256=" + expected
    message = json.loads(body)
    assert message["event"] == "notification.not_adopted"
    payload = message["notification"]["payload"]
    assert (payload["call_sid"], payload["resolution"], payload["reason"]) == (
        "CA-bad",
        "malicious",
        "同一号码反复差评",
    )
    assert "caller" not in payload


def test_sweep_drains_a_backlog_of_jobs_within_its_time_budget(sessions, monkeypatch):
    import workers.sweep

    rounds = iter([500, 500, 12, 500])
    monkeypatch.setattr(workers.sweep, "resend_pending", lambda *_: next(rounds))
    assert sweep(sessions, None, DEFAULT_DUE).jobs_sent == 1012
    monkeypatch.setattr(workers.sweep, "resend_pending", lambda *_: 500)
    monkeypatch.setattr(workers.sweep, "SEND_BUDGET_S", 0.0)
    assert sweep(sessions, None, DEFAULT_DUE).jobs_sent == 500
