"""Which server-side sessions belong to which user, so that they can be ended.

Flask-Session keeps each console session in Redis under `console:session:<sid>`; here
each login adds its sid to the user's set, and `revoke_user_sessions` deletes them all
(password change, account disabled, `ivr user set-password`). No Flask import: the CLI
uses it too.
"""

from __future__ import annotations

import logging

from redis import Redis

from ivr.web_security import SESSION_KEY_PREFIX, SESSION_LIFETIME

log = logging.getLogger(__name__)


def _index_key(user_id: int) -> str:
    return f"console:user-sessions:{user_id}"


def remember_session(redis: Redis, user_id: int, sid: str) -> None:
    """Note that session `sid` is logged in as `user_id`."""
    key = _index_key(user_id)
    with redis.pipeline() as pipe:
        pipe.sadd(key, sid)
        pipe.expire(key, int(SESSION_LIFETIME.total_seconds()) + 60)
        pipe.execute()


def forget_session(redis: Redis, user_id: int, sid: str) -> None:
    """Session `sid` logged out (its data is deleted by Flask-Session)."""
    redis.srem(_index_key(user_id), sid)


def revoke_user_sessions(redis: Redis, user_id: int) -> int:
    """Delete every session of `user_id` from the store; how many there were."""
    key = _index_key(user_id)
    sids = [raw.decode() if isinstance(raw, bytes) else raw for raw in redis.smembers(key)]
    with redis.pipeline() as pipe:
        for sid in sids:
            pipe.delete(SESSION_KEY_PREFIX + sid)
        pipe.delete(key)
        pipe.execute()
    log.info("ended %d console session(s) of user %s", len(sids), user_id)
    return len(sids)
