"""The callback workflow: every transition, every refusal (with its audit row), approvals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage.access.users import create_user, find_user
from storage.db import transaction
from storage.models import Callback, CallbackEvent, Notification, OutboxJob, User
from storage.records.calls import CallDetails, get_or_create_call, record_rating
from storage.reports.serialize import call_to_dict
from storage.workflow import callbacks as wf
from tests.console_helpers import PASSWORD, make_people

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def people(sessions) -> dict[str, User]:
    """Staff of two departments and two supervisors (`make_people`), and an admin."""
    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")
        roles = {"staff": "zhang", "other": "wang", "sup": "li", "sup2": "zhao", "admin": "root"}
        return {role: find_user(session, name) for role, name in roles.items()}


def new_callback(
    sessions, sid: str = "CA1", dept: str | None = "D-housing", rated_at: datetime = NOW
) -> int:
    """A call rated 差评 now; returns its callback's id."""
    with transaction(sessions) as session:
        details = CallDetails(caller="+8613800001111", dept=dept, tickets=("T1",))
        call = get_or_create_call(session, sid, details)
        session.flush()
        record_rating(session, call, "dissatisfied", "dtmf", now=rated_at)
        session.flush()
        return call.callback.id


def run(sessions, action, *args, **kwargs) -> wf.Outcome:
    return wf.act(sessions, action, *args, **kwargs)


def callback(sessions, callback_id: int) -> Callback:
    with sessions() as session:
        found = session.get_one(Callback, callback_id)
        _ = found.rating, found.call
        return found


def events(sessions, callback_id: int) -> list[CallbackEvent]:
    with sessions() as session:
        return wf.history(session, callback_id)


def bring_to(sessions, people, cb_id: int, state: str) -> None:
    """Drive a fresh callback to a named situation."""
    staff, sup = people["staff"], people["sup"]
    if state == "open":
        return
    if state == "unreachable":
        for hours in (0, 3, 24):  # 3 attempts, 2 calendar days, 2 h apart at least
            when = NOW + timedelta(hours=hours)
            run(sessions, wf.log_attempt, staff, cb_id, "wrong_number", now=when)
        return
    run(sessions, wf.log_attempt, staff, cb_id, "reached", "接通")
    if state == "rectifying":
        run(sessions, wf.record_verdict, staff, cb_id, "rectify_5d", now=NOW)
    elif state == "awaiting_approval":
        run(sessions, wf.record_verdict, staff, cb_id, "malicious", "反复骚扰")
    elif state == "closed":
        run(sessions, wf.record_verdict, staff, cb_id, "on_the_spot", feedback="satisfied")
    elif state == "not_adopted":
        run(sessions, wf.record_verdict, staff, cb_id, "mistaken", "按错键")
        run(sessions, wf.review_verdict, sup, cb_id, True)


def test_reached_moves_to_called_back_with_event_and_push_job(sessions, people):
    cb_id = new_callback(sessions)
    outcome = run(sessions, wf.log_attempt, people["staff"], cb_id, "reached", "已联系")
    assert outcome.state == "called_back" and not outcome.duplicate
    [event] = events(sessions, cb_id)
    assert (event.kind, event.from_state, event.to_state) == ("reached", "open", "called_back")
    assert (event.actor_name, event.note, event.action) == ("zhang", "已联系", "attempt")
    assert callback(sessions, cb_id).reached_at is not None
    with sessions() as session:
        keys = set(session.scalars(select(OutboxJob.dedupe_key)))
    assert f"callback:{cb_id}:{event.id}" in keys
    # sent when the transaction commits: tests/test_unit_of_work.py


def test_failed_attempts_spread_over_days_make_it_unreachable(sessions, people, monkeypatch):
    cb_id, staff = new_callback(sessions), people["staff"]

    def attempt(result: str, hours: float, note: str = "") -> str:
        when = NOW + timedelta(hours=hours)
        return run(sessions, wf.log_attempt, staff, cb_id, result, note, now=when).state

    assert attempt("no_answer", 0, "无人接听") == "open"
    assert attempt("refused", 2, "拒绝") == "open"
    assert attempt("no_answer", 4) == "open", "three attempts, but all on one day"
    assert attempt("wrong_number", 24) == "unreachable"
    assert [e.kind for e in events(sessions, cb_id)] == ["attempt"] * 3 + ["unreachable"]
    assert callback(sessions, cb_id).failed_attempts == 4
    monkeypatch.setenv("CALLBACK_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("CALLBACK_ATTEMPT_DAYS", "1")
    other = new_callback(sessions, "CA3")
    assert run(sessions, wf.log_attempt, staff, other, "no_answer").state == "unreachable"


def test_solved_or_explained_closes_with_the_feedback(sessions, people):
    for number, resolution in enumerate(["on_the_spot", "explained"]):
        cb_id = new_callback(sessions, f"CA{number}")
        bring_to(sessions, people, cb_id, "called_back")
        verdict = run(
            sessions, wf.record_verdict, people["staff"], cb_id, resolution, feedback="satisfied"
        )
        assert verdict.state == "closed"
        found = callback(sessions, cb_id)
        assert (found.resolution, found.feedback) == (resolution, "satisfied")
        assert found.rectify_due_at is None and found.closed_at is not None
        assert events(sessions, cb_id)[-1].detail == {
            "resolution": resolution,
            "feedback": "satisfied",
        }


def test_rectification_gets_its_deadline_and_closes_with_evidence(sessions, people):
    staff, evidence = people["staff"], ["evidence/CA1/photo-1.jpg", "evidence/CA1/report.pdf"]
    for resolution, days in [("rectify_5d", 5), ("rectify_15d", 15)]:
        cb_id = new_callback(sessions, f"CA{days}")
        bring_to(sessions, people, cb_id, "called_back")
        consulted = ["D-water"] if resolution == "rectify_15d" else []
        later = NOW + timedelta(hours=30)  # the verdict a day later moves nothing
        verdict = run(
            sessions, wf.record_verdict, staff, cb_id, resolution, now=later, consulted=consulted
        )
        assert verdict.state == "called_back"
        # Forwarded on Monday 2 November (Shanghai): due at 24:00 on the 7th or the 17th.
        due = callback(sessions, cb_id).rectify_due_at
        assert due == datetime(2026, 11, 2 + days, 16, 0, tzinfo=UTC)
        closing = (cb_id, "已维修路灯", evidence, "not_satisfied")
        assert run(sessions, wf.close_rectification, staff, *closing).state == "closed"
        found = callback(sessions, cb_id)
        assert (found.rectification, found.evidence) == ("已维修路灯", evidence)
        assert found.feedback == "not_satisfied" and found.closed_at is not None


def test_working_days_and_an_unknown_year_reach_the_callback(sessions, people, monkeypatch):
    monkeypatch.setenv("DEADLINE_DAYS", "working")
    rated_at = datetime(2099, 3, 2, 2, 0, tzinfo=UTC)  # a Monday of a year nobody knows yet
    cb_id = new_callback(sessions, rated_at=rated_at)
    bring_to(sessions, people, cb_id, "called_back")
    verdict_at = rated_at + timedelta(hours=5)
    run(sessions, wf.record_verdict, people["staff"], cb_id, "rectify_5d", now=verdict_at)
    found = callback(sessions, cb_id)
    assert found.rectify_due_fallback is True
    assert found.rectify_due_at == datetime(2099, 3, 9, 16, 0, tzinfo=UTC)


def test_a_supervisor_approves_a_malicious_verdict(sessions, people):
    cb_id = new_callback(sessions)
    bring_to(sessions, people, cb_id, "awaiting_approval")
    outcome = run(sessions, wf.review_verdict, people["sup"], cb_id, True, "核实属实")
    assert outcome.state == "not_adopted"
    found = callback(sessions, cb_id)
    assert found.rating.excluded is True
    with sessions() as session:
        assert call_to_dict(session.get_one(Callback, cb_id).call)["rating"]["excluded"] is True
        [note] = session.scalars(select(Notification).where(Notification.audience == "management"))
        job = session.scalars(
            select(OutboxJob).where(OutboxJob.func == "workers.jobs.push_notification")
        ).one()
    assert (note.audience, note.kind) == ("management", "not_adopted")
    assert note.payload["resolution"] == "malicious"
    assert note.payload["verdict_by"] == "zhang" and note.payload["approved_by"] == "li"
    assert "caller" not in note.payload
    assert job.args == {"notification_id": note.id}


def test_a_rejected_verdict_returns_to_called_back_for_a_new_one(sessions, people):
    cb_id = new_callback(sessions)
    bring_to(sessions, people, cb_id, "awaiting_approval")
    outcome = run(sessions, wf.review_verdict, people["sup"], cb_id, False, "证据不足")
    assert outcome.state == "called_back"
    found = callback(sessions, cb_id)
    assert (found.resolution, found.verdict_by_id, found.rating.excluded) == (None, None, False)
    run(sessions, wf.record_verdict, people["staff"], cb_id, "rectify_5d")
    assert callback(sessions, cb_id).resolution == "rectify_5d"
    with sessions() as session:
        management = select(func.count()).where(Notification.audience == "management")
        assert session.scalar(management) == 0, "nothing reported upward"
        kinds = session.scalars(select(Notification.kind)).all()
        assert kinds == ["approval", "approval"], "both supervisors were asked to approve"


def assert_refused(sessions, cb_id, error_type, call, *, action: str) -> None:
    """`call()` raises `error_type`, changes nothing, and leaves one audit row."""
    before = callback(sessions, cb_id)
    count = len(events(sessions, cb_id))
    with pytest.raises(error_type) as raised:
        call()
    assert str(raised.value)
    after = callback(sessions, cb_id)
    for column in Callback.__table__.columns:
        assert getattr(after, column.key) == getattr(before, column.key), column.key
    audit = events(sessions, cb_id)
    assert len(audit) == count + 1
    assert (audit[-1].kind, audit[-1].action) == ("refused", action)
    assert audit[-1].from_state == audit[-1].to_state == before.state
    assert audit[-1].detail == {"error": error_type.__name__}


ACTIONS = {
    "attempt": lambda s, u, cb: wf.act(s, wf.log_attempt, u, cb, "reached"),
    "verdict": lambda s, u, cb: wf.act(s, wf.record_verdict, u, cb, "rectify_5d"),
    "approve": lambda s, u, cb: wf.act(s, wf.review_verdict, u, cb, True),
    "close": lambda s, u, cb: wf.act(
        s, wf.close_rectification, u, cb, "done", ["evidence/x.jpg"], "satisfied"
    ),
}
ILLEGAL = {
    "open": ["verdict", "approve", "close"],  # closing an unreached callback, among others
    "called_back": ["attempt", "approve", "close"],
    "rectifying": ["attempt", "verdict", "approve"],
    "awaiting_approval": ["attempt", "verdict", "close"],
    "closed": list(ACTIONS),
    "not_adopted": list(ACTIONS),
    "unreachable": list(ACTIONS),
}


@pytest.mark.parametrize("state", list(ILLEGAL))
def test_illegal_transitions_are_refused_and_audited(sessions, people, state):
    actor = people["sup2"]  # a supervisor may do all of these where they are legal
    for number, action in enumerate(ILLEGAL[state]):
        cb_id = new_callback(sessions, f"CA{number}")
        bring_to(sessions, people, cb_id, state)
        assert_refused(
            sessions,
            cb_id,
            wf.IllegalTransition,
            lambda a=action, c=cb_id: ACTIONS[a](sessions, actor, c),
            action=action,
        )


def test_staff_of_another_department_and_admins_are_refused(sessions, people):
    cb_id = new_callback(sessions)
    bring_to(sessions, people, cb_id, "rectifying")
    for action in ACTIONS:
        for who in ("other", "admin"):
            assert_refused(
                sessions,
                cb_id,
                wf.NotAllowed,
                lambda a=action, w=who: ACTIONS[a](sessions, people[w], cb_id),
                action=action,
            )


def test_the_verdicts_author_cannot_approve_it_and_staff_cannot_either(sessions, people):
    cb_id = new_callback(sessions)
    run(sessions, wf.log_attempt, people["sup"], cb_id, "reached")
    run(sessions, wf.record_verdict, people["sup"], cb_id, "mistaken", "误按")
    approve = ACTIONS["approve"]
    for who in ("sup", "staff"):
        assert_refused(
            sessions,
            cb_id,
            wf.NotAllowed,
            lambda who=who: approve(sessions, people[who], cb_id),
            action="approve",
        )
    assert approve(sessions, people["sup2"], cb_id).state == "not_adopted"


def test_bad_input_is_refused_and_audited(sessions, people):
    cb_id = new_callback(sessions)
    bring_to(sessions, people, cb_id, "called_back")
    staff = people["staff"]
    for args, kwargs in [
        (("no_such_verdict",), {}),
        (("on_the_spot",), {}),  # feedback missing
        (("rectify_5d",), {"feedback": "satisfied"}),
        (("malicious", "  "), {}),  # no reason given
    ]:
        assert_refused(
            sessions,
            cb_id,
            wf.InvalidInput,
            lambda a=args, k=kwargs: run(sessions, wf.record_verdict, staff, cb_id, *a, **k),
            action="verdict",
        )
    run(sessions, wf.record_verdict, staff, cb_id, "rectify_5d")
    for description, evidence, feedback in [
        ("", ["evidence/a.jpg"], "satisfied"),
        ("修好了", [], "satisfied"),
        ("修好了", ["../../etc/passwd"], "satisfied"),
        ("修好了", ["evidence/a.jpg"], "maybe"),
    ]:
        assert_refused(
            sessions,
            cb_id,
            wf.InvalidInput,
            lambda d=description, e=evidence, f=feedback: run(
                sessions, wf.close_rectification, staff, cb_id, d, e, f
            ),
            action="close",
        )


def test_a_double_submission_changes_nothing_the_second_time(sessions, people):
    cb_id = new_callback(sessions)
    staff = people["staff"]
    first = run(sessions, wf.log_attempt, staff, cb_id, "no_answer", submission_key="form-1")
    again = run(sessions, wf.log_attempt, staff, cb_id, "no_answer", submission_key="form-1")
    assert again.duplicate and again.event_id == first.event_id
    assert callback(sessions, cb_id).failed_attempts == 1
    assert len(events(sessions, cb_id)) == 1
    run(sessions, wf.log_attempt, staff, cb_id, "reached")
    run(sessions, wf.record_verdict, staff, cb_id, "rectify_5d")
    with pytest.raises(wf.IllegalTransition, match="already recorded"):
        run(sessions, wf.record_verdict, staff, cb_id, "rectify_5d")
    assert callback(sessions, cb_id).resolution == "rectify_5d"


def test_unknown_callback_and_unknown_user(sessions, people):
    with pytest.raises(wf.NotFound):
        run(sessions, wf.log_attempt, people["staff"], 999, "reached")
    cb_id = new_callback(sessions)
    ghost = User(id=12345, username="ghost", role="supervisor", active=True)
    assert_refused(
        sessions,
        cb_id,
        wf.NotAllowed,
        lambda: run(sessions, wf.log_attempt, ghost, cb_id, "reached"),
        action="attempt",
    )
    assert events(sessions, cb_id)[-1].actor_name == "ghost"


def test_events_are_append_only(sessions, people):
    cb_id = new_callback(sessions)
    run(sessions, wf.log_attempt, people["staff"], cb_id, "reached")
    with sessions() as session:
        event = session.scalars(select(CallbackEvent)).one()
        with pytest.raises(ValueError, match="append-only"):
            event.note = "rewritten"


def test_a_change_is_visible_in_the_updated_since_feed(sessions, people):
    cb_id = new_callback(sessions)
    later = NOW + timedelta(hours=3)
    run(sessions, wf.log_attempt, people["staff"], cb_id, "reached", now=later)
    assert callback(sessions, cb_id).call.updated_at == later


def test_closing_an_unreached_callback_says_why(sessions, people):
    cb_id = new_callback(sessions)
    with pytest.raises(wf.IllegalTransition, match="has not been reached"):
        ACTIONS["close"](sessions, people["staff"], cb_id)
