"""EventsModel: the inspector's live table of received webhooks.

Rows are :class:`~nango_desktop.domain.events.StoredEvent` objects kept sorted newest first (by
store id). Live events come from the listener through ``add_event`` (a slot on the GUI thread); they are
buffered and inserted in batches by a ~50 ms single-shot timer, so a flood of 1,000 events/s costs ~20
small model updates per second instead of 1,000. A duplicate delivery updates the original row's counter.

At most ``max_rows`` rows are kept when new events push old ones out; older events are paged back from the
store (``canFetchMore``/``fetchMore``) on a worker thread. Filters and body search are applied twice with the
same meaning: by the store (SQL, for pages) and by :meth:`EventFilter.matches` (for live events).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Iterable
from dataclasses import fields, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFont

from nango_desktop.domain.events import EventFilter, StoredEvent
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.signing import VerificationStatus
from nango_desktop.ui import theme

log = logging.getLogger(__name__)

EventRole = Qt.ItemDataRole.UserRole + 1  # the StoredEvent of a row
EventIdRole = Qt.ItemDataRole.UserRole + 2

COLUMNS = (
    "Time",
    "Type",
    "Operation",
    "Success",
    "Integration",
    "Connection",
    "End user",
    "Signature",
    "Dups",
    "Pinned",
    "Profile",  # whose listener received it (the "All profiles" scope shows it)
)
(
    TIME,
    TYPE,
    OPERATION,
    SUCCESS,
    INTEGRATION,
    CONNECTION,
    END_USER,
    SIGNATURE,
    DUPLICATES,
    PINNED,
    PROFILE,
) = range(len(COLUMNS))

SIGNATURE_TEXT = {
    VerificationStatus.VERIFIED: "verified",
    VerificationStatus.INVALID: "invalid",
    VerificationStatus.UNSIGNED: "unsigned",
    VerificationStatus.NO_KEY: "no key",
}
SIGNATURE_COLOR = {
    VerificationStatus.VERIFIED: QColor(theme.SUCCESS_GREEN),
    VerificationStatus.INVALID: QColor(theme.FAILURE_RED),
    VerificationStatus.UNSIGNED: QColor(theme.CAUTION_ORANGE),
    VerificationStatus.NO_KEY: QColor(theme.MUTED_GREY),
}
FAILURE_COLOR = QColor(theme.FAILURE_RED)
OK_COLOR = QColor(theme.SUCCESS_GREEN)
MALFORMED_COLOR = QColor(theme.MALFORMED_PURPLE)


def event_type(event: StoredEvent) -> str:
    """The type as the store indexes it ("auth", "sync", "raw", ...); "malformed" when the body did not parse."""
    s = event.summary
    if s is None:
        return "malformed" if event.malformed else ""
    return s.type or str(s.kind)


def filter_active(f: EventFilter) -> bool:
    return any(getattr(f, fl.name) not in (None, "") for fl in fields(f))


def matches(f: EventFilter, event: StoredEvent) -> bool:
    """The live twin of ``EventStore._where``: True if ``event`` passes every set field of ``f``."""
    s = event.summary
    checks: list[tuple[Any, Any]] = [
        (f.type, event_type(event) if s else None),
        (f.operation, s.operation if s else None),
        (f.success, s.success if s else None),
        (f.integration, s.integration if s else None),
        (f.connection_id, s.connection_id if s else None),
        (f.end_user_id, s.end_user_id if s else None),
        (f.verification, str(event.verification.status)),
        (f.pinned, event.pinned),
    ]
    if any(wanted is not None and wanted != actual for wanted, actual in checks):
        return False
    if f.malformed is not None and f.malformed != bool(event.malformed):
        return False
    if f.replay is not None and f.replay != (event.replay_of is not None):
        return False
    if f.since is not None and event.received_at < f.since:
        return False
    if f.until is not None and event.received_at >= f.until:
        return False
    if f.ids is not None and event.id not in f.ids:
        return False
    return not f.search or f.search.lower() in event.body_text.lower()


def format_time(ts: float, *, today: float | None = None) -> str:
    local = time.localtime(ts)
    now = time.localtime(today if today is not None else time.time())
    if local[:3] == now[:3]:
        return time.strftime("%H:%M:%S", local) + f".{int(ts * 1000) % 1000:03d}"
    return time.strftime("%Y-%m-%d %H:%M:%S", local)


_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        EventRole,
        EventIdRole,
    }
)


def _neg_id(event: StoredEvent) -> int:
    return -event.id


class EventsModel(QAbstractTableModel):
    """Live, capped, pageable table of StoredEvents (newest first)."""

    loadingChanged = Signal(bool)
    loadFailed = Signal(object)  # exception from a store query
    countChanged = Signal()  # rows inserted/removed (for "N events" labels)

    FLUSH_MS = 50  # coalescing delay for live events
    BUSY_FLUSH_MS = 250  # used after a flush of BUSY_BATCH or more events (a flood): fewer repaints
    BUSY_BATCH = 100

    def __init__(
        self,
        store: Any = None,
        *,
        max_rows: int = 5000,
        page_size: int = 200,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self.max_rows = max_rows
        self.page_size = page_size
        self._rows: list[StoredEvent] = []
        self._ids: set[int] = set()
        self._filter = EventFilter()
        self._generation = 0
        self._exhausted = store is None
        self._in_flight: Task | None = None
        self._pending: list[tuple[StoredEvent, bool]] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_interval = self.FLUSH_MS
        self._flush_timer.timeout.connect(self.flush)
        self._bold = QFont()
        self._bold.setBold(True)
        self.received_total = 0  # live events seen (for statistics and benchmarks)
        self.fetchMore()  # the newest page, when there is a store

    # -- configuration --------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        return self._store

    @property
    def filter(self) -> EventFilter:
        return replace(self._filter)

    @property
    def loading(self) -> bool:
        return self._in_flight is not None

    def set_store(self, store: Any) -> None:
        self._store = store
        self.reload()

    def set_filter(self, f: EventFilter) -> None:
        self._filter = replace(f)
        self.reload()

    def reload(self) -> None:
        """Drop the rows and load the newest page that matches the filter from the store."""
        self.beginResetModel()
        self._generation += 1
        self._rows, self._ids = [], set()
        self._pending.clear()
        self._exhausted = self._store is None
        self._set_in_flight(None)
        self.endResetModel()
        self.countChanged.emit()
        self.fetchMore()

    # -- Qt model API ---------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role not in _ROLES or not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._value(self._rows[index.row()], index.column(), role)

    def _value(self, event: StoredEvent, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(event, column)
        if role == EventRole:
            return event
        if role == EventIdRole:
            return event.id
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(event, column)
        if role == Qt.ItemDataRole.FontRole and column == SIGNATURE and not event.verification.ok:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(event, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (DUPLICATES, PINNED):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _display(self, event: StoredEvent, column: int) -> str:
        s = event.summary
        if column == TIME:
            return format_time(event.received_at)
        if column == TYPE:
            kind = event_type(event)
            return f"{kind} (replay)" if event.replay_of is not None else kind
        if column == SIGNATURE:
            return SIGNATURE_TEXT.get(event.verification.status, str(event.verification.status))
        if column == DUPLICATES:
            return str(event.duplicates) if event.duplicates else ""
        if column == PINNED:
            return "★" if event.pinned else ""
        if column == PROFILE:
            return event.profile or ""
        if s is None:
            return ""
        if column == SUCCESS:
            return "" if s.success is None else ("yes" if s.success else "FAILED")
        value = {
            OPERATION: s.operation,
            INTEGRATION: s.integration,
            CONNECTION: s.connection_id,
            END_USER: s.end_user_id,
        }.get(column)
        return value or ""

    def _foreground(self, event: StoredEvent, column: int) -> QColor | None:
        if column == SIGNATURE:
            return SIGNATURE_COLOR.get(event.verification.status)
        if column == SUCCESS and event.summary is not None and event.summary.success is not None:
            return OK_COLOR if event.summary.success else FAILURE_COLOR
        if column == TYPE and event.malformed:
            return MALFORMED_COLOR
        return None

    def _tooltip(self, event: StoredEvent, column: int) -> str | None:
        if column == SIGNATURE:
            return event.verification.describe()
        if column == TYPE and event.malformed:
            return event.malformed
        if column == SUCCESS and event.summary is not None and event.summary.error:
            return event.summary.error
        if column == TIME:
            return (
                time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(event.received_at))
                + f" from {event.peer}"
            )
        if column == DUPLICATES and event.duplicates:
            return f"Received {event.duplicates + 1} times (Nango retries are counted here, not shown twice)"
        return None

    # -- paging from the store ------------------------------------------------------------------------
    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return (
            not parent.isValid()
            and not self._exhausted
            and self._in_flight is None
            and self._store is not None
        )

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        # Offset = rows shown; they are the newest matching events, so a few live events not yet flushed can
        # only make pages overlap (deduplicated by id), never skip an event.
        task = Task(
            self._store.list,
            self.page_size,
            len(self._rows),
            replace(self._filter),
            tag=self._generation,
            name="EventsModel.page",
        )
        task.signals.succeeded.connect(self._on_page)
        task.signals.failed.connect(self._on_page_failed)
        self._set_in_flight(task.start())

    def _set_in_flight(self, task: Task | None) -> None:
        was = self._in_flight is not None
        self._in_flight = task
        if was != (task is not None):
            self.loadingChanged.emit(task is not None)

    @Slot(object, object)
    def _on_page(self, generation: object, page: object) -> None:
        if generation != self._generation:
            return  # a reply to a replaced filter or store
        events: list[StoredEvent] = page  # type: ignore[assignment]
        self._exhausted = len(events) < self.page_size
        self._set_in_flight(None)
        self._insert_sorted([e for e in events if e.id not in self._ids])

    @Slot(object, object)
    def _on_page_failed(self, generation: object, exc: object) -> None:
        if generation != self._generation:
            return
        self._exhausted = True  # do not hammer a broken store; reload() retries
        self._set_in_flight(None)
        log.warning("Loading webhook events failed: %r", exc)
        self.loadFailed.emit(exc)

    # -- live events ----------------------------------------------------------------------------------
    @Slot(object, bool)
    def add_event(self, event: object, duplicate: bool = False) -> None:
        """Queue a live event (GUI thread); rows appear on the next batch flush."""
        self._pending.append((event, duplicate))  # type: ignore[arg-type]
        self.received_total += 1
        if not self._flush_timer.isActive():
            self._flush_timer.start(self._flush_interval)

    @Slot(object)
    def add_events(self, batch: object) -> None:
        """Queue a batch of live ``(event, duplicate)`` pairs (``ListenerController.eventsReceived``)."""
        items = list(batch)  # type: ignore[call-overload]
        self._pending.extend(items)
        self.received_total += len(items)
        if items and not self._flush_timer.isActive():
            self._flush_timer.start(self._flush_interval)

    @Slot()
    def flush(self) -> None:
        """Apply the queued live events now: new rows in one insert, duplicates as in-place updates."""
        self._flush_timer.stop()
        pending, self._pending = self._pending, []
        self._flush_interval = self.BUSY_FLUSH_MS if len(pending) >= self.BUSY_BATCH else self.FLUSH_MS
        fresh: dict[int, StoredEvent] = {}
        for event, _duplicate in pending:
            if event.id in self._ids:
                self.update_event(event)
            elif event.id in fresh or matches(self._filter, event):
                fresh[event.id] = event  # the latest copy wins (its duplicate counter is the newest)
        # A duplicate of an event we never showed stays out: its original is older than what is on screen
        # or does not match the filter; either way the store has it.
        new = [e for e in fresh.values() if not (e.duplicates and self._rows and e.id < self._rows[-1].id)]
        if len(new) > self.max_rows:
            new = sorted(new, key=_neg_id)[: self.max_rows]
        self._insert_sorted(new)
        self._trim()

    def _trim(self) -> None:
        if len(self._rows) <= self.max_rows:
            return
        first = self.max_rows
        self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
        for event in self._rows[first:]:
            self._ids.discard(event.id)
        del self._rows[first:]
        self.endRemoveRows()
        self._exhausted = self._store is None  # the trimmed ones can be paged back
        self.countChanged.emit()

    def _insert_sorted(self, events: Iterable[StoredEvent]) -> None:
        """Insert events keeping rows sorted by id descending: blocks at the top/bottom, single rows between."""
        events = sorted(events, key=_neg_id)
        if not events:
            return
        rows = self._rows
        top = [e for e in events if not rows or e.id > rows[0].id]
        bottom = [e for e in events if rows and e.id < rows[-1].id]
        middle = [e for e in events if rows and rows[-1].id < e.id < rows[0].id]
        if top:
            self.beginInsertRows(QModelIndex(), 0, len(top) - 1)
            rows[0:0] = top
            self._ids.update(e.id for e in top)
            self.endInsertRows()
        for event in middle:
            row = bisect.bisect_left(rows, -event.id, key=_neg_id)
            self.beginInsertRows(QModelIndex(), row, row)
            rows.insert(row, event)
            self._ids.add(event.id)
            self.endInsertRows()
        if bottom:
            n = len(rows)
            self.beginInsertRows(QModelIndex(), n, n + len(bottom) - 1)
            rows.extend(bottom)
            self._ids.update(e.id for e in bottom)
            self.endInsertRows()
        self.countChanged.emit()

    # -- row access -----------------------------------------------------------------------------------
    def row_of(self, event_id: int) -> int | None:
        if event_id not in self._ids:
            return None
        row = bisect.bisect_left(self._rows, -event_id, key=_neg_id)
        return row if row < len(self._rows) and self._rows[row].id == event_id else None

    def event_at(self, row: int) -> StoredEvent | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def events(self) -> list[StoredEvent]:
        return list(self._rows)

    def update_event(self, event: StoredEvent) -> None:
        """Replace the row of ``event.id`` (new duplicate count, pin state); no-op if not shown."""
        row = self.row_of(event.id)
        if row is None:
            return
        self._rows[row] = event
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def set_pinned(self, event_id: int, pinned: bool) -> None:
        row = self.row_of(event_id)
        if row is not None:
            self.update_event(replace(self._rows[row], pinned=pinned))

    def pending_count(self) -> int:
        return len(self._pending)


def event_summary_line(event: StoredEvent) -> str:
    """One line for small lists (recent events of a connection)."""
    s = event.summary
    what = s.describe() if s is not None else (event.malformed or "malformed body")
    return f"{format_time(event.received_at)}  {what}  [{SIGNATURE_TEXT.get(event.verification.status, '')}]"
