"""Natural ("human") order for names: ``user_2`` before ``user_10``, case-insensitive (Qt-free).

``natural_key(text)`` is a sort key: a tuple alternating text and numbers (``"User 10b"`` ->
``(("user ", 10, "b"), "user 10b")``), the case-folded text last so ``007`` and ``7`` still get a stable order.
Keys of different strings always compare (text against text, number against number). Text without a digit
takes a fast path (no regex split), which keeps keys for 10^5 rows cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str | None) -> tuple[tuple[str | int, ...], str]:
    folded = (text or "").casefold()
    parts: list[str | int] = _DIGITS.split(folded)
    if len(parts) == 1:
        return (folded,), folded
    parts[1::2] = map(int, parts[1::2])
    return tuple(parts), folded


def natural_sorted(items: Iterable[str], *, reverse: bool = False) -> list[str]:
    return sorted(items, key=natural_key, reverse=reverse)
