"""Natural ("human") order for names: ``user_2`` before ``user_10``, case-insensitive (Qt-free).

``natural_key(text)`` is a plain string (cheap to compare, fine as a Qt sort role): the case-folded text with
every run of digits replaced by ``"0" + <length as one character> + <digits>``, so a shorter number sorts first
and numbers of one length compare digit by digit ("9" -> "019", "10" -> "0210"; leading zeros do not count).
The marker "0" keeps the usual order between a number and what is not one (punctuation < digits < letters).
Text without a digit is only case-folded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"\d+")


def _number(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"  # 009 is 9
    return "0" + chr(0x30 + len(digits)) + digits


def natural_key(text: str | None) -> str:
    folded = (text or "").casefold()
    if _DIGITS.search(folded) is None:
        return folded
    return _DIGITS.sub(_number, folded) + "\x00" + folded  # ties ("b009", "b9") in a fixed order


def natural_sorted(items: Iterable[str], *, reverse: bool = False) -> list[str]:
    return sorted(items, key=natural_key, reverse=reverse)
