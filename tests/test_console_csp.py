"""The console works under its Content Security Policy: no page breaks a rule in a real
browser (Playwright driving Debian's Chromium), as staff, supervisor and admin."""

from __future__ import annotations

import shutil

import pytest

from storage.access.users import create_user
from storage.db import transaction
from tests.console_helpers import PASSWORD, make_people, new_callback
from tests.supervisor_helpers import spoken_call

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-component-update"]
# Every violation the page reports, whatever the directive.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _visit_all(browser, base: str, username: str, paths: list[str]) -> dict[str, list[str]]:
    page = browser.new_page(locale="zh-CN")
    page.add_init_script(WATCH)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Security Policy" in m.text else None)
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    broken = {}
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        found = page.evaluate("window.__csp") + messages
        messages.clear()
        if found:
            broken[path] = found
    page.close()
    return broken


def test_no_console_page_breaks_the_content_security_policy(browser, live_server, sessions):
    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")
    cb_id = new_callback(sessions, "CA1")
    call_id, _ = spoken_call(sessions, "CA2")
    staff = ["/console/queue", f"/console/callbacks/{cb_id}", "/console/password"]
    supervisor = [
        "/console/calls",
        f"/console/calls/{call_id}",
        "/console/figures",
        "/console/problems",
        "/console/spot-checks",
        "/console/public/summary",
        "/console/verification",
    ]
    admin = ["/console/admin/users", "/console/admin/departments"]
    broken = _visit_all(browser, live_server, "zhang", staff)
    broken |= _visit_all(browser, live_server, "li", supervisor)
    broken |= _visit_all(browser, live_server, "root", admin)
    assert broken == {}
