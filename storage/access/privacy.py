"""Masking of callers' numbers (domain.md rule 4): shown only where needed."""

from __future__ import annotations

import re

COUNTRY_CODE = "86"


def mask_number(number: str | None) -> str | None:
    """Mask a phone number, keeping what staff need to recognise it.

    `+8613800000000` → `138****0000`; shorter numbers keep at most their last
    two digits; anything that is not a number is fully hidden.
    """
    if not number:
        return number
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("+") and digits.startswith(COUNTRY_CODE):
        digits = digits[len(COUNTRY_CODE) :]
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 4:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "****"


def phone_tail(number: str | None) -> str | None:
    """The last 4 digits of a number (what a caller reads out to be found), or None
    when it has fewer: `+86 138 0000 1234` → `1234`. Stored as `Call.caller_tail`."""
    digits = re.sub(r"\D", "", number or "")
    return digits[-4:] if len(digits) >= 4 else None


# What Twilio and carriers put in `From` for a withheld number (Twilio: "anonymous",
# "+266696687" and friends).
WITHHELD = frozenset({"anonymous", "restricted", "unknown", "private", "unavailable"})
WITHHELD_NUMBERS = frozenset({"266696687", "86282452253", "8656264", "7378742833"})


def is_reachable_number(number: str | None) -> bool:
    """Whether `number` is a caller ID one can call back (实名): not blank or withheld."""
    if not number or number.strip().lower() in WITHHELD:
        return False
    digits = re.sub(r"\D", "", number)
    return len(digits) >= 5 and digits not in WITHHELD_NUMBERS
