"""Hostile input: forged proxy headers, login brute force, path traversal, and
property-based (Hypothesis) fuzzing of every webhook and console form.

Every answer is valid TwiML or a clear 4xx, never a 5xx; nothing leaks from disk.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr import create_app
from storage.models import Rating
from tests.conftest import BASE_URL, sign
from tests.console_helpers import csrf, form_key, login, make_people, new_callback
from tests.helpers import count

pytestmark = pytest.mark.usefixtures("fast_hashing")

SID = "CA" + "d" * 32
INPUT = "/voice/survey/input?lang=zh-CN&node=ask&reasks=0"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def behind_proxy(env, monkeypatch):
    """The app behind one TLS-terminating proxy (TRUSTED_PROXIES=1)."""
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    return create_app().test_client()


# --- a TLS-terminating proxy in front of the web processes ---------------------------


def test_a_request_signed_for_the_public_url_passes_through_the_proxy(behind_proxy, sessions):
    form = {"CallSid": SID, "Digits": "2", "CallStatus": "in-progress"}
    headers = {
        "X-Twilio-Signature": sign(BASE_URL + INPUT, form),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "ivr.example.test",
        "X-Forwarded-For": "54.172.60.1",
    }
    response = behind_proxy.post(INPUT, data=form, headers=headers, base_url="http://10.0.0.5:5000")
    assert response.status_code == 200 and "thanks" in response.get_data(as_text=True)
    assert count(sessions, Rating) == 1


@pytest.mark.parametrize("forged_host", ["attacker.example", "ivr.example.test.attacker.example"])
def test_a_forged_forwarded_host_does_not_pass(behind_proxy, sessions, forged_host):
    """Signed (with the real token, e.g. replayed from another deployment) for another
    host, and that host claimed in X-Forwarded-Host: refused, nothing written."""
    form = {"CallSid": SID, "Digits": "2", "CallStatus": "in-progress"}
    headers = {
        "X-Twilio-Signature": sign(f"https://{forged_host}{INPUT}", form),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": forged_host,
    }
    response = behind_proxy.post(INPUT, data=form, headers=headers, base_url="http://10.0.0.5:5000")
    assert response.status_code == 403
    assert count(sessions, Rating) == 0


def test_trusted_proxies_must_be_a_small_number(env, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "all")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        create_app()


# --- login brute force ---------------------------------------------------------------


def _login_from(client, address: str, password: str, forwarded: str | None = None):
    token = csrf(client)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/console/login",
        data={"username": "zhang", "password": password, "csrf_token": token},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def test_behind_a_proxy_the_limit_is_per_client_not_per_proxy(behind_proxy, sessions):
    make_people(sessions)
    for _ in range(5):
        assert _login_from(behind_proxy, "10.0.0.2", "guess", "198.51.100.7").status_code == 401
    assert _login_from(behind_proxy, "10.0.0.2", "password-123", "198.51.100.7").status_code == 429
    other = create_app().test_client()  # the real user, elsewhere, same proxy
    assert _login_from(other, "10.0.0.2", "password-123", "203.0.113.9").status_code == 302


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_reset_the_limit(client, sessions):
    make_people(sessions)
    for number in range(5):
        forged = f"192.0.2.{number}"
        assert _login_from(client, "198.51.100.7", "guess", forged).status_code == 401
    blocked = _login_from(client, "198.51.100.7", "password-123", "192.0.2.200")
    assert blocked.status_code == 429


# --- path traversal --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/prompts/zh-CN/..%2F..%2F..%2Fpyproject.wav",
        "/prompts/..%2Fprompts/welcome.wav",
        "/prompts/zh-CN/%2Fetc%2Fpasswd.wav",
        "/prompts/zh-CN/....%2F%2Fpyproject.wav",
        "/prompts/zh-CN%2F..%2F..%2Finstance/secret_key.wav",
        "/prompts/zh-CN/..%5C..%5Cpyproject.wav",
        "/prompts/zh-CN/%00.wav",
        "/prompts/../../etc/passwd",
    ],
)
def test_prompt_paths_never_leave_the_prompt_folder(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert b"[project]" not in response.data and b"root:" not in response.data


@pytest.mark.parametrize(
    "suffix",
    ["evidence/..%2F..%2Fsecret_key", "evidence/-1", "evidence/1%2F..%2F.."],
)
def test_evidence_paths_never_leave_the_file_store(client, sessions, suffix):
    make_people(sessions)
    callback_id = new_callback(sessions, SID)
    login(client, "li")
    response = client.get(f"/console/callbacks/{callback_id}/{suffix}")
    assert response.status_code in (400, 404)


# --- Hypothesis: every webhook ---------------------------------------------------------

WEBHOOKS = [
    "/voice/survey",
    "/voice/survey/input",
    "/voice/survey/recorded",
    "/voice/survey/silence",
    "/voice/survey/wait",
    "/voice/survey/reason",
    "/voice/survey/recording-status",
    "/voice/status",
]
FIELDS = [
    "CallSid",
    "Digits",
    "CallStatus",
    "DialCallStatus",
    "From",
    "To",
    "RecordingSid",
    "RecordingUrl",
    "RecordingStatus",
    "RecordingDuration",
]
QUERY = ["lang", "node", "reasks", "heard", "rec", "n", "purpose", "agent", "dept", "tickets", "ko"]
values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", "1", "4", "*", "#", "hangup", "completed", "absent", "-1", "1e309"]),
    st.from_regex(r"CA[0-9a-f]{32}", fullmatch=True),
    st.just("x" * 5000),
)
# What an HTTP header can carry at all (no control characters, e.g. no newlines).
header_values = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=60)
forms = st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS))
queries = st.dictionaries(
    st.sampled_from(QUERY),
    st.one_of(values, st.sampled_from(["zh-CN", "ko-KR", "ask", "reason", "satisfied", "99"])),
    max_size=5,
)


@FUZZ
@given(path=st.sampled_from(WEBHOOKS), form=forms, query=queries)
def test_any_signed_webhook_gets_valid_twiml(client, path, form, query):
    from urllib.parse import urlencode

    form = {k: v.replace("\x00", "") for k, v in form.items()}
    full = path + ("?" + urlencode(query) if query else "")
    response = client.post(
        full, data=form, headers={"X-Twilio-Signature": sign(BASE_URL + full, form)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/xml"
    assert ET.fromstring(response.get_data()).tag == "Response"


@FUZZ
@given(path=st.sampled_from(WEBHOOKS), form=forms, signature=header_values)
def test_any_unsigned_webhook_gets_403(client, path, form, signature):
    form = {k: v.replace("\x00", "") for k, v in form.items()}
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


# --- Hypothesis: every console form ------------------------------------------------------

text = st.one_of(st.text(max_size=100), st.just("x" * 3000), st.sampled_from(["", "0", "-1"]))


@FUZZ
@given(username=text, password=text, with_token=st.booleans())
def test_any_login_form_gets_a_clear_answer(client, sessions, username, password, with_token):
    data = {"username": username, "password": password}
    if with_token:
        data["csrf_token"] = csrf(client)
    response = client.post("/console/login", data=data)
    assert response.status_code in (302, 400, 401, 429)


ACTIONS = {
    "attempt": ["outcome", "note"],
    "verdict": ["resolution", "note"],
    "review": ["decision", "note"],
    "close": ["note", "result"],
    "assign": ["assignee", "note"],
    "take": [],
    "reopen": ["note"],
    "consult-note": ["note"],
}


@pytest.fixture
def supervisor(client, sessions):
    make_people(sessions)
    callback_id = new_callback(sessions, SID)
    assert login(client, "li").status_code == 302
    return callback_id


@FUZZ
@given(
    action=st.sampled_from(sorted(ACTIONS)),
    fields=st.dictionaries(
        st.sampled_from(
            ["outcome", "resolution", "decision", "note", "result", "reached", "assignee", "x"]
        ),
        text,
        max_size=4,
    ),
    valid_key=st.booleans(),
)
def test_any_console_form_gets_a_clear_answer(client, supervisor, action, fields, valid_key):
    page = client.get(f"/console/callbacks/{supervisor}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key = form_key(page, action) if valid_key and f"/{action}" in page else "forged"
    data = {"csrf_token": token, "submission_key": key} | fields
    response = client.post(
        f"/console/callbacks/{supervisor}/{action}", data=data, content_type="multipart/form-data"
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.status_code in (200, 302, 303, 400, 403, 404, 409, 413, 422)
