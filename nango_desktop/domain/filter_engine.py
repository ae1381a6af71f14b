"""The Connections table's filter/sort engine, Qt-free: which source rows the view shows, in which order.

``ConnectionsFilterProxy`` (ui/connections/proxy.py) is a thin Qt adapter on it: it turns source-model signals
into calls here and the results into Qt's row/layout signals with persistent indexes moved.

The view rows are a Python list of source row numbers (``visible``); nothing is computed per row through a
C++ -> Python virtual call. Filters run as C-level ``compress``/``map`` passes over per-source-row lists taken
from the rows (haystack, integration, status, tag map: ``domain.connection_filter``). A filter that narrows the
previous one (typing on: "ed" -> "eds") only looks at the rows shown; the last few results are kept, so
deleting characters is a lookup. Sorting is ``sorted(rows, key=column_keys.__getitem__)`` on per-column keys
(built on the first sort by that column), stable like QSortFilterProxyModel's (ties keep the previous view
order); a filtered view sorts only the rows shown, the full order catches up when it is needed.

Rows are anything with ``haystack``, ``status``, ``tag_map``, ``provider_config_key`` and ``sort_key(column)``
(``domain.connection_rows.ConnectionRow``). The engine reads the source's rows through ``rows()``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress, count
from typing import Any

from nango_desktop.domain.connection_filter import (
    NO_FILTER,
    Filter,
    make_filter,
    narrows,
    remember,
    select,
    sort_rows,
    split_terms,
)

Moved = Callable[[int], int]  # old source row -> new source row (-1: gone)


class FilterEngine:
    def __init__(self, rows: Callable[[], Sequence[Any]], columns: int) -> None:
        self._rows = rows
        self.columns = columns
        self.terms: tuple[str, ...] = ()
        self.integrations: frozenset[str] | None = None
        self.statuses: frozenset[str] | None = None
        self.tags: dict[str, str] = {}
        self.sort_column = -1
        self.descending = False
        self.clear()

    def clear(self) -> None:
        # per source row (parallel lists, index = source row)
        self._hay: list[str] = []
        self._integ: list[str] = []
        self._status: list[str] = []
        self._tagmaps: list[Mapping[str, str]] = []
        self._err = bytearray()
        self._keys: dict[int, list[Any]] = {}  # sort keys per column, built on the first sort by it
        # view state
        self.order: list[int] = []  # every source row, in view order
        self.visible: list[int] = []  # the source row of each view row
        self._pos: list[int] | None = None  # source row -> view row (-1 hidden), built on demand
        self.applied: Filter = NO_FILTER  # the filter ``visible`` reflects
        self._cache: dict[Filter, list[int]] = {}
        # sorts applied to ``visible`` but not yet to ``order`` (sorting a filtered view sorts the shown rows
        # only; ``order`` catches up when it is needed: a wider filter, a change of the rows)
        self._order_behind: list[tuple[int, bool]] = []
        self._errored: int | None = None
        self.unsorted = False  # rows appended out of order, re-sort pending

    def __len__(self) -> int:
        return len(self._hay)

    # -- filters --------------------------------------------------------------------------------------------
    def filter_state(self) -> Filter:
        return make_filter(self.terms, self.integrations, self.statuses, self.tags)

    def is_filtering(self) -> bool:
        return bool(self.terms or self.integrations is not None or self.statuses is not None or self.tags)

    def set_text(self, text: str) -> bool:
        """True when the terms changed (then ``refilter``)."""
        terms = split_terms(text)
        changed, self.terms = terms != self.terms, terms
        return changed

    def set_integrations(self, integrations: Iterable[str] | None) -> bool:
        value = frozenset(integrations) if integrations is not None else None
        changed, self.integrations = value != self.integrations, value
        return changed

    def set_statuses(self, statuses: Iterable[str] | None) -> bool:
        value = frozenset(statuses) if statuses is not None else None
        changed, self.statuses = value != self.statuses, value
        return changed

    def set_tag_filters(self, tags: Mapping[str, str]) -> bool:
        value = {k.strip().lower(): v.strip().lower() for k, v in tags.items() if k.strip()}
        changed, self.tags = value != self.tags, value
        return changed

    def select(self, candidates: list[int], flt: Filter, *, skip: Filter | None = None) -> list[int]:
        """The ``candidates`` (source rows) ``flt`` accepts, in their order."""
        return select(self._hay, self._integ, self._status, self._tagmaps, candidates, flt, skip=skip)

    def refilter(self) -> list[int] | None:
        """The view rows of the current filters (None: unchanged). Narrowing filters look only at the rows shown;
        recent results are reused. The caller applies them with ``set_visible``."""
        flt = self.filter_state()
        if flt == self.applied:
            return None
        if not self.is_filtering():
            visible = list(self.full_order())
        elif flt in self._cache:
            visible = list(self._cache[flt])
        elif narrows(self.applied, flt):
            visible = self.select(self.visible, flt, skip=self.applied)
        else:
            visible = self.select(self.full_order(), flt)
        self.applied = flt
        remember(self._cache, flt, visible)
        return visible

    # -- sorting --------------------------------------------------------------------------------------------
    def sort(self, column: int, descending: bool) -> list[int]:
        """Sort by ``column`` (-1: the source order); returns the new view rows."""
        self.sort_column = column if 0 <= column < self.columns else -1
        self.descending = descending
        self.unsorted = False
        if self.sort_column < 0:  # back to the source order: no ties, nothing left to catch up
            self.order, self._order_behind = list(range(len(self._hay))), []
        elif self.is_filtering():
            self._order_behind.append((self.sort_column, descending))
        else:
            self.order = self.sort_rows(self.full_order())
        visible = self.sort_rows(self.visible) if self.is_filtering() else list(self.order)
        self._cache.clear()  # the cached lists are in the old order
        return visible

    def column_keys(self, column: int) -> list[Any]:
        keys = self._keys.get(column)
        if keys is None:
            keys = self._keys[column] = [r.sort_key(column) for r in self._rows()]
        return keys

    def sort_rows(self, rows: list[int]) -> list[int]:
        """``rows`` (source rows) sorted by the current sort, stable: ties keep their order, so sorting by one
        column then another orders by the second then the first (as QSortFilterProxyModel does)."""
        column = self.sort_column
        keys = self.column_keys(column) if column >= 0 else None
        return sort_rows(rows, keys, descending=self.descending)

    def full_order(self) -> list[int]:
        """Every source row in view order (applies the sorts made while filtering)."""
        if self._order_behind:
            order = self.order
            for column, descending in self._order_behind:
                order = sorted(order, key=self.column_keys(column).__getitem__, reverse=descending)
            self.order, self._order_behind = order, []
        return self.order

    def resort(self) -> tuple[list[int], list[int]] | None:
        """After rows were appended out of order: the re-sorted (order, visible), or None when nothing is due."""
        if not self.unsorted:
            return None
        self.unsorted = False
        order = self.sort_rows(self.full_order())  # nearly sorted already: cheap
        visible = self.sort_rows(self.visible) if self.is_filtering() else list(order)
        self._cache.clear()
        return order, visible

    # -- view rows ------------------------------------------------------------------------------------------
    def set_visible(self, visible: list[int], order: list[int] | None = None) -> None:
        if order is not None:
            self.order = order
        self.visible = visible
        self._pos = None
        self._errored = None

    def positions(self) -> list[int]:
        """source row -> view row (-1: hidden)."""
        if self._pos is None:
            pos = [-1] * len(self._hay)
            deque(map(pos.__setitem__, self.visible, range(len(self.visible))), maxlen=0)
            self._pos = pos
        return self._pos

    def find(self, sources: list[int]) -> dict[int, int]:
        """{source row: view row} for a few source rows (a selection), without a full reverse map."""
        wanted = set(sources)
        wanted.discard(-1)
        visible = self.visible
        if self._pos is not None:
            return {s: self._pos[s] for s in wanted}
        if len(wanted) <= 8:  # a scan in C per row
            found = {}
            for s in wanted:
                try:
                    found[s] = visible.index(s)
                except ValueError:
                    pass
            return found
        rows = list(compress(count(), map(wanted.__contains__, visible)))
        return {visible[p]: p for p in rows}

    def counts(self) -> tuple[int, int]:
        """(rows in view, of which with errors); cached until the view rows change."""
        if self._errored is None:
            self._errored = sum(map(self._err.__getitem__, self.visible))
        return len(self.visible), self._errored

    # -- source changes ---------------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Recompute everything from the source rows (reset, source layout change)."""
        rows = self._rows()
        self.clear()
        self._extend_columns(rows)
        self.order = self.sort_rows(list(range(len(rows))))
        flt = self.filter_state()
        self.visible = self.select(self.order, flt) if self.is_filtering() else list(self.order)
        self.applied = flt

    def _extend_columns(self, rows: Sequence[Any]) -> None:
        self._hay.extend([r.haystack for r in rows])
        self._integ.extend([r.provider_config_key for r in rows])
        self._status.extend([r.status for r in rows])
        self._tagmaps.extend([r.tag_map for r in rows])
        self._err.extend([r.status != "ok" for r in rows])
        for column, keys in self._keys.items():
            keys.extend([r.sort_key(column) for r in rows])

    def _rows_changed(self) -> None:
        self._cache.clear()
        self._pos = None
        self._errored = None

    def append(self, first: int, last: int) -> list[int]:
        """Source rows ``first..last`` appended: filtered alone; returns the view rows to add at the end (already
        added to ``visible``). ``unsorted`` says when a re-sort is due (the page did not fall after the last row)."""
        order = self.full_order()
        self._extend_columns(self._rows()[first : last + 1])
        self._rows_changed()
        new = list(range(first, last + 1))
        if self.sort_column >= 0:
            keys = self.column_keys(self.sort_column)
            new = self.sort_rows(new)
            if order and not self.unsorted:
                tail, head = keys[order[-1]], keys[new[0]]
                if (head > tail) if self.descending else (head < tail):
                    self.unsorted = True  # somewhere inside: re-sort in a moment (one layout change)
        order.extend(new)
        return self.select(new, self.applied) if self.is_filtering() else new

    def insert(self, first: int, last: int) -> Moved:
        """Source rows ``first..last`` inserted before existing ones; the view rows follow (``visible`` updated).
        Returns the old -> new source row mapping."""
        count_ = last - first + 1
        self.full_order()
        rows = self._rows()[first : last + 1]
        self._hay[first:first] = [r.haystack for r in rows]
        self._integ[first:first] = [r.provider_config_key for r in rows]
        self._status[first:first] = [r.status for r in rows]
        self._tagmaps[first:first] = [r.tag_map for r in rows]
        self._err[first:first] = bytes(r.status != "ok" for r in rows)
        for column, keys in self._keys.items():
            keys[first:first] = [r.sort_key(column) for r in rows]

        def moved(r: int) -> int:
            return r + count_ if r >= first else r

        self._rows_changed()
        added = list(range(first, last + 1))
        if self.sort_column >= 0:  # the new rows after the rows they tie with
            self.order = self.sort_rows([moved(r) for r in self.order] + added)
        else:
            self.order = list(range(len(self._hay)))
        keep = {moved(r) for r in self.visible}
        keep.update(self.select(added, self.applied))
        self.visible = list(filter(keep.__contains__, self.order))
        return moved

    def remove(self, first: int, last: int) -> Moved:
        """Source rows ``first..last`` removed; returns the old -> new source row mapping (-1: removed)."""
        count_ = last - first + 1
        self.full_order()
        columns: list[Any] = [self._hay, self._integ, self._status, self._tagmaps, self._err, *self._keys.values()]
        for column in columns:
            del column[first : last + 1]

        def moved(r: int) -> int:
            return r if r < first else (-1 if r <= last else r - count_)

        self.order = [r if r < first else r - count_ for r in self.order if not first <= r <= last]
        self.visible = [r if r < first else r - count_ for r in self.visible if not first <= r <= last]
        self._rows_changed()
        return moved

    def update(self, first: int, last: int) -> tuple[list[int], tuple[list[int], list[int]] | None]:
        """Source rows ``first..last`` replaced in place. Returns (view rows to repaint, None) when the view rows
        stay as they are, else ([], (order, visible)): the new view rows, for the caller to apply with
        ``set_visible`` inside its layout change."""
        rows = self._rows()
        changed = list(range(first, last + 1))
        self.full_order()
        old_keys = None
        if self.sort_column >= 0:
            keys = self.column_keys(self.sort_column)
            old_keys = [keys[r] for r in changed]
        for r in changed:
            row = rows[r]
            self._hay[r], self._integ[r], self._status[r] = row.haystack, row.provider_config_key, row.status
            self._tagmaps[r], self._err[r] = row.tag_map, row.status != "ok"
            for column, keys in self._keys.items():
                keys[r] = row.sort_key(column)
        self._rows_changed()
        positions = self.positions()
        accepted = set(self.select(changed, self.applied)) if self.is_filtering() else set(changed)
        moved = old_keys is not None and old_keys != [self.column_keys(self.sort_column)[r] for r in changed]
        if not moved and all((positions[r] >= 0) == (r in accepted) for r in changed):
            return [positions[r] for r in changed if positions[r] >= 0], None
        order = self.sort_rows(self.order) if moved else self.order
        keep = (set(self.visible) - set(changed)) | accepted
        return [], (order, list(filter(keep.__contains__, order)))
