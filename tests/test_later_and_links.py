"""Rating later by calling the survey line again (补充评价), one rating for a batch of
tickets, and the proxy/applicant pair sharing one rating (帮办代办)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.access.tokens import create_token
from storage.db import transaction
from storage.models import Call, CallEvent
from storage.types import utcnow
from tests.helpers import callbacks_of, ratings_of, stored_call
from workers.duties import give_default_ratings

CALLER = "+8613811112222"
SURVEY_LINE = {"agent": None, "dept": None, "tickets": (), "dial_status": None}


def age(sessions, sid: str, days: float) -> None:
    """Move a call `days` into the past."""
    with transaction(sessions) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
        call.created_at = utcnow() - timedelta(days=days)


def hung_up_call(place_call, sessions, days: float, caller: str = CALLER, **script) -> str:
    """A hotline call whose caller hung up at the question, `days` ago."""
    call, _ = place_call("hangup", caller=caller, **script)
    assert stored_call(sessions, call.call_sid).disposition == "hung_up"
    age(sessions, call.call_sid, days)
    return call.call_sid


def test_a_caller_rates_an_earlier_call_by_calling_the_survey_line(place_call, sessions):
    earlier = hung_up_call(place_call, sessions, days=2, dept="D-water", tickets=("T9",))
    later, outcome = place_call("1,4", caller=CALLER, **SURVEY_LINE)
    assert outcome.heard[:4] == ["later_offer", "days_ago_2", "later_options", "ask_rating"]
    assert ratings_of(sessions, later.call_sid) == []
    [rating] = ratings_of(sessions, earlier)
    assert (rating.level, rating.source) == ("dissatisfied", "dtmf")
    [callback] = callbacks_of(sessions, earlier)
    assert callback.dept == "D-water"  # the earlier call's department follows it up
    survey_call = stored_call(sessions, later.call_sid)
    assert survey_call.kind == "later" and survey_call.disposition == "rated"
    # Rated now: calling again finds nothing to rate, says so and stores nothing.
    again_call, again = place_call("3", caller=CALLER, **SURVEY_LINE)
    assert again.heard == ["nothing_to_rate"]
    assert len(ratings_of(sessions, earlier)) == 1
    assert ratings_of(sessions, again_call.call_sid) == []


def test_the_most_recent_unrated_call_within_the_window_is_offered(place_call, sessions):
    too_old = hung_up_call(place_call, sessions, days=17)
    older = hung_up_call(place_call, sessions, days=5)
    newest = hung_up_call(place_call, sessions, days=1)
    hung_up_call(place_call, sessions, days=0, caller="+8613899990000")  # someone else's
    _, first = place_call("1,2", caller=CALLER, **SURVEY_LINE)
    assert first.heard[1] == "days_ago_1"
    assert ratings_of(sessions, newest)[0].level == "satisfied"
    _, declined = place_call("2", caller=CALLER, **SURVEY_LINE)
    assert declined.heard[:2] == ["later_offer", "days_ago_5"]
    assert declined.heard[-1] == "goodbye"
    assert ratings_of(sessions, older) == []
    assert ratings_of(sessions, too_old) == []


def test_a_call_rated_once_is_not_rated_again_through_a_later_call(place_call, sessions):
    earlier = hung_up_call(place_call, sessions, days=1)
    place_call("1,5", caller=CALLER, **SURVEY_LINE)
    _, second = place_call("1,1", caller=CALLER, **SURVEY_LINE)
    assert second.heard == ["nothing_to_rate"]  # nothing left to offer
    assert [r.level for r in ratings_of(sessions, earlier)] == ["very_dissatisfied"]


def test_one_rating_covers_every_ticket_of_the_call(place_call, sessions, client):
    call, _ = place_call("2", tickets=("T1", "T2", "T3"))
    _, again = place_call("5", call_sid=call.call_sid, tickets=("T1", "T2", "T3"))
    assert again.heard == ["already_rated"]
    with sessions.begin() as session:
        token = create_token(session, "work-orders")
    headers = {"Authorization": f"Bearer {token}"}
    for ticket in ("T1", "T2", "T3"):
        [item] = client.get(f"/api/v1/calls?ticket={ticket}", headers=headers).json["items"]
        assert item["call_sid"] == call.call_sid
        assert item["rating"]["level"] == "satisfied"
    assert len(ratings_of(sessions, call.call_sid)) == 1


def test_a_proxy_rating_closes_the_applicants_call(place_call, sessions, client):
    applicant = hung_up_call(place_call, sessions, days=1)
    proxy, _ = place_call("4", caller="+8613700000001", linked=applicant)
    closed = stored_call(sessions, applicant)
    assert closed.disposition == "rated_by_link" and closed.rating is None
    assert stored_call(sessions, proxy.call_sid).linked_call_id == closed.id
    # Never asked again: not by its own survey, nor offered on the survey line …
    _, asked = place_call("1", call_sid=applicant, caller=CALLER)
    assert asked.heard == ["already_rated"]
    _, offered = place_call("1", caller=CALLER, **SURVEY_LINE)
    assert offered.heard == ["nothing_to_rate"]
    assert ratings_of(sessions, applicant) == []
    # … nor defaulted by the sweep.
    give_default_ratings(sessions, utcnow() + timedelta(days=9))
    assert ratings_of(sessions, applicant) == []
    with sessions.begin() as session:
        token = create_token(session, "work-orders")
    got = client.get(f"/api/v1/calls/{applicant}", headers={"Authorization": f"Bearer {token}"})
    assert got.json["disposition"] == "rated_by_link"
    assert got.json["linked_call"] == proxy.call_sid


def test_the_applicant_rating_first_closes_the_proxy_call(place_call, sessions):
    applicant, _ = place_call("2")
    proxy, outcome = place_call("5", caller="+8613700000001", linked=applicant.call_sid)
    assert outcome.heard == ["already_rated"]
    assert stored_call(sessions, proxy.call_sid).disposition == "rated_by_link"
    assert [r.level for r in ratings_of(sessions, applicant.call_sid)] == ["satisfied"]
    assert ratings_of(sessions, proxy.call_sid) == []


def test_an_unrated_pair_gets_one_default_rating(place_call, sessions):
    applicant = hung_up_call(place_call, sessions, days=1)
    proxy = hung_up_call(place_call, sessions, days=1, caller="+861370001", linked=applicant)
    now = utcnow() + timedelta(days=9)
    assert give_default_ratings(sessions, now) == 1
    assert give_default_ratings(sessions, now) == 0
    assert [r.source for r in ratings_of(sessions, applicant)] == ["default"]
    assert stored_call(sessions, proxy).disposition == "rated_by_link"
    with sessions() as session:
        kinds = session.scalars(
            select(CallEvent.kind).join(Call).where(Call.call_sid == proxy)
        ).all()
    assert "rated_by_link" in kinds


def test_a_repeated_start_of_a_later_call_offers_the_same_call(place_call, sessions, post):
    earlier = hung_up_call(place_call, sessions, days=3)
    form = {
        "CallSid": "CA" + "7" * 32,
        "From": CALLER,
        "To": "+8610012345",
        "CallStatus": "ringing",
    }
    first = post("/voice/survey", form).get_data(as_text=True)
    again = post("/voice/survey", form).get_data(as_text=True)
    assert "days_ago_3.wav" in first and first == again
    later = stored_call(sessions, form["CallSid"])
    assert later.kind == "later" and later.rates_call_id == stored_call(sessions, earlier).id
