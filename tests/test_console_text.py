"""Every console page, rendered with seeded data, shows Chinese text and names only:
no department or agent code, no English word, no raw value, no ISO timestamp."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from storage.db import transaction
from storage.models import User
from tests.console_helpers import csrf, login
from tests.console_seed import seed_console

pytestmark = pytest.mark.usefixtures("fast_hashing")

# Words that are names of file formats or units, not English sentences.
ALLOWED_WORDS = {"XLSX", "CSV", "PDF", "JPEG", "PNG", "MB", "KB"}
USERNAMES = {"zhang", "wang", "li", "zhao", "root", "sun"}  # login names are latin
DEPT_CODE = re.compile(r"\bD(?:\d{2}|-[a-z]+)\b")
AGENT_CODE = re.compile(r"\bA\d{2,4}\b")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
WORD = re.compile(r"[A-Za-z_][A-Za-z_'’-]*")
ID_LIKE = re.compile(r"(CA|RE|T-CA)[0-9A-Za-z]+")


class VisibleText(HTMLParser):
    """The text a reader sees: no script/style, no <code> (identifiers shown on purpose)."""

    SKIP = frozenset({"script", "style", "code", "title"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1
        for name, value in attrs:
            if name in ("placeholder", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def problems(html: str) -> list[str]:
    """What a supervisor should never read on a page."""
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(" ".join(parser.parts).split())
    found = [f"code {m}" for m in DEPT_CODE.findall(text) + AGENT_CODE.findall(text)]
    found += [f"ISO time {m}" for m in ISO_TIME.findall(text)]
    for word in WORD.findall(text):
        if word in ALLOWED_WORDS | USERNAMES or ID_LIKE.fullmatch(word):
            continue
        if len(word) >= 2:
            found.append(f"English {word!r}")
    return found


@pytest.fixture
def seeded(app, sessions):
    return seed_console(sessions, calls=2000)


def pages(ids: dict[str, int]) -> dict[str, list[str]]:
    supervisor = [
        "/console/queue",
        "/console/queue?state=all",
        "/console/calls",
        "/console/calls?dept=D00",
        f"/console/calls/{ids['spoken_call']}",
        f"/console/calls/{ids['spoken_call'] - 1}",
        f"/console/callbacks/{ids['open_callback']}",
        f"/console/callbacks/{ids['closed_callback']}",
        "/console/figures",
        "/console/figures?group=agent",
        "/console/figures?group=week&date_from=2026-01-01&date_to=2026-12-31",
        "/console/figures?group=month&date_from=2025-01-01&date_to=2026-12-31",
        "/console/problems",
        "/console/wallboard",
        "/console/agents/A0101",
        "/console/figures?group=day",
        "/console/spot-checks",
        f"/console/spot-checks/{ids['spot_check']}",
        "/console/public/summary",
        "/console/search?q=5678",
        "/console/search?q=T-CAreal0001",
        "/console/calls?page=3",
        "/console/no-such-page",
        "/",
    ]
    staff = [
        "/console/queue",
        f"/console/callbacks/{ids['open_callback']}",
        "/console/figures",
        "/console/search?q=5678",
    ]
    admin = ["/console/admin/users", "/console/admin/departments"]
    return {"li": supervisor, "zhang": staff, "root": admin}


def test_every_page_shows_names_and_chinese_only(client, seeded, sessions):
    # An admin's refused change leaves an English reason in the audit trail.
    login(client, "root")
    token = csrf(client, "/console/admin/users")
    form = {"csrf_token": token, "username": "sun", "password": "a-good-password"}
    client.post("/console/admin/users", data=form | {"role": "staff", "dept": ""})
    client.post("/console/logout", data={"csrf_token": token})
    with transaction(sessions) as session:
        assert session.query(User).filter_by(username="sun").first() is None
    failures = {}
    for user, paths in pages(seeded).items():
        client.get("/console/login")
        login(client, user)
        for path in paths:
            response = client.get(path, follow_redirects=True)
            assert response.status_code in (200, 403, 404), (user, path, response.status_code)
            found = problems(response.get_data(as_text=True))
            if found:
                failures[f"{user} {path}"] = sorted(set(found))[:12]
        client.post("/console/logout", data={"csrf_token": csrf(client, "/console/queue")})
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())


def test_unknown_pages_and_the_root_answer_in_chinese(client, seeded):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "未找到" in page and "返回首页" in page and not problems(page)
    assert client.get("/").location.endswith("/console/")
    assert client.get("/api/v1/nothing").status_code in (401, 404)
