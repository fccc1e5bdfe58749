"""Failed-login limits, on Flask-Limiter's Redis storage.

Each attempt is counted atomically (one Redis INCR per limit) *before* the password is
checked, so 40 simultaneous guesses get at most `PER_ACCOUNT_AND_CLIENT` checks. A
successful login gives its attempt back, so only failures use up the allowance:

- 5 failures per account from one client address (the real user elsewhere can still
  log in while someone guesses at their account);
- 20 per client address whatever the account (spraying passwords over many users);
- 30 per account whatever the address (guessing from many addresses).

The client is `request.remote_addr`: behind `TRUSTED_PROXIES` the proxy's
`X-Forwarded-For`, which is why the web process must only be reachable through that
proxy (README, "Console security").
"""

from __future__ import annotations

from flask import request
from limits import RateLimitItem, RateLimitItemPerMinute

from ivr.web_security import limiter

WINDOW_MINUTES = 15
PER_ACCOUNT_AND_CLIENT = RateLimitItemPerMinute(5, WINDOW_MINUTES, namespace="login-account-ip")
PER_CLIENT = RateLimitItemPerMinute(20, WINDOW_MINUTES, namespace="login-ip")
PER_ACCOUNT = RateLimitItemPerMinute(30, WINDOW_MINUTES, namespace="login-account")


def _limits(username: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    account = username.strip().lower()[:64]
    client = request.remote_addr or "unknown"
    return [
        (PER_ACCOUNT_AND_CLIENT, (account, client)),
        (PER_CLIENT, (client,)),
        (PER_ACCOUNT, (account,)),
    ]


def take_attempt(username: str) -> bool:
    """Count one login attempt under every limit; False when any is exceeded (the
    password must then not be checked)."""
    allowed = True
    for item, who in _limits(username):
        allowed = limiter.limiter.hit(item, *who) and allowed
    return allowed


def give_back_attempt(username: str) -> None:
    """A successful login: this client's failures at this account are forgotten, and
    the other counters get this attempt back."""
    (first, first_who), *others = _limits(username)
    limiter.limiter.clear(first, *first_who)
    for item, who in others:
        key = item.key_for(*who)
        if limiter.storage.get(key) > 0:
            limiter.storage.incr(key, item.get_expiry(), amount=-1)
