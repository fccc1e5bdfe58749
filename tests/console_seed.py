"""A console as a 12345 centre would have it: 8 named departments, named agents, 2,000
seeded calls over the last month, and a few real calls with history, recordings,
refusals, a verdict, a spot check and admin changes (the pages' every kind of text)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlalchemy import select

from storage.access.users import create_user
from storage.db import transaction
from storage.models import Call, Callback, User
from storage.names import save_agent
from storage.records.calls import log_event
from storage.seed import DEPARTMENT_NAMES, SeedPlan, name_departments, seed_calls
from storage.types import utcnow
from storage.workflow import callbacks as wf
from storage.workflow.spotchecks import SampleSize, draw
from tests.console_helpers import PASSWORD, new_callback
from tests.supervisor_helpers import spoken_call

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "芳伟娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
AGENTS_PER_DEPT = 8


def agent_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]


def seed_console(sessions, calls: int = 2000) -> dict[str, int]:
    """Departments D00…D07 with names, their agents, users, seeded and real calls."""
    with transaction(sessions) as session:
        name_departments(session)
        for n in range(len(DEPARTMENT_NAMES)):
            for a in range(AGENTS_PER_DEPT):
                save_agent(session, f"A{n:02d}{a:02d}", agent_name(n * 8 + a), f"D{n:02d}")
        save_agent(session, "A07", "林晓", "D00")
        create_user(session, "zhang", PASSWORD, "staff", "D00")
        create_user(session, "wang", PASSWORD, "staff", "D02")
        create_user(session, "li", PASSWORD, "supervisor")
        create_user(session, "zhao", PASSWORD, "supervisor")
        create_user(session, "root", PASSWORD, "admin")
    start = utcnow() - timedelta(days=30)
    seed_calls(sessions, SeedPlan(calls=calls, start=start, days=30, departments=8))
    return _real_calls(sessions)


def _real_calls(sessions) -> dict[str, int]:
    """Calls made through the workflow: history, recordings, refusals, a verdict."""
    open_cb = new_callback(sessions, "CAreal0001", dept="D00")
    verdict_cb = new_callback(sessions, "CAreal0002", dept="D00")
    call_id, recording_id = spoken_call(sessions, "CAreal0003", dept="D00", agent="A0001")
    with transaction(sessions) as session:
        call = session.get_one(Call, call_id)
        for kind, detail in (
            ("survey_started", None),
            ("key", "'1'"),
            ("spoken_answer", "REb50aa1"),
            ("speech_result", "Heard"),
            ("rated", "dissatisfied (speech)"),
            ("status", "completed"),
        ):
            log_event(session, call, kind, detail)
        users = {u.username: u for u in session.scalars(select(User))}
    factory = sessions
    staff, other, boss = users["zhang"], users["wang"], users["li"]
    # Refusals ("a callback of department D00, not of D02", a bad result) stay in the history.
    with contextlib.suppress(wf.WorkflowError):
        wf.act(factory, wf.log_attempt, other, open_cb, "reached", "")
    with contextlib.suppress(wf.WorkflowError):
        wf.act(factory, wf.log_attempt, staff, open_cb, "maybe", "")
    wf.act(factory, wf.log_attempt, staff, verdict_cb, "reached", "已联系")
    verdict = ("on_the_spot", "已解决")
    wf.act(factory, wf.record_verdict, staff, verdict_cb, *verdict, feedback="satisfied")
    with transaction(sessions) as session:
        period_end = utcnow().date()
        from storage.reports.figures import Period

        period = Period(period_end - timedelta(days=40), period_end)
        check = draw(session, boss, period, SampleSize(count=5, seed=7))
        check_id = check.id
        spoken = session.scalars(select(Callback).where(Callback.call_id == call_id)).first()
    return {
        "open_callback": open_cb,
        "closed_callback": verdict_cb,
        "spoken_call": call_id,
        "spoken_callback": spoken.id if spoken else open_cb,
        "recording": recording_id,
        "spot_check": check_id,
    }
