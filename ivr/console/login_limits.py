"""Failed-login limits per account and per client, on Flask-Limiter's Redis storage.

Each attempt is counted atomically (one Redis INCR) *before* the password is checked,
so 40 simultaneous guesses get at most `PER_ACCOUNT` checks; a successful login gives
its attempt back, so only failures use up the allowance. The client is
`request.remote_addr`: behind `TRUSTED_PROXIES` the proxy's `X-Forwarded-For`, which
is why the web process must only be reachable through that proxy (README).
"""

from __future__ import annotations

from flask import request
from limits import RateLimitItemPerMinute

from ivr.web_security import limiter

WINDOW_MINUTES = 15
PER_ACCOUNT = RateLimitItemPerMinute(5, WINDOW_MINUTES, namespace="console-login-account")
PER_CLIENT = RateLimitItemPerMinute(20, WINDOW_MINUTES, namespace="console-login-client")


def _identifiers(username: str) -> list[tuple[RateLimitItemPerMinute, str]]:
    account = username.strip().lower()[:64]
    return [(PER_ACCOUNT, account), (PER_CLIENT, request.remote_addr or "unknown")]


def take_attempt(username: str) -> bool:
    """Count one login attempt for this account and this client; False when either is
    over its limit (the attempt must then not be checked)."""
    allowed = True
    for item, who in _identifiers(username):
        allowed = limiter.limiter.hit(item, who) and allowed
    return allowed


def give_back_attempt(username: str) -> None:
    """A successful login: the account's failures are forgotten, and the client gets
    this attempt back."""
    (account_item, account), (client_item, client) = _identifiers(username)
    limiter.limiter.clear(account_item, account)
    key = client_item.key_for(client)
    if limiter.storage.get(key) > 0:
        limiter.storage.incr(key, client_item.get_expiry(), amount=-1)
