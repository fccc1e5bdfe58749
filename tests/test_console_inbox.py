"""The inbox's 'mark read' button: one category read leaves the others unread."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.access.users import find_user
from storage.db import transaction
from storage.models import Callback, Notification
from storage.workflow.inbox import KIND_DUE_SOON, KIND_NEW, notify
from tests.console_helpers import csrf, login, make_people, new_callback

pytestmark = pytest.mark.usefixtures("fast_hashing")


def unread_kinds(sessions, username: str) -> set[str]:
    with sessions() as session:
        user = find_user(session, username)
        statement = select(Notification.kind).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
        return set(session.scalars(statement))


def mark_read(client, kind: str):
    token = csrf(client, "/console/inbox")
    return client.post("/console/inbox/read", data={"csrf_token": token, "kind": kind})


def test_one_category_is_marked_read_and_an_unknown_one_means_all(app, sessions):
    make_people(sessions)
    cb_id = new_callback(sessions, "CA1")
    with transaction(sessions) as session:
        zhang, cb = find_user(session, "zhang"), session.get_one(Callback, cb_id)
        notify(session, KIND_NEW, f"test-new:{cb_id}", [zhang], cb, "新差评")
        notify(session, KIND_DUE_SOON, f"test-soon:{cb_id}", [zhang], cb, "即将到期")
    assert {KIND_NEW, KIND_DUE_SOON} <= unread_kinds(sessions, "zhang")
    client = app.test_client()
    login(client, "zhang")

    response = mark_read(client, KIND_NEW)
    assert response.status_code == 302 and response.location.endswith("kind=new_bad")
    assert KIND_NEW not in unread_kinds(sessions, "zhang")
    assert KIND_DUE_SOON in unread_kinds(sessions, "zhang")

    response = mark_read(client, "no_such_category")
    assert response.status_code == 302 and "kind=" not in response.location
    assert unread_kinds(sessions, "zhang") == set()
    assert "标为已读" in client.get(response.location).get_data(as_text=True)
