"""Twilio's callbacks at scale: late, early, twice, and `absent` recordings, 200 calls.

Within one call, the requests the caller's actions make (survey start, key press,
recorded reason) come in order, since each URL is known only from the previous
answer; Twilio's asynchronous callbacks (call status, recording status) come at any
time and sometimes twice. Every delivery of 200 calls is shuffled and sent from 10
threads; whatever the order, each call ends with exactly the stored effects it must.
"""

from __future__ import annotations

import random
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from storage.models import Call, OutboxJob, Recording
from tests.conftest import BASE_URL, sign
from tests.helpers import stored_call

pytestmark = pytest.mark.slow

CALLS = 200
START = "/voice/survey?lang=ko-KR&agent=A7&dept=D-housing&tickets=T1"
KEY = "/voice/survey/input?lang=ko-KR&node=ask&reasks=0"
REASON = "/voice/survey/reason?lang=ko-KR&node=reason&reasks=0"
RECORDING_STATUS = "/voice/survey/recording-status?lang=ko-KR&purpose=reason"
LEVELS = {"1": "very_satisfied", "2": "satisfied", "3": "basically_satisfied"}
LEVELS |= {"4": "dissatisfied", "5": "very_dissatisfied"}


@dataclass
class PlannedCall:
    """One call: which key (or none), and whether a reason recording exists."""

    number: int
    key: str | None
    reason: str | None  # None, "present" or "absent"

    @property
    def sid(self) -> str:
        return f"CA{self.number:032x}"

    @property
    def recording_sid(self) -> str:
        return f"RE{self.number:032x}"

    def form(self, **extra: str) -> dict[str, str]:
        return {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": "+821012345678"} | extra

    def chain(self) -> list[tuple[str, dict[str, str]]]:
        """The caller's own requests, in order."""
        steps = [(START, self.form(CallStatus="in-progress", DialCallStatus="completed"))]
        if self.key:
            steps.append((KEY, self.form(CallStatus="in-progress", Digits=self.key)))
        if self.reason:
            steps.append((REASON, self.form(CallStatus="in-progress", **self._recording())))
        return steps

    def callbacks(self) -> list[tuple[str, dict[str, str]]]:
        """Twilio's asynchronous callbacks, each delivered twice."""
        once = [("/voice/status", self.form(CallStatus="completed", CallDuration="40"))]
        if self.reason:
            status = "completed" if self.reason == "present" else "absent"
            once.append((RECORDING_STATUS, self.form(RecordingStatus=status, **self._recording())))
        return once * 2

    def _recording(self) -> dict[str, str]:
        if self.reason == "absent":
            return {"RecordingSid": self.recording_sid, "RecordingDuration": "0"}
        return {
            "RecordingSid": self.recording_sid,
            "RecordingUrl": f"https://api.twilio.com/Recordings/{self.recording_sid}",
            "RecordingDuration": "6",
        }


def _plan(rng: random.Random) -> list[PlannedCall]:
    calls = []
    for number in range(CALLS):
        key = rng.choice(["1", "2", "3", "4", "5", None])
        reason = rng.choice(["present", "absent"]) if key in ("4", "5") else None
        calls.append(PlannedCall(number + 1, key, reason))
    return calls


def test_shuffled_and_repeated_callbacks_of_200_calls(live_server, sessions):
    rng = random.Random(6)
    calls = _plan(rng)
    tasks = [call.chain() for call in calls]
    tasks += [[callback] for call in calls for callback in call.callbacks()]
    rng.shuffle(tasks)
    http = requests.Session()

    def deliver(requests_in_order):
        answers = []
        for path, form in requests_in_order:
            headers = {"X-Twilio-Signature": sign(BASE_URL + path, form)}
            answers.append(http.post(live_server + path, data=form, headers=headers, timeout=15))
        return answers

    with ThreadPoolExecutor(10) as pool:
        answers = [answer for batch in pool.map(deliver, tasks) for answer in batch]
    assert all(answer.status_code == 200 for answer in answers)
    assert all(ET.fromstring(answer.content).tag == "Response" for answer in answers)

    with sessions() as session:
        assert len(session.scalars(select(Call)).all()) == CALLS
        recordings = {r.recording_sid: r for r in session.scalars(select(Recording))}
        jobs = [job.dedupe_key for job in session.scalars(select(OutboxJob))]
    assert len(jobs) == len(set(jobs)), "no job recorded twice"
    for planned in calls:
        call = stored_call(sessions, planned.sid)
        assert (call.agent, call.dept, [t.ticket for t in call.tickets]) == (
            "A7",
            "D-housing",
            ["T1"],
        )
        if planned.key is None:
            assert call.rating is None and call.disposition == "hung_up"
            continue
        assert call.rating.level == LEVELS[planned.key] and call.disposition == "rated"
        assert (call.callback is not None) == (planned.key in "45")
        assert f"rated:{call.id}" in jobs
        if planned.reason is None:
            continue
        recording = recordings[planned.recording_sid]
        job_key = f"recording:{planned.recording_sid}"
        if planned.reason == "absent":
            assert (recording.status, recording.outcome) == ("failed", "absent")
            assert job_key not in jobs
        else:
            assert recording.status == "pending" and recording.url
            assert recording.duration_seconds == 6
            assert job_key in jobs
    assert len(recordings) == sum(1 for planned in calls if planned.reason)


def test_a_key_press_and_the_status_callback_at_the_same_instant(live_server, sessions):
    """Both change the call's disposition: the later one must see the earlier one's
    change (rated stays rated), on PostgreSQL's concurrent transactions too."""
    calls = [PlannedCall(1000 + number, "2", None) for number in range(40)]
    for planned in calls:
        start_path, start_form = planned.chain()[0]
        headers = {"X-Twilio-Signature": sign(BASE_URL + start_path, start_form)}
        requests.post(live_server + start_path, data=start_form, headers=headers, timeout=15)
    deliveries = []
    for planned in calls:
        deliveries += [planned.chain()[1], planned.callbacks()[0]]
    barrier = threading.Barrier(len(deliveries))

    def deliver(delivery):
        path, form = delivery
        headers = {"X-Twilio-Signature": sign(BASE_URL + path, form)}
        barrier.wait()
        return requests.post(live_server + path, data=form, headers=headers, timeout=15)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        answers = list(pool.map(deliver, deliveries))
    assert all(answer.status_code == 200 for answer in answers)

    def all_rated() -> bool:  # what waited past the 2 s bound was kept and is applied now
        try:
            found = [stored_call(sessions, planned.sid) for planned in calls]
        except OperationalError:  # the kept entries being applied hold the lock a moment
            return False
        return all(call is not None and call.rating is not None for call in found)

    deadline = time.monotonic() + 20
    while not all_rated() and time.monotonic() < deadline:
        time.sleep(0.2)
    for planned in calls:
        call = stored_call(sessions, planned.sid)
        assert (call.rating.level, call.disposition) == ("satisfied", "rated")
