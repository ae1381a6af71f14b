"""The connections table: every connection of the environment, loaded in the background.

``ConnectionsModel`` loads all pages of GET /connections on a ``Task`` and appends each page with one
``beginInsertRows`` as it arrives, so the first rows show at once and the GUI thread does little per page.
Everything a row needs for display, sorting and filtering (cells, sort keys, a lowercase haystack) is
computed on the worker thread (``_Row.build``). A generation counter drops pages of a replaced load.

Sorting 100k rows through ``QSortFilterProxyModel`` would call ``data()`` in Python for every comparison
(seconds); instead the proxy hands ``sort()`` to the source model, which reorders its rows with Python's
``sort`` on the precomputed keys and emits ``layoutChanged`` (persistent indexes kept). The proxy
(``ConnectionsFilterProxy``) only filters: search terms on the haystack, integration set, status set, tags.
"""

from __future__ import annotations

import gc
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap

from nango_desktop.domain.models import Connection, parse_datetime
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import CancelledError

COLUMNS = ("Customer", "Email", "Organization", "Integration", "Connection ID", "Created", "Status")
(CUSTOMER, EMAIL, ORGANIZATION, INTEGRATION, CONNECTION_ID, CREATED, STATUS) = range(len(COLUMNS))

ConnectionRole = Qt.ItemDataRole.UserRole + 1  # the Connection object
SortKeyRole = Qt.ItemDataRole.UserRole + 2  # the precomputed sort key of the cell
KeyRole = Qt.ItemDataRole.UserRole + 3  # (connection_id, integration_id)

STATUS_LABELS = {"auth_error": "Auth error", "sync_error": "Sync error", "ok": "OK"}
STATUS_ORDER = {"auth_error": 0, "sync_error": 1, "ok": 2}
STATUS_COLORS = {"auth_error": "#e5484d", "sync_error": "#e59a1a", "ok": "#30a46c"}
PAGE_SIZE = 1000
RESORT_DELAY_MS = 400

Key = tuple[str, str]  # (connection_id, integration_id)


def key_of(conn: Connection) -> Key:
    return (conn.connection_id, conn.provider_config_key)


def format_created(value: str) -> str:
    """Local time, minutes precision ("2026-03-04 06:07"); the raw text when it is not ISO 8601."""
    return _created_text(parse_datetime(value), value)


def _created_text(parsed: datetime | None, raw: str) -> str:
    if parsed is None:
        return raw
    if parsed.tzinfo is None:
        return f"{parsed:%Y-%m-%d %H:%M}"
    return local_minutes(parsed.timestamp())


def local_minutes(timestamp: float) -> str:
    """``time.localtime`` (DST-aware) formatted by hand: several times faster than astimezone + strftime."""
    t = time.localtime(timestamp)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}"


@dataclass(slots=True, eq=False)
class _Row:
    """A connection with everything precomputed for display, sorting and filtering."""

    conn: Connection
    key: Key
    cells: tuple[str, ...]
    sort_keys: tuple[Any, ...]
    haystack: str
    status: str
    tags: dict[str, str]  # lowercased keys and values (tags plus the ones of a legacy end user)
    visible: bool = True  # filter result cached by ConnectionsFilterProxy, valid when filter_gen matches
    filter_gen: int = -1

    @classmethod
    def build(cls, conn: Connection) -> _Row:
        info = conn.customer
        customer = info.customer or conn.connection_id
        status = conn.status
        created_at = parse_datetime(conn.created)
        timestamp = created_at.timestamp() if created_at is not None else 0.0
        created = _created_text(created_at, conn.created)
        tags = conn.all_tags
        cells = (
            customer,
            info.email or "",
            info.organization,
            conn.provider_config_key,
            conn.connection_id,
            created,
            STATUS_LABELS[status],
        )
        sort_keys = (
            customer.casefold(),
            cells[EMAIL].casefold(),
            cells[ORGANIZATION].casefold(),
            cells[INTEGRATION].casefold(),
            cells[CONNECTION_ID].casefold(),
            timestamp,
            STATUS_ORDER[status],
        )
        parts = [*cells[:5], conn.provider, info.end_user_id or "", info.organization_id or ""]
        parts.extend(f"{k}={v}" for k, v in tags.items())
        return cls(
            conn=conn,
            key=key_of(conn),
            cells=cells,
            sort_keys=sort_keys,
            haystack="\x1f".join(parts).lower(),
            status=status,
            tags={k.lower(): str(v).lower() for k, v in tags.items()},
        )


_DOTS: dict[str, QIcon] = {}


def status_icon(status: str) -> QIcon:
    """A coloured dot for the status column (created lazily, on the GUI thread)."""
    icon = _DOTS.get(status)
    if icon is None:
        pixmap = QPixmap(32, 32)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(STATUS_COLORS[status]))
        painter.drawEllipse(6, 6, 20, 20)
        painter.end()
        icon = _DOTS[status] = QIcon(pixmap)
    return icon


class ConnectionsModel(QAbstractTableModel):
    """All connections of the environment (or a given list, ``set_connections``).

    ``client_provider`` returns a NangoClient; it is called on the worker thread. Signals:
    ``loadStarted(Task)``, ``loadProgress(int loaded)``, ``loadFinished(bool complete)`` (False when the load
    was cancelled or failed), ``loadFailed(exc)`` (not for a cancel).
    """

    loadStarted = Signal(object)
    loadProgress = Signal(int)
    loadFinished = Signal(bool)
    loadFailed = Signal(object)
    _pageReady = Signal(int, object)  # (generation, list[_Row]); emitted on the worker thread

    def __init__(
        self,
        client_provider: Callable[[], Any] | None = None,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        self._client_provider = client_provider
        self._page_size = page_size
        self._rows: list[_Row] = []
        self._staged: list[_Row] | None = None  # rows of a refresh, swapped in when complete
        self._index: dict[Key, int] | None = None
        self._generation = 0
        self._task: Task | None = None
        self._complete = False
        self._search: str | None = None
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._resort_timer = QTimer(self)
        self._resort_timer.setSingleShot(True)
        self._resort_timer.setInterval(RESORT_DELAY_MS)
        self._resort_timer.timeout.connect(self._resort)
        self._pageReady.connect(self._on_page, Qt.ConnectionType.QueuedConnection)

    # -- Qt model API -----------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[column]
        if role == ConnectionRole:
            return row.conn
        if role == SortKeyRole:
            return row.sort_keys[column]
        if role == KeyRole:
            return row.key
        if column == STATUS:
            if role == Qt.ItemDataRole.DecorationRole:
                return status_icon(row.status)
            if role == Qt.ItemDataRole.ForegroundRole and row.status != "ok":
                return QBrush(QColor(STATUS_COLORS[row.status]))
            if role == Qt.ItemDataRole.ToolTipRole:
                return self._status_tooltip(row.conn)
        if role == Qt.ItemDataRole.ToolTipRole and column in (CUSTOMER, EMAIL, ORGANIZATION):
            info = row.conn.customer
            lines = [
                f"End user id: {info.end_user_id or '—'}",
                f"Email: {info.email or '—'}",
                f"Organization: {info.organization or '—'}"
                + (f" ({info.organization_id})" if info.organization_id else ""),
            ]
            return "\n".join(lines)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder the rows by the precomputed keys (``column`` -1 restores the API order)."""
        self._sort_column, self._sort_order = column, order
        self._resort_timer.stop()
        self._apply_order(self._sorted(self._rows))

    @staticmethod
    def _status_tooltip(conn: Connection) -> str:
        if not conn.errors:
            return "No errors"
        return "\n".join(f"{e.type} error — log id {e.log_id or 'unknown'}" for e in conn.errors)

    # -- content ----------------------------------------------------------------------------------------
    def connections(self) -> list[Connection]:
        return [r.conn for r in self._rows]

    def connection(self, row: int) -> Connection:
        return self._rows[row].conn

    def row_of(self, connection_id: str, integration_id: str | None = None) -> int | None:
        """Row of a connection (the first one with that id when ``integration_id`` is None)."""
        if integration_id is not None:
            if self._index is None:
                self._index = {r.key: i for i, r in enumerate(self._rows)}
            return self._index.get((connection_id, integration_id))
        return next((i for i, r in enumerate(self._rows) if r.key[0] == connection_id), None)

    def row_data(self, row: int) -> _Row:
        return self._rows[row]

    def rows(self) -> list[_Row]:
        """The precomputed rows, in model order (do not mutate)."""
        return self._rows

    def set_connections(self, connections: Iterable[Connection]) -> None:
        """Show a given list (no loading); cancels a load in progress."""
        self._stop()
        self._complete = True
        self._replace([_Row.build(c) for c in connections])

    def clear(self) -> None:
        self.set_connections([])
        self._complete = False

    def update_connection(self, conn: Connection) -> None:
        """Replace the row of ``conn`` (same id and integration), or add it on top when unknown."""
        row = self.row_of(*key_of(conn))
        new = _Row.build(conn)
        if row is None:
            self._insert(0, [new])
            return
        self._rows[row] = new
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def remove_connection(self, connection_id: str, integration_id: str) -> bool:
        row = self.row_of(connection_id, integration_id)
        if row is None:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self._index = None
        self.endRemoveRows()
        return True

    # -- loading ----------------------------------------------------------------------------------------
    @property
    def is_loading(self) -> bool:
        return self._task is not None

    @property
    def is_complete(self) -> bool:
        """True when the last load fetched every page (not cancelled, no error)."""
        return self._complete

    @property
    def search(self) -> str | None:
        return self._search

    @property
    def task(self) -> Task | None:
        return self._task

    def load(self, search: str | None = None, *, keep_rows: bool = False) -> Task:
        """(Re)load every connection matching the server-side ``search``.

        With ``keep_rows`` (a refresh) the current rows stay until the new list is complete, then are
        swapped at once; otherwise the table is cleared and rows appear page by page.
        """
        if self._client_provider is None:
            raise RuntimeError("ConnectionsModel has no client provider")
        self._stop()
        self._search = search or None
        self._complete = False
        if keep_rows:
            self._staged = []
        else:
            self._staged = None
            self._replace([])
        task = Task(
            self._fetch,
            self._generation,
            self._search,
            tag=self._generation,
            on_done=partial(self._on_done, self._generation),
            on_error=partial(self._on_error, self._generation),
            name="load connections",
        )
        self._task = task
        task.start()
        self.loadStarted.emit(task)
        return task

    def cancel(self) -> None:
        """Stop the current load; rows already loaded stay (``loadFinished(False)`` follows)."""
        if self._task is not None:
            self._task.cancel()

    def _stop(self) -> None:
        """Cancel the current load and forget it: its late pages and results are ignored."""
        self.cancel()
        self._task = None
        self._staged = None
        self._generation += 1

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the worker of the current load returned (shutdown and tests)."""
        return self._task is None or self._task.wait(timeout)

    def _fetch(self, generation: int, search: str | None, *, cancel: threading.Event, progress) -> int:
        """Worker thread: fetch every page, build rows, hand each page to the GUI thread."""
        client = self._client_provider()  # type: ignore[misc]
        loaded = 0
        for page in client.iter_connection_pages(search=search, page_size=self._page_size, cancel=cancel):
            rows = [_Row.build(c) for c in page]
            loaded += len(rows)
            self._pageReady.emit(generation, rows)
            progress(loaded, None, f"Loading… {loaded:,} connections")
        return loaded

    @Slot(int, object)
    def _on_page(self, generation: int, rows: list[_Row]) -> None:
        if generation != self._generation:
            return  # a page of a replaced or cancelled load
        # The rows live as long as the table: keep the cyclic GC from re-scanning them on every full
        # collection (each would stall every thread for ~1 s at 100k rows). Refcounting still frees them.
        gc.freeze()
        if self._staged is not None:
            self._staged.extend(rows)
        else:
            self._insert(len(self._rows), rows)
            if self._sort_column >= 0 and not self._resort_timer.isActive():
                self._resort_timer.start()
        self.loadProgress.emit(len(self._rows) if self._staged is None else len(self._staged))

    def _on_done(self, generation: int, _loaded: int) -> None:
        # Delivered after every page of this load (same worker thread, same event queue, FIFO).
        if generation == self._generation:
            self._finish(complete=True)

    def _on_error(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if not isinstance(exc, CancelledError):
            self.loadFailed.emit(exc)
        self._finish(complete=False)

    def _finish(self, *, complete: bool) -> None:
        self._task = None
        self._complete = complete
        if self._staged is not None:
            staged, self._staged = self._staged, None
            if complete:
                self._replace(staged)
        elif self._sort_column >= 0:
            self._resort()
        self.loadFinished.emit(complete)

    # -- internals --------------------------------------------------------------------------------------
    def _sorted(self, rows: list[_Row]) -> list[_Row]:
        column = self._sort_column
        if column < 0:  # the API's order: newest first
            return sorted(rows, key=lambda r: (r.sort_keys[CREATED], r.conn.id), reverse=True)
        return sorted(
            rows, key=lambda r: r.sort_keys[column], reverse=self._sort_order == Qt.SortOrder.DescendingOrder
        )

    @Slot()
    def _resort(self) -> None:
        if self._sort_column >= 0:
            self._apply_order(self._sorted(self._rows))

    def _apply_order(self, rows: list[_Row]) -> None:
        """Replace the row order (same rows), keeping persistent indexes (selection, current row)."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_rows = [self._rows[i.row()] for i in old]
        self._rows = rows
        self._index = None
        if old:
            position = {id(r): n for n, r in enumerate(rows)}
            new = [self.index(position[id(r)], i.column()) for r, i in zip(old_rows, old, strict=True)]
            self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _replace(self, rows: list[_Row]) -> None:
        self._resort_timer.stop()
        self.beginResetModel()
        self._rows = self._sorted(rows) if self._sort_column >= 0 else rows
        self._index = None
        self.endResetModel()

    def _insert(self, at: int, rows: list[_Row]) -> None:
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), at, at + len(rows) - 1)
        self._rows[at:at] = rows
        self._index = None
        self.endInsertRows()


_FILTER_GENERATIONS = itertools.count()


class ConnectionsFilterProxy(QSortFilterProxyModel):
    """Local filtering (instant) over a ConnectionsModel; sorting is delegated to the source model.

    Filters: ``set_text`` (every whitespace-separated term must occur in the row's haystack: customer,
    email, organization, integration, ids, ``tag=value`` pairs), ``set_integrations``, ``set_statuses``
    (subset of "auth_error", "sync_error", "ok"), ``set_tag_filters`` ({key: value}; value "" = has key).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._terms: tuple[str, ...] = ()
        self._integrations: frozenset[str] | None = None
        self._statuses: frozenset[str] | None = None
        self._tags: dict[str, str] = {}
        self._source: ConnectionsModel | None = None
        self._filtering = False
        self._gen = next(_FILTER_GENERATIONS)

    def setSourceModel(self, model: QAbstractItemModel) -> None:  # noqa: N802 - Qt override
        self._source = model if isinstance(model, ConnectionsModel) else None
        super().setSourceModel(model)

    # -- filters ----------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return " ".join(self._terms)

    @property
    def integrations(self) -> frozenset[str] | None:
        return self._integrations

    @property
    def statuses(self) -> frozenset[str] | None:
        return self._statuses

    @property
    def tag_filters(self) -> dict[str, str]:
        return dict(self._tags)

    def set_text(self, text: str) -> None:
        terms = tuple(text.lower().split())
        if terms != self._terms:
            self._change(lambda: setattr(self, "_terms", terms))

    def set_integrations(self, integrations: Iterable[str] | None) -> None:
        value = frozenset(integrations) if integrations is not None else None
        if value != self._integrations:
            self._change(lambda: setattr(self, "_integrations", value))

    def set_statuses(self, statuses: Iterable[str] | None) -> None:
        value = frozenset(statuses) if statuses is not None else None
        if value != self._statuses:
            self._change(lambda: setattr(self, "_statuses", value))

    def set_tag_filters(self, tags: Mapping[str, str]) -> None:
        value = {k.strip().lower(): v.strip().lower() for k, v in tags.items() if k.strip()}
        if value != self._tags:
            self._change(lambda: setattr(self, "_tags", value))

    def is_filtering(self) -> bool:
        return bool(self._terms or self._integrations is not None or self._statuses is not None or self._tags)

    def _change(self, apply: Callable[[], None]) -> None:
        apply()
        self._filtering = self.is_filtering()
        self._gen = next(_FILTER_GENERATIONS)  # unique across proxies: cached flags of another never match
        if self._filtering and self._source is not None:
            gen, accepts = self._gen, self.accepts
            for row in self._source.rows():  # one tight Python loop instead of a C++->Python call per check
                row.visible = accepts(row)
                row.filter_gen = gen
        # invalidate() re-filters with ONE layoutChanged; endFilterChange() would emit a rowsRemoved /
        # rowsInserted pair per range, and a view spends O(rows) on each: seconds at 100k rows.
        self.invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if not self._filtering or self._source is None:
            return True
        row = self._source.row_data(source_row)
        if row.filter_gen != self._gen:  # a row added or changed since the filter was set
            row.visible = self.accepts(row)
            row.filter_gen = self._gen
        return row.visible

    def accepts(self, row: _Row) -> bool:
        if self._statuses is not None and row.status not in self._statuses:
            return False
        if self._integrations is not None and row.key[1] not in self._integrations:
            return False
        haystack = row.haystack
        for term in self._terms:
            if term not in haystack:
                return False
        for key, value in self._tags.items():
            have = row.tags.get(key)
            if have is None or (value and have != value):
                return False
        return True

    # -- sorting and views ------------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting happens in the source model (precomputed keys); the proxy keeps its order."""
        if self._source is not None:
            self._source.sort(column, order)
        else:
            super().sort(column, order)

    def connection(self, row: int) -> Connection:
        return self.index(row, 0).data(ConnectionRole)

    def visible_connections(self) -> list[Connection]:
        """The rows of the current view, in view order."""
        source = self._source
        if source is None:
            return [self.connection(r) for r in range(self.rowCount())]
        if not self.is_filtering():
            return source.connections()
        return [
            source.row_data(self.mapToSource(self.index(r, 0)).row()).conn for r in range(self.rowCount())
        ]

    def counts(self) -> tuple[int, int]:
        """(rows in view, of which with errors) without walking every visible row."""
        source = self._source
        if source is None:
            return self.rowCount(), 0
        errored = sum(1 for r in source.rows() if r.status != "ok" and self.accepts(r))
        return self.rowCount(), errored
