"""MergedEvents: the webhook events of every profile in one list, newest first (read-only).

Each profile has its own event store (one SQLite file per profile), so event ids repeat across profiles. The
merged view gives each event a view id built from its receive time (milliseconds), its store id and its
profile, which sorts newest first like the per-profile ids do and never collides in practice; the real id and
profile stay on the event (``profile``; ``origin_id(view_id)`` gives the store id back). The "All profiles"
scope of the Webhooks page lists through it; pinning and replaying need the profile's own view.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from typing import Any

PROFILE_SLOTS = 100  # up to 100 profiles in one merged view
ID_SLOTS = 1000


class MergedEvents:
    def __init__(self, stores: dict[str, Any]) -> None:
        self.stores = dict(stores)
        self.names = sorted(self.stores)[:PROFILE_SLOTS]
        self._origin: dict[int, tuple[str, int]] = {}

    def view_id(self, event: Any) -> int:
        slot = self.names.index(event.profile) if event.profile in self.names else PROFILE_SLOTS - 1
        return (int(event.received_at * 1000) * ID_SLOTS + event.id % ID_SLOTS) * PROFILE_SLOTS + slot

    def wrap(self, event: Any) -> Any:
        view = replace(event, id=self.view_id(event))
        self._origin[view.id] = (event.profile, event.id)
        return view

    def origin(self, view_id: int) -> tuple[str, int] | None:
        """(profile, store id) of an event listed here."""
        return self._origin.get(view_id)

    def list(self, limit: int = 100, offset: int = 0, filters: Any = None) -> list[Any]:
        """The newest ``limit`` events after ``offset`` across every store (worker thread)."""
        rows: list[Any] = []
        for name in self.names:
            rows.extend(self.wrap(e) for e in self.stores[name].list(limit + offset, 0, filters))
        rows.sort(key=lambda e: e.id, reverse=True)
        return rows[offset : offset + limit]

    def distinct(self, column: str) -> builtins.list[str]:
        values: set[str] = set()
        for store in self.stores.values():
            values.update(store.distinct(column))
        return sorted(values)
