"""The console's browser tests (Playwright driving Debian's Chromium, the `browser`
fixture of tests/conftest.py): logging in, and screenshots in tests/output/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console_helpers import PASSWORD

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
OUTPUT = Path(__file__).resolve().parent / "output"
DESKTOP = {"width": 1200, "height": 900}


def log_in(page, base: str, username: str):
    """Log `username` in through the console's login form on `page`."""
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def login(browser, base: str, username: str, viewport=DESKTOP, heading: str | None = "回访队列"):
    """A new page with `username` logged in, showing the page titled `heading` (if given)."""
    page = log_in(browser.new_page(locale="zh-CN", viewport=viewport), base, username)
    if heading is not None:
        sync_api.expect(page.locator("h1")).to_have_text(heading)
    return page


def screenshot(page, name: str) -> None:
    """The whole page as tests/output/<name>.png."""
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / f"{name}.png", full_page=True)


PDF = b"%PDF-1.4\n% evidence\n"


def close_with_evidence(page, folder: Path, description: str) -> None:
    """On an open callback's page: close it with `description`, a PDF report as evidence
    and a satisfied caller, and see it closed (已办结)."""
    evidence = folder / "整改报告.pdf"
    evidence.write_bytes(PDF)
    page.fill("textarea[name=description]", description)
    page.set_input_files("input[name=evidence]", evidence)
    page.select_option("form[action$='/close'] select[name=feedback]", "satisfied")
    page.click("form[action$='/close'] button[type=submit]")
    sync_api.expect(page.locator("h1 .state")).to_have_text("已办结")


def reach_and_propose(page, resolution: str, note: str) -> None:
    """On a callback's page: record the caller reached, then propose `resolution` with
    `note` (the first form of each kind: a phone layout may repeat the buttons)."""
    page.check("input[name=result][value=reached]")
    page.click("form[action$='/attempt'] button[type=submit] >> nth=0")
    page.select_option("select[name=resolution]", resolution)
    page.fill("form[action$='/verdict'] textarea[name=note]", note)
    page.click("form[action$='/verdict'] button[type=submit] >> nth=0")
