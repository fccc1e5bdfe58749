"""监督查评 and malicious raters (issue 10, item 8), through the console.

Supervisors draw a seeded random share of all rated calls of a period (every category,
defaults included), record each verification call's outcome, and the figures page
shows the share confirmed. A rater whose 差评 is approved as malicious is recorded as a
keyed hash of the number, never the number, and repeat numbers are listed.
"""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import select, text

from storage.db import transaction
from storage.models import Call, MaliciousRater, User, VerificationItem
from storage.types import utcnow
from storage.workflow.callbacks import act, record_verdict, review_verdict
from storage.workflow.deadlines import local_day
from storage.workflow.malicious import number_hash
from tests.console_helpers import csrf, login, make_people, new_callback
from tests.supervisor_helpers import keyed_call

pytestmark = pytest.mark.usefixtures("fast_hashing")

LEVELS = [
    ("very_satisfied", "dtmf"),
    ("satisfied", "speech"),
    ("basically_satisfied", "default"),
    ("basically_satisfied", "dtmf"),
    ("dissatisfied", "dtmf"),
    ("very_dissatisfied", "dtmf"),
] * 3


@pytest.fixture
def rated_calls(sessions) -> list[int]:
    make_people(sessions)
    ids = [
        keyed_call(sessions, f"CA{n:032d}", level, source=source)
        for n, (level, source) in enumerate(LEVELS)
    ]
    keyed_call_unrated = "CA" + "f" * 32
    with transaction(sessions) as session:
        session.add(Call(call_sid=keyed_call_unrated, kind="hotline", disposition="hung_up"))
    return ids


def draw(client, **form) -> str:
    today = local_day(utcnow()).isoformat()
    data = {"csrf_token": csrf(client, "/console/verification"), "date_from": today}
    response = client.post("/console/verification", data=data | {"date_to": today} | form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def sampled(sessions, check_id: int) -> list[int]:
    with sessions() as session:
        statement = select(VerificationItem.call_id).where(VerificationItem.check_id == check_id)
        return sorted(session.scalars(statement))


def test_a_seeded_share_of_all_rated_calls_is_drawn_reproducibly(client, sessions, rated_calls):
    login(client, "li")
    first = int(draw(client, mode="rate", rate="25", seed="20261129").rsplit("/", 1)[1])
    again = int(draw(client, mode="rate", rate="25", seed="20261129").rsplit("/", 1)[1])
    expected = sorted(random.Random(20261129).sample(sorted(rated_calls), 5))  # ceil(18 × 25 %)
    assert sampled(sessions, first) == sampled(sessions, again) == expected
    everything = int(draw(client, mode="rate", rate="100").rsplit("/", 1)[1])
    assert sampled(sessions, everything) == sorted(rated_calls)  # the unrated call is not rated
    with sessions() as session:
        sources = set(
            session.scalars(
                select(VerificationItem.source).where(VerificationItem.check_id == everything)
            )
        )
        levels = set(
            session.scalars(
                select(VerificationItem.level).where(VerificationItem.check_id == everything)
            )
        )
    assert sources == {"dtmf", "speech", "default"}
    assert levels == {level for level, _ in LEVELS}
    page = client.get(f"/console/verification/{first}").get_data(as_text=True)
    assert "从 18 条已评价来电中抽取 5 条" in page and "20261129" in page


def record(client, check_id: int, item_id: int, outcome: str, note: str = "") -> str:
    path = f"/console/verification/{check_id}"
    form = {"csrf_token": csrf(client, path), "outcome": outcome, "note": note}
    client.post(f"{path}/items/{item_id}", data=form)
    return client.get(path).get_data(as_text=True)


def test_outcomes_are_recorded_and_the_figures_show_the_share_confirmed(
    client, sessions, rated_calls
):
    login(client, "li")
    check_id = int(draw(client, mode="count", count="4", seed="7").rsplit("/", 1)[1])
    with sessions() as session:
        items = session.scalars(
            select(VerificationItem.id).where(VerificationItem.check_id == check_id)
        ).all()
    record(client, check_id, items[0], "confirmed")
    record(client, check_id, items[1], "confirmed", "来电人确认评价")
    refused = record(client, check_id, items[2], "denied")
    assert "未保存：来电人否认评价时，请写明核实情况。" in refused
    page = record(client, check_id, items[2], "denied", "来电人称当天未拨打热线")
    page = record(client, check_id, items[3], "unreachable", "三次无人接听")
    assert "属实 2，否认 1，联系不上 1（属实率 66.7%" in page
    figures = client.get("/console/figures").get_data(as_text=True)
    share = re.search(r'id="verification-share">(.*?)</p>', figures, re.S).group(1)
    assert "抽查 4 条，已核实 4 条" in share and "属实率 <strong>66.7%</strong>" in share
    # A corrected outcome replaces the first one: the share follows.
    record(client, check_id, items[2], "confirmed", "复核：来电人记起已评价")
    figures = client.get("/console/figures").get_data(as_text=True)
    assert "属实率 <strong>100.0%</strong>" in figures


def test_staff_cannot_draw_or_see_samples(client, sessions, rated_calls):
    login(client, "zhang")
    assert client.get("/console/verification").status_code == 403


def approve(sessions, callback_id: int, resolution: str) -> None:
    with sessions() as session:
        staff = session.scalars(select(User).where(User.username == "zhang")).one()
        boss = session.scalars(select(User).where(User.username == "li")).one()
    from storage.workflow.callbacks import log_attempt

    act(sessions, log_attempt, staff, callback_id, "reached")
    act(sessions, record_verdict, staff, callback_id, resolution, "多次无理差评，录音可证")
    act(sessions, review_verdict, boss, callback_id, True, "同意")


def test_a_malicious_rater_is_recorded_as_a_keyed_hash_and_repeats_are_listed(
    client, sessions, monkeypatch
):
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-for-hashing-0123456789")
    make_people(sessions)
    number = "+8613812345678"  # new_callback's caller
    first, second = new_callback(sessions, "CA1"), new_callback(sessions, "CA2")
    mistaken = new_callback(sessions, "CA3")
    approve(sessions, first, "malicious")
    login(client, "li")
    page = client.get("/console/verification").get_data(as_text=True)
    assert "暂无多次被认定的号码" in page  # once is not yet a repeat
    approve(sessions, second, "malicious")
    approve(sessions, mistaken, "mistaken")  # a mistake is no malice: not recorded
    with sessions() as session:
        rows = session.scalars(select(MaliciousRater).order_by(MaliciousRater.id)).all()
        dump = " ".join(
            str(value)
            for row in session.execute(text("SELECT * FROM malicious_raters"))
            for value in row
        )
    assert [row.callback_id for row in rows] == [first, second]
    digest = number_hash(number, "test-secret-key-for-hashing-0123456789")
    assert {row.number_hash for row in rows} == {digest}
    assert number_hash(number, "another-key") != digest  # keyed: no key, no lookup
    assert "13812345678" not in dump and "5678" not in dump
    page = client.get("/console/verification").get_data(as_text=True)
    repeats = page[page.index('id="repeat-raters"') :]
    assert f"<code>{digest[:10]}</code></td><td>2</td>" in repeats
    assert f"/console/callbacks/{first}" in repeats and f"/console/callbacks/{second}" in repeats
    assert f"/console/callbacks/{mistaken}" not in repeats
    assert "13812345678" not in repeats
