"""Holidays beyond the library (issue 10, item 7): `ivr holidays import`, consulted before
`chinese-calendar`, open working-day deadlines recounted, coverage on the admin page.

The year boundary: a rectification of 5 working days decided on 2026-12-31. The
`chinesecalendar` package knows nothing of 2027, so 1 January is first counted as a
working day (deadline 24:00 on 2027-01-07, provisional). Importing the 2027 notice
(1 January 休) moves it to 24:00 on 2027-01-08; the sweep finds it overdue one second
after that instant, not at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ivr.console import review as console_review
from storage.access.users import create_user
from storage.db import transaction
from storage.models import Callback, CallbackEvent, Holiday, HolidayYear, User
from storage.models_review import DAY_OFF, DAY_WORK
from storage.records.calls import CallDetails, get_or_create_call, record_rating
from storage.workflow import holidays
from storage.workflow.callbacks import act, log_attempt, record_verdict
from tests.console_helpers import PASSWORD, login, make_people

pytestmark = pytest.mark.usefixtures("fast_hashing")

IVR = str(Path(sys.executable).with_name("ivr"))
NOTICE_2027 = """\
year = 2027
notice = "国务院办公厅关于2027年部分节假日安排的通知"
days = [
  { date = "2027-01-01", type = "休", name = "元旦" },
  { date = "2027-02-06~2027-02-12", type = "休", name = "春节" },
  { date = "2027-02-14", type = "班", name = "春节" },
]
"""
BEIJING_31_DEC = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
DUE_BEFORE = datetime(2027, 1, 7, 16, 0, tzinfo=UTC)  # 24:00 on 01-07, Beijing
DUE_AFTER = datetime(2027, 1, 8, 16, 0, tzinfo=UTC)  # 24:00 on 01-08, Beijing


def run_ivr(*args: str) -> subprocess.CompletedProcess:
    """Run the real `ivr` command with this test's environment."""
    return subprocess.run(
        [IVR, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120
    )


def notice_file(tmp_path: Path, text: str = NOTICE_2027) -> str:
    path = tmp_path / "notice.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def rectification(sessions, sid: str, verdict_at: datetime) -> int:
    """A 差评 reached and given 5 days to rectify at `verdict_at`; its callback id."""
    details = CallDetails(caller="+8613812345678", agent="A07", dept="D-housing")
    with transaction(sessions) as session:
        call = get_or_create_call(session, sid, details)
        session.flush()
        record_rating(session, call, "dissatisfied", "dtmf", now=verdict_at - timedelta(hours=2))
        session.flush()
        callback_id = call.callback.id
        staff = session.scalars(select(User).where(User.username == "zhang")).one()
    act(sessions, log_attempt, staff, callback_id, "reached", now=verdict_at - timedelta(hours=1))
    act(sessions, record_verdict, staff, callback_id, "rectify_5d", "限期整改", now=verdict_at)
    return callback_id


def callback(sessions, callback_id: int) -> Callback:
    with sessions() as session:
        return session.get_one(Callback, callback_id)


@pytest.fixture
def working_days(env, sessions, monkeypatch):
    monkeypatch.setenv("DEADLINE_DAYS", "working")
    monkeypatch.setattr(holidays, "REFRESH_SECONDS", 0.0)  # every process reads it afresh
    holidays.invalidate()
    make_people(sessions)


def test_a_deadline_across_the_year_boundary_is_recounted_on_import(
    working_days, sessions, tmp_path
):
    callback_id = rectification(sessions, "CA" + "1" * 32, BEIJING_31_DEC)
    before = callback(sessions, callback_id)
    assert (before.rectify_due_at, before.rectify_due_fallback) == (DUE_BEFORE, True)

    result = run_ivr("holidays", "import", notice_file(tmp_path))
    assert result.returncode == 0, result.stderr
    imported = "已导入 2027 年节假日安排：放假 8 天，调休上班 1 天；重新计算整改期限 1 件"
    assert imported in result.stderr

    after = callback(sessions, callback_id)
    assert (after.rectify_due_at, after.rectify_due_fallback) == (DUE_AFTER, False)
    with sessions() as session:
        [event] = session.scalars(
            select(CallbackEvent).where(CallbackEvent.kind == "deadline_recomputed")
        ).all()
    assert event.detail == {
        "before": "2027-01-07T16:00:00Z",
        "after": "2027-01-08T16:00:00Z",
        "provisional": False,
    }
    # A verdict given now (in this process) counts with the imported table too.
    later_id = rectification(sessions, "CA" + "2" * 32, BEIJING_31_DEC)
    assert callback(sessions, later_id).rectify_due_at == DUE_AFTER

    # The deadline's last instant is on time; one second later it is overdue.
    at_deadline = run_ivr("sweep", "--now", "2027-01-09T00:00:00+08:00")
    assert at_deadline.returncode == 0, at_deadline.stderr
    assert not callback(sessions, callback_id).rectify_overdue
    late = run_ivr("sweep", "--now", "2027-01-09T00:00:01+08:00")
    assert late.returncode == 0, late.stderr
    assert callback(sessions, callback_id).rectify_overdue


def test_importing_the_same_year_again_replaces_it(working_days, sessions, tmp_path):
    assert run_ivr("holidays", "import", notice_file(tmp_path)).returncode == 0
    shorter = NOTICE_2027.replace('  { date = "2027-02-14", type = "班", name = "春节" },\n', "")
    again = run_ivr("holidays", "import", notice_file(tmp_path, shorter))
    assert again.returncode == 0, again.stderr
    assert "替换此前导入的同年安排" in again.stderr
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Holiday)) == 8
        assert session.scalar(select(func.count()).select_from(HolidayYear)) == 1
    holidays.invalidate()
    assert holidays.current().lookup(date(2027, 2, 14)) is False  # a Sunday again
    assert holidays.current().lookup(date(2027, 1, 1)) is False
    assert holidays.current().lookup(date(2027, 1, 4)) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("days = []", "缺少年份"),
        ('year = 2027\ndays = [{ date = "2027-01-01", type = "放" }]', "type 只能是“休”或“班”"),
        ('year = 2027\ndays = [{ date = "2027-01-04", type = "班" }]', "不必列为调休上班"),
        ('year = 2027\ndays = [{ date = "2027-13-01", type = "休" }]', "日期“2027-13-01”无效"),
        ('year = 2027\ndays = [{ date = "2025-05-01", type = "休" }]', "不在 2027 年通知的范围内"),
        ("year = 2027\ndays = [", "文件不是有效的 TOML"),
    ],
)
def test_a_wrong_file_is_refused_with_a_reason_and_nothing_stored(
    working_days, sessions, tmp_path, text, message
):
    result = run_ivr("holidays", "import", notice_file(tmp_path, text))
    assert result.returncode != 0
    assert "未导入" in result.stderr and message in result.stderr
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Holiday)) == 0


def _admin_page(client, sessions, monkeypatch, today: datetime) -> str:
    monkeypatch.setattr(console_review, "utcnow", lambda: today)
    login(client, "root", PASSWORD)
    return client.get("/console/admin/users").get_data(as_text=True)


@pytest.fixture
def admin(working_days, sessions):
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")


@pytest.mark.usefixtures("admin")
def test_the_admin_page_warns_60_days_before_the_covered_range_ends(
    client, sessions, monkeypatch, tmp_path
):
    # 2026-10-31 is 61 days before 2026-12-31: no warning yet; 2026-11-01 is 60 days.
    quiet = _admin_page(client, sessions, monkeypatch, datetime(2026, 10, 31, 4, tzinfo=UTC))
    assert "已覆盖 2004-01-01 至 <strong>2026-12-31</strong>" in quiet
    assert 'id="holiday-warning"' not in quiet
    warned = _admin_page(client, sessions, monkeypatch, datetime(2026, 11, 1, 4, tzinfo=UTC))
    assert "节假日安排还有 60 天到期" in warned and "ivr holidays import" in warned
    assert run_ivr("holidays", "import", notice_file(tmp_path)).returncode == 0
    covered = _admin_page(client, sessions, monkeypatch, datetime(2026, 11, 1, 4, tzinfo=UTC))
    assert "已覆盖 2004-01-01 至 <strong>2027-12-31</strong>" in covered
    assert "（其中 2027 年由国务院通知文件导入）" in covered
    assert 'id="holiday-warning"' not in covered
    status = run_ivr("holidays", "status")
    assert "节假日安排覆盖 2004-01-01 至 2027-12-31（导入的年份：2027）" in status.stdout


def test_the_documented_example_notice_reads():
    """docs/holidays-2027.toml, the example parse_notice's docstring points to, is valid."""
    example = Path(__file__).resolve().parent.parent / "docs" / "holidays-2027.toml"
    notice = holidays.parse_notice(example.read_text(encoding="utf-8"))
    assert notice.year == 2027
    assert notice.days[date(2027, 2, 14)] == (DAY_WORK, "春节")
    assert notice.days[date(2027, 10, 7)] == (DAY_OFF, "国庆节")
