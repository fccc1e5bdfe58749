"""A logged-in supervisor's console through Flask's test client, and page timings."""

from __future__ import annotations

import statistics
import time

PASSWORD = "bench-password-123"
SUPERVISOR = "boss"


def login(app, username: str = SUPERVISOR, password: str = PASSWORD):
    """A test client of `app` logged in as `username` (the login form, with its token)."""
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"username": username, "password": password, "csrf_token": token}
    if client.post("/console/login", data=form).status_code != 302:
        raise RuntimeError("could not log in")
    return client


def timed(client, path: str, repeat: int) -> float:
    """The median seconds of `repeat` GETs of `path` (each must answer 200)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        _ = response.get_data()  # a streamed answer is produced while it is read
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
    return statistics.median(times)
