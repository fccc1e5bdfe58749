"""One signed JSON POST, as the work-order system and the group robot both receive it."""

from __future__ import annotations

import hashlib
import hmac
import time

import requests


def signed_post(url: str, secret: str, body: bytes, timeout: float) -> requests.Response:
    """POST `body` as JSON with `X-IVR-Timestamp` and `X-IVR-Signature` (HMAC-SHA256 of
    `<timestamp>.<body>`); an HTTP error status raises, a redirect is not followed."""
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    response = requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-IVR-Timestamp": timestamp,
            "X-IVR-Signature": "sha256=" + signature.hexdigest(),
        },
        timeout=timeout,
        allow_redirects=False,
    )
    response.raise_for_status()
    return response
