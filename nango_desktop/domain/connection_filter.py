"""The connections filter/sort engine, Qt-free (the Connections table's proxy model is a thin Qt shell on it).

Rows are addressed by number (the source row). Per-row columns are plain lists precomputed once: the lowercase
haystack (customer, email, organization, integration, ids, ``tag=value`` pairs), the integration id, the
status ("auth_error", "sync_error", "ok") and the lowercase tag map. Filtering runs C-level ``compress``/``map``
passes over those lists, never a Python call per row per filter; 10^5 rows filter in milliseconds.

A filter is ``(terms, integrations, statuses, tags)``: every term must occur in the haystack; integrations and
statuses are sets (None = any); tags are ``(key, value)`` pairs (value "" = has the key). ``narrows(old, new)``
says when ``new`` can only hide rows ``old`` shows, so ``select`` need only look at the rows shown (typing on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import compress, repeat
from operator import contains
from typing import Any

Filter = tuple[tuple[str, ...], frozenset[str] | None, frozenset[str] | None, tuple[tuple[str, str], ...]]
NO_FILTER: Filter = ((), None, None, ())
FILTER_CACHE_SIZE = 8  # visible-row lists of recent filters kept (backspace is then a lookup)


def make_filter(
    terms: Iterable[str],
    integrations: frozenset[str] | None,
    statuses: frozenset[str] | None,
    tags: Mapping[str, str],
) -> Filter:
    """The canonical filter: sorted terms without duplicates ("b a" and "a b a" are the same filter)."""
    return (tuple(sorted(set(terms))), integrations, statuses, tuple(sorted(tags.items())))


def is_filtering(flt: Filter) -> bool:
    terms, integrations, statuses, tags = flt
    return bool(terms or integrations is not None or statuses is not None or tags)


def split_terms(text: str) -> tuple[str, ...]:
    return tuple(text.lower().split())


def narrows(old: Filter, new: Filter) -> bool:
    """True when every row ``new`` accepts is also accepted by ``old`` (so only old matches need a look)."""
    old_terms, old_integrations, old_statuses, old_tags = old
    new_terms, new_integrations, new_statuses, new_tags = new
    if old_integrations is not None and (
        new_integrations is None or not new_integrations <= old_integrations
    ):
        return False
    if old_statuses is not None and (new_statuses is None or not new_statuses <= old_statuses):
        return False
    new_tag_map = dict(new_tags)
    for key, value in old_tags:
        have = new_tag_map.get(key)
        if have is None or (value and have != value):
            return False
    return all(any(o in n for n in new_terms) for o in old_terms)


def accepts(flt: Filter, haystack: str, integration: str, status: str, tags: Mapping[str, str]) -> bool:
    """Whether ``flt`` accepts one row."""
    terms, integrations, statuses, tag_filters = flt
    if statuses is not None and status not in statuses:
        return False
    if integrations is not None and integration not in integrations:
        return False
    if not all(term in haystack for term in terms):
        return False
    for key, value in tag_filters:
        have = tags.get(key)
        if have is None or (value and have != value):
            return False
    return True


def select(
    hay: Sequence[str],
    integ: Sequence[str],
    status: Sequence[str],
    tagmaps: Sequence[Mapping[str, str]],
    candidates: list[int],
    flt: Filter,
    *,
    skip: Filter | None = None,
) -> list[int]:
    """The ``candidates`` (row numbers) ``flt`` accepts, in their order (always a new list).

    Parts of ``flt`` equal to parts of ``skip`` are not checked (the candidates already pass them)."""
    terms, integrations, statuses, tags = flt
    rows = candidates
    if statuses is not None and (skip is None or skip[2] != statuses):
        rows = list(compress(rows, map(statuses.__contains__, map(status.__getitem__, rows))))
    if integrations is not None and (skip is None or skip[1] != integrations):
        rows = list(compress(rows, map(integrations.__contains__, map(integ.__getitem__, rows))))
    done = set(skip[3]) if skip is not None else set()
    for key, value in tags:
        if (key, value) in done:
            continue
        if value:
            rows = [r for r in rows if tagmaps[r].get(key) == value]
        else:
            rows = [r for r in rows if key in tagmaps[r]]
    done_terms = set(skip[0]) if skip is not None else set()
    for term in sorted(terms, key=len, reverse=True):  # the longest term first: it keeps the fewest
        if term in done_terms:
            continue
        rows = list(compress(rows, map(contains, map(hay.__getitem__, rows), repeat(term))))
    return list(rows) if rows is candidates else rows


def sort_rows(rows: Iterable[int], keys: Sequence[Any] | None, *, descending: bool = False) -> list[int]:
    """``rows`` sorted by their precomputed ``keys`` (None: by row number), stable: ties keep their order, so
    sorting by one column then another orders by the second then the first."""
    if keys is None:
        return sorted(rows)
    return sorted(rows, key=keys.__getitem__, reverse=descending)


def remember(
    cache: dict[Filter, list[int]], flt: Filter, visible: list[int], size: int = FILTER_CACHE_SIZE
) -> None:
    """Keep the visible rows of a recent filter (most recent last; the oldest dropped beyond ``size``)."""
    if not is_filtering(flt):
        return
    cache.pop(flt, None)
    cache[flt] = list(visible)
    while len(cache) > size:
        del cache[next(iter(cache))]
