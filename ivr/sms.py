"""`POST /sms/inbound`: replies to reminder messages; opt-out and opt-in words.

Signed like every webhook. STOP, 退订, TD … stop reminders to the number; START, 订阅 …
allow them again; the answer confirms in the language of the number's last call.
Anything else is noted and gets an empty `<Response/>`.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response
from sqlalchemy import select

import prompts
from ivr.extensions import db_sessions
from ivr.telephony.web import call_request, provider, respond, verified
from storage.access.privacy import mask_number
from storage.db import transaction
from storage.models import Call
from storage.records import sms
from storage.types import utcnow

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/sms")


def _lang_of(session, number: str) -> str:
    """The language of the number's most recent call, else the default pack."""
    lang = session.scalar(
        select(Call.lang).where(Call.caller == number).order_by(Call.id.desc()).limit(1)
    )
    return lang if lang in prompts.available_languages() else "zh-CN"


@bp.post("/inbound")
@verified
def inbound() -> Response:
    """Record an opt-out or opt-in, and confirm it."""
    inbound = call_request()
    number = inbound.caller or ""
    word = sms.keyword(inbound.text or "")
    answer = None
    if not number:
        log.warning("SMS reply without a sender ignored")
        return respond(provider().sms_reply(None))
    with transaction(db_sessions()) as session:
        texts = prompts.load_sms(_lang_of(session, number))
        if word in sms.OPT_OUT_WORDS:
            sms.opt_out(session, number, word, utcnow())
            answer = texts["opted_out"]
            log.info("SMS opt-out from %s (%s)", mask_number(number), word)
        elif word in sms.OPT_IN_WORDS:
            sms.opt_in(session, number)
            answer = texts["opted_in"]
            log.info("SMS opt-in from %s (%s)", mask_number(number), word)
        else:
            log.info("SMS reply from %s is no keyword: ignored", mask_number(number))
    return respond(provider().sms_reply(answer))
