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
