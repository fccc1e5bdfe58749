"""Every parameter of every route, given hostile values, gets a clear 4xx (or the
documented 502/503 when Twilio cannot be reached), never a 500 (issue 11, item 11).

Routes come from the app's URL map; each route's parameter names are read from the
source of the module that serves it (so a new parameter is swept without editing this
file). Webhooks are signed like Twilio's; console forms carry their CSRF token.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import sys
from urllib.parse import quote

import pytest

from storage.access.tokens import create_token
from storage.access.users import create_user
from storage.db import transaction
from tests.conftest import BASE_URL, sign
from tests.console_helpers import PASSWORD, csrf, login, make_people, new_callback
from tests.supervisor_helpers import spoken_call

pytestmark = pytest.mark.usefixtures("fast_hashing")

DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE = (
    "9999-01-01",
    "0001-01-01",
    "9999-12-31T23:59:59-14:00",
    "2026-01-01T00:00:00",  # naive
    base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00Z", 10**40]).encode()).decode(),
    "9" * 400,
    "-1",
    "x\x00y",
    "=cmd|' /C calc'!A0",
    "x" * 5000,
)
ONE_BY_ONE = HOSTILE[:6]
NAME_PATTERNS = (
    r"""(?:args|form|values|data|get)\.get(?:list)?\(\s*["'](\w+)["']""",
    r"""(?:args|form|values)\[\s*["'](\w+)["']\]""",
    r"""(?:_text|field|sid)\(\s*(?:data,\s*)?["'](\w+)["']""",
)
SKIP = {"static", "console.logout", "console.login"}  # logout/login are tested apart
SID = "CA" + "a" * 32


def parameter_names(view) -> set[str]:
    """The request parameters the view's module (and the filters it parses) reads."""
    module = sys.modules[view.__module__]
    source = inspect.getsource(module)
    if "parse_filter" in source or "read_period" in source:
        import ivr.console.figures
        import storage.reports.call_search

        source += inspect.getsource(storage.reports.call_search) + inspect.getsource(
            ivr.console.figures
        )
    names = {name for pattern in NAME_PATTERNS for name in re.findall(pattern, source)}
    return names | {"date_from", "date_to", "page", "cursor"}


def fill_path(rule, value: str | None = None) -> list[str]:
    """The rule's URL with real ids; with `value`, one URL per string part set to it."""
    samples = {"fmt": "csv", "code": "D-housing", "lang": "zh-CN", "name": "ask"}
    samples |= {"call_sid": SID, "ticket": "T1", "filename": "console.css"}
    base = {arg: samples.get(arg, "1") for arg in rule.arguments}
    if value is None:
        return [rule.build(base, append_unknown=False)[1]]
    urls = []
    for arg, converter in rule._converters.items():
        if type(converter).__name__ in ("UnicodeConverter", "PathConverter"):
            parts = base | {arg: quote(value, safe="")}
            urls.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m, p=parts: str(p[m[1]]), rule.rule))
    return urls


@pytest.fixture
def world(app, sessions, monkeypatch):
    """People, a callback, a spoken call, an API token; Twilio unreachable."""
    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")
        token = create_token(session, "sweep")
    new_callback(sessions, "CA1")
    spoken_call(sessions, "CA2")
    monkeypatch.setenv("TWILIO_API_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    return {"Authorization": f"Bearer {token}"}


def _failed(response) -> bool:
    if response.status_code < 500:
        return False
    documented = response.status_code in (502, 503) and response.is_json
    return not documented


@pytest.mark.slow
def test_every_parameter_of_every_route_answers_hostile_values_clearly(app, world):
    supervisor, admin = app.test_client(), app.test_client()
    login(supervisor, "li")
    login(admin, "root")
    tokens = {
        "li": csrf(supervisor, "/console/queue"),
        "root": csrf(admin, "/console/admin/users"),
    }
    failures, sent = [], 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        view = app.view_functions[rule.endpoint]
        client, who = (admin, "root") if "admin" in rule.rule else (supervisor, "li")
        names = parameter_names(view)
        url = fill_path(rule)[0]
        for value in HOSTILE:
            # Every parameter at once, then (for the values most likely to break a
            # parser) each one alone, so that one refusal cannot hide another.
            alone = [{name: value} for name in names] if value in ONE_BY_ONE else []
            for params in [dict.fromkeys(names, value), *alone]:
                response = _send(client, rule, url, params, world, tokens[who])
                sent += 1
                if _failed(response):
                    failures.append((response.status_code, rule.rule, sorted(params), value[:30]))
            for url in fill_path(rule, value):
                response = _send(client, rule, url, {}, world, tokens[who])
                sent += 1
                if _failed(response):
                    failures.append((response.status_code, url[:80], "path", value[:30]))
        if "POST" in rule.methods and rule.rule.startswith("/api/"):
            url = fill_path(rule)[0]
            headers = world | {"Content-Type": "application/json"}
            response = supervisor.post(url, data=DEEP, headers=headers)
            assert response.status_code == 400 and "JSON object" in response.json["error"]
    assert sent > 500
    assert failures == []


def _send(client, rule, url: str, params: dict[str, str], auth: dict, token: str):
    """GET with the values in the query; POST as the route's caller would send it."""
    if "POST" not in rule.methods:
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        return client.get(url + (f"?{query}" if query else ""), headers=auth)
    if url.startswith("/api/"):
        return client.post(url, json=params, headers=auth)
    if url.startswith(("/voice/", "/sms/")):
        form = {"CallSid": SID, "From": "+8613800000000", "To": "+8612345000000"} | params
        query = "agent=A1&dept=D-housing&tickets=T1"
        signature = sign(f"{BASE_URL}{url}?{query}", form)
        return client.post(f"{url}?{query}", data=form, headers={"X-Twilio-Signature": signature})
    form = {"csrf_token": token, "submission_key": "sweep-key"} | params
    return client.post(url, data=form)
