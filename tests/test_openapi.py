"""The read API against its OpenAPI description (`/api/v1/openapi.json`), with Schemathesis.

Schemathesis generates requests from the description (valid and invalid parameters,
with and without the token) and checks every answer: no 5xx, a status code and a body
the description allows. The calls the API serves are real: rated by key, bad with a
callback, unrated, by the simulator.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ivr.openapi import description
from storage.access.tokens import create_token
from tests.fake_twilio import fake_twilio  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def token(sessions) -> str:
    with sessions.begin() as session:
        return create_token(session, "work-orders")


@pytest.fixture
def served_calls(place_call) -> list[str]:
    """A good, a bad (with its callback) and an unrated call, about tickets T1 and T2."""
    return [
        place_call("1", tickets=("T1",))[0].call_sid,
        place_call("5", tickets=("T1", "T2"))[0].call_sid,
        place_call("silence,silence,silence", tickets=("T2",))[0].call_sid,
    ]


@pytest.fixture
def twilio_ready(fake_twilio, monkeypatch):
    """Survey actions reach a fake Twilio REST API (set before the app reads its settings)."""
    monkeypatch.setenv("SURVEY_NUMBER", "+8610012345")
    return fake_twilio


@pytest.fixture
def api_schema(twilio_ready, app, served_calls):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


OPERATIONS = [
    ("GET", "/api/v1/calls/{call_sid}"),
    ("GET", "/api/v1/calls"),
    ("GET", "/api/v1/callbacks"),
    # These reach a fake Twilio REST API (which knows no call): 202, 400, 404 or 409.
    ("POST", "/api/v1/calls/{call_sid}/survey"),
    ("POST", "/api/v1/tickets/{ticket}/closure-survey"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_keeps_to_its_description(api_schema, token, method, path):
    """Generated requests (Schemathesis's strategy of each operation, run by Hypothesis)."""
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {token}"}
    # OpenAPI 3.0 cannot say "ticket or updated_since, at least one" (the description
    # says it in words): a request with neither is schema-valid and rightly gets 400.
    excluded = [positive_data_acceptance] if path == "/api/v1/calls" else []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(case):
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()


def test_real_calls_match_the_description(api_schema, client, served_calls, token):
    """The documented shapes, checked on real rated, bad and unrated calls."""
    headers = {"Authorization": f"Bearer {token}"}
    call = api_schema["/api/v1/calls/{call_sid}"]["GET"]
    for call_sid in served_calls:
        response = client.get(f"/api/v1/calls/{call_sid}", headers=headers)
        assert response.status_code == 200
        call.validate_response(response)
    pages = api_schema["/api/v1/calls"]["GET"]
    for query in ("ticket=T1", "ticket=T2", "updated_since=2000-01-01T00:00:00Z"):
        response = client.get(f"/api/v1/calls?{query}", headers=headers)
        assert response.status_code == 200 and response.json["items"]
        pages.validate_response(response)
    callbacks = api_schema["/api/v1/callbacks"]["GET"]
    response = client.get("/api/v1/callbacks?state=open", headers=headers)
    assert [item["call_sid"] for item in response.json["items"]] == [served_calls[1]]
    callbacks.validate_response(response)


def test_the_description_is_served_and_names_every_api_route(app, client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json == description()
    routes = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "openapi.openapi"
    }
    assert routes == set(description()["paths"])
