"""The simulator's HTTP transport (`ivr simulate` against a running service)."""

from __future__ import annotations

import requests

from ivr.simulate import Transport

TIMEOUT_S = 15  # Twilio's own limit for a webhook answer


def http_transport(public_base_url: str, connect: str | None = None) -> Transport:
    """Post over HTTP; with `connect`, to that address instead of the public one."""
    session = requests.Session()
    public = public_base_url.rstrip("/")

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        target = (
            connect.rstrip("/") + url[len(public) :] if connect and url.startswith(public) else url
        )
        response = session.post(target, data=form, headers=headers, timeout=TIMEOUT_S)
        return response.status_code, response.text

    return post
