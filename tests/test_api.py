"""The read API for the work-order system: tokens, calls, callbacks, paging."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import main
from storage.access.tokens import create_token
from storage.models import ApiToken


@pytest.fixture
def token(sessions) -> str:
    with sessions.begin() as session:
        return create_token(session, "work-orders")


def _get(client, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def test_token_create_prints_only_the_token_and_stores_its_hash(env, sessions):
    result = CliRunner().invoke(main, ["token", "create", "work-orders"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n"
    assert secret.startswith("ivr_") and len(secret) > 40
    with sessions() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert stored.name == "work-orders"
    assert secret not in stored.token_hash


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer ivr_wrong",
        "Basic dXNlcjpwYXNz",
        "bearer ivr_" + "x" * 500,
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/calls/CA1", "/api/v1/callbacks?state=open", "/api/v1/calls?ticket=T1"]
)
def test_without_a_valid_token_the_api_answers_401(client, header, path):
    response = client.get(path, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_a_revoked_token_is_refused(client, sessions, token):
    from storage.types import utcnow

    with sessions.begin() as session:
        session.scalars(select(ApiToken)).one().revoked_at = utcnow()
    assert _get(client, "/api/v1/callbacks", token).status_code == 401


def test_a_rated_call_as_the_contract_shows_it(client, place_call, token):
    script, _ = place_call(
        "4", agent="A1024", dept="D-housing", tickets=("T1", "T2"), caller="+8613812340000"
    )
    response = _get(client, f"/api/v1/calls/{script.call_sid}", token)
    assert response.status_code == 200
    body = response.get_json()
    assert body["call_sid"] == script.call_sid
    assert (body["lang"], body["agent"], body["dept"], body["tickets"]) == (
        "zh-CN",
        "A1024",
        "D-housing",
        ["T1", "T2"],
    )
    assert body["caller"] == "138****0000"
    assert body["disposition"] == "rated"
    rating = body["rating"]
    assert (rating["level"], rating["category"], rating["source"]) == (
        "dissatisfied",
        "bad",
        "dtmf",
    )
    assert rating["rated_at"].endswith("Z")
    callback = body["callback"]
    assert callback["state"] == "open"
    assert callback["overdue"] is False
    assert callback["resolution"] is None and callback["rectify_due_at"] is None
    assert callback["due_at"].endswith("Z") and callback["due_at"] > rating["rated_at"]


def test_an_unrated_call_has_null_rating_and_callback(client, place_call, token):
    script, _ = place_call("hangup")
    body = _get(client, f"/api/v1/calls/{script.call_sid}", token).get_json()
    assert body["rating"] is None and body["callback"] is None
    assert body["disposition"] == "hung_up"


def test_an_unknown_call_is_404(client, token):
    assert _get(client, "/api/v1/calls/CA0000", token).status_code == 404


def test_ids_no_database_can_hold_are_refused_not_crashed_on(client, token):
    """A NUL or an overlong id (PostgreSQL text cannot hold NUL) is a clear 4xx, not a 500."""
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.get("/api/v1/calls/CA%00x", headers=headers)
    assert refused.status_code == 404 and refused.is_json, "the API answers in JSON"
    assert client.get("/api/v1/calls/" + "C" * 65, headers=headers).status_code == 404
    response = client.get(f"/api/v1/calls?ticket={'T' * 65}", headers=headers)
    assert response.status_code == 400 and response.json["error"] == "ticket is malformed"
    stripped = client.get("/api/v1/calls?ticket=T%001", headers=headers)  # control chars go
    assert stripped.status_code == 200 and stripped.json["items"] == []


def test_open_callbacks_earliest_deadline_first(client, place_call, token, sessions):
    from storage.models import Callback

    sids = [place_call(key)[0].call_sid for key in ("5", "1", "4", "3", "5")]
    bad = [sids[0], sids[2], sids[4]]
    with sessions.begin() as session:  # make the last one the most urgent
        callbacks = session.scalars(select(Callback).order_by(Callback.id)).all()
        callbacks[-1].due_at = callbacks[0].due_at.replace(year=2020)
    response = _get(client, "/api/v1/callbacks?state=open", token)
    items = response.get_json()["items"]
    assert [item["call_sid"] for item in items] == [bad[2], bad[0], bad[1]]
    assert all(item["state"] == "open" and item["dept"] == "D-housing" for item in items)
    assert _get(client, "/api/v1/callbacks?state=closed", token).get_json()["items"] == []
    assert _get(client, "/api/v1/callbacks?state=bogus", token).status_code == 400


def test_calls_by_ticket(client, place_call, token):
    first, _ = place_call("1", tickets=("T9", "T10"))
    place_call("2", tickets=("T11",))
    items = _get(client, "/api/v1/calls?ticket=T10", token).get_json()["items"]
    assert [item["call_sid"] for item in items] == [first.call_sid]


def test_calls_updated_since_page_by_page(client, place_call, token, monkeypatch):
    import ivr.api

    monkeypatch.setattr(ivr.api, "PAGE_SIZE", 3)
    sids = [place_call(str(i % 5 + 1))[0].call_sid for i in range(7)]
    seen, cursor = [], None
    for _ in range(5):
        path = "/api/v1/calls?updated_since=2000-01-01T00:00:00Z" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = _get(client, path, token).get_json()
        seen += [item["call_sid"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sids
    assert (
        _get(client, "/api/v1/calls?updated_since=2999-01-01T00:00:00Z", token).get_json()["items"]
        == []
    )
    assert _get(client, "/api/v1/calls?updated_since=yesterday", token).status_code == 400
    assert (
        _get(client, "/api/v1/calls?updated_since=2000-01-01&cursor=%%%", token).status_code == 400
    )
    assert _get(client, "/api/v1/calls", token).status_code == 400
