"""Issue 11, items 5-9: playback audit, hostile text in exports, security headers, login
limits and sessions that end on the server."""

from __future__ import annotations

import csv
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import select

from storage.access.users import find_user
from storage.db import transaction
from storage.models import AuditEntry, Call
from tests.conftest import serving
from tests.console_helpers import PASSWORD, csrf, login, make_people
from tests.supervisor_helpers import spoken_call, tone_wav

pytestmark = pytest.mark.usefixtures("fast_hashing")

# ESC breaks XLSX files and, unlike NUL, PostgreSQL stores it: rows kept before input
# was cleaned may hold it.
HOSTILE_AGENT = '=HYPERLINK("http://evil.example/","点击")\x1b'
HOSTILE_DEPT = "=cmd|' /C calc'!A0"


@pytest.fixture
def people(app, sessions) -> None:
    make_people(sessions)


def listens(sessions) -> int:
    with sessions() as session:
        return len(session.scalars(select(AuditEntry).filter_by(action="listen")).all())


# 5. Playback audit ---------------------------------------------------------------------


@pytest.mark.parametrize("first_range", ["bytes=00-", "bytes=1-", "bytes=0001-", "bytes=-4000"])
def test_any_range_that_starts_a_playback_is_audited(client, people, sessions, first_range):
    _, recording_id = spoken_call(sessions, "CA1")
    login(client, "li")
    url = f"/console/recordings/{recording_id}/audio"
    response = client.get(url, headers={"Range": first_range})
    assert response.status_code == 206 and len(response.data) >= 4000
    assert listens(sessions) == 1
    later = client.get(url, headers={"Range": "bytes=20000-"})  # the same playback goes on
    assert later.status_code == 206 and listens(sessions) == 1
    other = app_client_logged_in(client.application, "zhao")
    other.get(url, headers={"Range": "bytes=20000-"})  # someone else: a playback of theirs
    assert listens(sessions) == 2
    assert len(tone_wav()) > 20000


def app_client_logged_in(app, username: str):
    other = app.test_client()
    assert login(other, username).status_code == 302
    return other


# 6. Hostile text from webhooks, kept and exported ------------------------------------


def test_control_characters_are_stripped_at_the_webhook(post, sessions, people):
    query = "agent=A1%00B&dept=D-housing%1b&tickets=T%001,T2"
    response = post(f"/voice/survey?{query}", {"CallSid": "CA" + "1" * 32, "From": "+86138"})
    assert response.status_code == 200
    with sessions() as session:
        call = session.scalars(select(Call)).one()
        assert (call.agent, call.dept) == ("A1B", "D-housing")
        assert sorted(t.ticket for t in call.tickets) == ["T1", "T2"]


def _hostile_call(sessions) -> None:
    """A call stored before input was cleaned: control characters and formulas."""
    with transaction(sessions) as session:
        session.add(Call(call_sid="CA" + "9" * 32, agent=HOSTILE_AGENT, dept=HOSTILE_DEPT))


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exports_never_fail_on_control_characters_nor_carry_formulas(client, people, sessions, fmt):
    _hostile_call(sessions)
    login(client, "li")
    calls = client.get(f"/console/export/calls.{fmt}")
    report = client.get(f"/console/export/report.{fmt}")
    assert calls.status_code == 200, calls.get_data(as_text=True)[:300]
    assert report.status_code == 200, report.get_data(as_text=True)[:300]
    cells = _cells(calls.data, fmt)
    assert "'" + HOSTILE_AGENT.replace("\x1b", "") in cells
    assert "'" + HOSTILE_DEPT in cells
    assert not [c for c in cells if isinstance(c, str) and c[:1] in ("=", "+", "-", "@")]


def _cells(data: bytes, fmt: str) -> list:
    if fmt == "csv":
        rows = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        return [cell for row in rows for cell in row]
    book = load_workbook(io.BytesIO(data))
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {sheet.title}!{cell.coordinate}"
                found.append(cell.value)
    return found


# 7. Security headers ------------------------------------------------------------------


def test_console_pages_forbid_framing_and_inline_code(client, people):
    page = client.get("/console/login")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in page.headers["Cache-Control"]


def test_number_reveal_page_is_never_cached(client, people, sessions):
    call_id, _ = spoken_call(sessions, "CA1")
    login(client, "li")
    page = client.get(f"/console/calls/{call_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    revealed = client.post(f"/console/calls/{call_id}/reveal", data={"csrf_token": token})
    assert revealed.status_code == 200 and "13812345678" in revealed.get_data(as_text=True)
    assert "no-store" in revealed.headers["Cache-Control"]


def test_csrf_failure_says_the_page_expired(client, people):
    login(client, "li")
    response = client.post("/console/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "页面已过期" in text and "CSRF" not in text


# 8. Login limits ----------------------------------------------------------------------


def _login_form(base: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    page = browser.get(f"{base}/console/login").text
    return browser, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def http_server(env, people, monkeypatch):
    """The app on a loopback HTTP server (cookies not marked Secure, as in development)."""
    from ivr import create_app

    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1")
    with serving(create_app()) as address:
        yield address


def test_simultaneous_wrong_logins_are_counted_before_the_check(http_server):
    live_server = http_server
    forms = [_login_form(live_server) for _ in range(40)]
    start = threading.Barrier(40)

    def guess(form: tuple[requests.Session, str]) -> int:
        browser, token = form
        start.wait()
        data = {"username": "zhang", "password": "guess-123456", "csrf_token": token}
        return browser.post(f"{live_server}/console/login", data=data).status_code

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(guess, forms))
    assert statuses.count(401) <= 5, statuses  # at most 5 passwords were checked
    assert statuses.count(429) >= 35


def test_spraying_passwords_over_users_is_limited_per_client(client, people, sessions):
    with transaction(sessions) as session:
        from storage.access.users import create_user

        for n in range(2):
            create_user(session, f"extra{n}", PASSWORD, "supervisor")
    users = ["zhang", "wang", "li", "zhao", "extra0", "extra1"]
    statuses = [
        login(client, user, f"spray-pass-{n}").status_code for n in range(4) for user in users
    ]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    assert login(client, "li").status_code == 429  # this client is blocked for a while
    elsewhere = client.application.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"  # another client is not blocked
    assert login(elsewhere, "zhang").status_code == 302


def test_rotating_forwarded_for_does_not_reset_the_account_limit(monkeypatch, env, people):
    from ivr import create_app

    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    client = create_app().test_client()
    statuses = []
    for n in range(33):
        token = csrf(client)
        form = {"username": "zhang", "password": "wrong-password", "csrf_token": token}
        headers = {"X-Forwarded-For": f"10.0.0.{n}"}
        statuses.append(client.post("/console/login", data=form, headers=headers).status_code)
    assert statuses == [401] * 30 + [429] * 3  # 30 guesses per account, from anywhere


def test_web_process_listens_on_loopback_unless_told(project_root: Path):
    procfile = (project_root / "Procfile").read_text()
    assert "--bind ${WEB_BIND:-127.0.0.1}:" in procfile


# 9. Sessions end on the server --------------------------------------------------------


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, value: str):
    replay = app.test_client()
    replay.set_cookie("session", value)
    return replay


def test_a_saved_cookie_no_longer_works_after_logout(client, app, people):
    login(client, "zhang")
    saved = _cookie(client)
    assert _with_cookie(app, saved).get("/console/queue").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf(client, "/console/queue")})
    assert _with_cookie(app, saved).get("/console/queue").location.endswith("/console/login")


def test_a_password_change_ends_the_other_sessions(client, app, people):
    login(client, "zhang")
    elsewhere = app.test_client()
    login(elsewhere, "zhang")
    saved = _cookie(elsewhere)
    token = csrf(client, "/console/password")
    new = "a-new-password-42"
    form = {
        "csrf_token": token,
        "old_password": PASSWORD,
        "new_password": new,
        "new_password_again": new,
    }
    assert client.post("/console/password", data=form).status_code == 302
    assert client.get("/console/queue").status_code == 200  # this browser goes on
    assert elsewhere.get("/console/queue").location.endswith("/console/login")
    assert _with_cookie(app, saved).get("/console/queue").status_code == 302
    assert login(app.test_client(), "zhang", new).status_code == 302


def test_wrong_old_password_changes_nothing(client, people):
    login(client, "zhang")
    form = {
        "csrf_token": csrf(client, "/console/password"),
        "old_password": "not-my-password",
        "new_password": "a-new-password-42",
        "new_password_again": "a-new-password-42",
    }
    response = client.post("/console/password", data=form)
    assert response.status_code == 400 and "原密码不正确" in response.get_data(as_text=True)


def test_disabling_a_user_ends_their_sessions(client, app, people, sessions):
    with transaction(sessions) as session:
        from storage.access.users import create_user

        create_user(session, "root", PASSWORD, "admin")
    login(client, "root")
    staff = app.test_client()
    login(staff, "zhang")
    saved = _cookie(staff)
    with sessions() as session:
        zhang = find_user(session, "zhang")
        user_id, dept = zhang.id, zhang.dept
    page = client.get("/console/admin/users").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "role": "staff", "dept": dept}  # "active" unticked
    assert client.post(f"/console/admin/users/{user_id}", data=form).status_code == 302
    assert staff.get("/console/queue").location.endswith("/console/login")
    form["active"] = "on"  # enabled again: the old session must not come back to life
    page = client.get("/console/admin/users").get_data(as_text=True)
    form["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/console/admin/users/{user_id}", data=form).status_code == 302
    assert _with_cookie(app, saved).get("/console/queue").location.endswith("/console/login")
    assert app.extensions["ivr.redis"].keys(f"console:session:{saved}") == []


def test_sessions_store_down_gives_a_chinese_503_not_a_500(env, monkeypatch):
    from ivr import create_app

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    page = create_app().test_client().get("/console/login")
    assert page.status_code == 503 and "登录服务暂不可用" in page.get_data(as_text=True)
