"""Shared by the workbench tests (Flask test client and browser): people, callbacks, forms."""

from __future__ import annotations

import re

from storage.access.users import create_department, create_user
from storage.db import transaction
from storage.records.calls import CallDetails, get_or_create_call, record_rating

PASSWORD = "password-123"


def make_people(sessions) -> None:
    """Staff of two departments and two supervisors, all with `PASSWORD`."""
    with transaction(sessions) as session:
        create_department(session, "D-housing", "住房保障局")
        create_department(session, "D-water", "水务局")
        create_user(session, "zhang", PASSWORD, "staff", "D-housing")
        create_user(session, "wang", PASSWORD, "staff", "D-water")
        create_user(session, "li", PASSWORD, "supervisor")
        create_user(session, "zhao", PASSWORD, "supervisor")


def new_callback(sessions, sid: str, dept: str = "D-housing") -> int:
    details = CallDetails(caller="+8613812345678", agent="A07", dept=dept, tickets=("T-" + sid,))
    with transaction(sessions) as session:
        call = get_or_create_call(session, sid, details)
        session.flush()
        record_rating(session, call, "dissatisfied", "dtmf")
        session.flush()
        return call.callback.id


def csrf(client, path: str = "/console/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def form_key(page: str, action: str) -> str:
    """The submission key of the form posting to `.../<action>`."""
    form = page[page.index(f"/{action}") :]
    return re.search(r'name="submission_key" value="([^"]+)"', form).group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf(client)
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/console/login", data=form)


def post(client, path: str, form: dict, page_path: str | None = None):
    page = client.get(page_path or path.rsplit("/", 1)[0]).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    action = path.rsplit("/", 1)[1]
    data = {"csrf_token": token, "submission_key": form_key(page, action)} | form
    return client.post(path, data=data, content_type="multipart/form-data")
