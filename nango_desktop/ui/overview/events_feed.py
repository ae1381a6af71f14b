"""The Overview's webhook-events feed: counts per minute from the profile's event store (one GROUP BY on a
worker), then live from the session's listener (``eventsReceived``: O(1) per event on the GUI thread).
``changed`` fires at most every ``LIVE_MS`` while events arrive; the page redraws its chart from ``buckets``."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from nango_desktop.domain.overview import EventBuckets
from nango_desktop.session.binding import SignalTracker
from nango_desktop.store.event_counts import read_event_counts

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

log = logging.getLogger(__name__)


class EventsFeed(QObject):
    changed = Signal()  # new counts: redraw

    LIVE_MS = 250  # at most one redraw per LIVE_MS while events arrive

    def __init__(self, ctx: AppContext, max_minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.max_minutes = max_minutes
        self.buckets = EventBuckets()
        self._loading = False
        self._pending: list[Any] = []
        self._generation = 0
        self._bound = SignalTracker()  # the profile's listener, dropped in one call
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(self.LIVE_MS)
        self._live_timer.timeout.connect(self.changed)

    def reset(self) -> None:
        """Another profile: forget the counts and follow its listener."""
        self._generation += 1
        self.buckets = EventBuckets()
        self._pending = []
        self._loading = False
        self.attach_listener()

    def attach_listener(self) -> None:
        listener = self.ctx.session.listener if self.ctx.session is not None else None
        self._bound.follow(listener, lambda found: [(found.eventsReceived, self._on_events)])

    def load(self) -> Any:
        """Count the stored events of the last ``max_minutes`` on a worker (live events meanwhile are kept)."""
        store = self.ctx.session.event_store if self.ctx.session is not None else None
        if store is None:
            return None
        self._generation += 1
        generation = self._generation
        self._loading = True
        since = time.time() - self.max_minutes * 60 - 60
        return self.ctx.run(
            read_event_counts,
            store.path,
            since,
            on_done=lambda result: self._on_loaded(generation, result),
            on_error=lambda exc: self._on_failed(generation, exc),
        )

    def prune(self) -> None:
        """Drop the minutes that left the longest window."""
        self.buckets.prune(int(time.time() // 60) - self.max_minutes - 1)

    def _on_loaded(self, generation: int, result: tuple[EventBuckets, int]) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.buckets, _last_id = result
        pending, self._pending = self._pending, []
        for event in pending:
            self.buckets.add_event(event)  # skips the ones the query already counted
        self.changed.emit()

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self._loading = False
            log.warning("Webhook event counts not read: %s", exc)

    @Slot(object)
    def _on_events(self, batch: object) -> None:
        for event, duplicate in batch:  # type: ignore[attr-defined]
            if duplicate:
                continue
            if self._loading:
                self._pending.append(event)
            else:
                self.buckets.add_event(event)
        if not self._live_timer.isActive():
            self._live_timer.start()
