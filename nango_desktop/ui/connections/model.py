"""The connections table: every connection of the environment, as compact rows.

``ConnectionsModel`` shows the session's list (``follow(store)``: the store's pages are its rows, built on its
loading worker) or its own (``load(search=...)``: a server search on a ``Task``), appending each page with one
``beginInsertRows`` as it arrives. Rows are ``domain.connection_rows.ConnectionRow`` (display, sort and filter
values precomputed; the full model built on demand). A generation counter drops pages of a replaced load.

Filtering and sorting happen in ``ConnectionsFilterProxy`` (proxy.py) on the Qt-free engine
``domain.filter_engine``; the source model keeps the API order (its own ``sort`` still works, for other views).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap

from nango_desktop.domain.connection_rows import (
    COLUMNS,
    ConnectionRow,
    models_of,
    row_of_connection,
)
from nango_desktop.domain.connection_rows import ID as F_ID
from nango_desktop.domain.connection_rows import TIMESTAMP as F_TIMESTAMP
from nango_desktop.domain.connection_rows import format_created as format_created  # re-exported
from nango_desktop.domain.connection_rows import local_minutes as local_minutes  # re-exported
from nango_desktop.domain.deeplinks import describe_error
from nango_desktop.domain.models import Connection
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import CancelledError
from nango_desktop.session.binding import SignalTracker
from nango_desktop.session.connections import Key, PageCredit, key_of, page_rows, rows_of
from nango_desktop.ui.theme import STATUS_COLORS, STATUS_LABELS

if TYPE_CHECKING:
    from nango_desktop.session.connections import ConnectionsStore

(CUSTOMER, EMAIL, ORGANIZATION, INTEGRATION, CONNECTION_ID, CREATED, STATUS) = range(len(COLUMNS))

ConnectionRole = Qt.ItemDataRole.UserRole + 1  # the Connection object
SortKeyRole = Qt.ItemDataRole.UserRole + 2  # the precomputed sort key of the cell
KeyRole = Qt.ItemDataRole.UserRole + 3  # (connection_id, integration_id)

PAGE_SIZE = 1000
RESORT_DELAY_MS = 400


class _Row:
    """The table's rows are ``domain.connection_rows.ConnectionRow``; ``build`` makes one from a model."""

    @staticmethod
    def build(conn: Connection | ConnectionRow) -> ConnectionRow:
        return row_of_connection(conn.connection() if isinstance(conn, ConnectionRow) else conn)


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


_DISPLAY = Qt.ItemDataRole.DisplayRole
ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_DECORATION = Qt.ItemDataRole.DecorationRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole


def cell_data(row: ConnectionRow, column: int, role: int) -> Any:
    """``data()`` of one cell of ``row`` (shared by the model and ``ConnectionsFilterProxy``)."""
    if role == _DISPLAY:
        return STATUS_LABELS[row.status] if column == STATUS else row.cell(column)
    if role == ConnectionRole:
        return row.connection()
    if role == SortKeyRole:
        return row.sort_key(column)
    if role == KeyRole:
        return row.key
    if column == STATUS:
        if role == _DECORATION:
            return status_icon(row.status)
        if role == _FOREGROUND and row.status != "ok":
            return QBrush(QColor(STATUS_COLORS[row.status]))
        if role == _TOOLTIP:
            return status_tooltip(row)
    if role == _TOOLTIP and column in (CUSTOMER, EMAIL, ORGANIZATION):
        info = row.customer
        lines = [
            f"End user id: {info.end_user_id or '—'}",
            f"Email: {info.email or '—'}",
            f"Organization: {info.organization or '—'}"
            + (f" ({info.organization_id})" if info.organization_id else ""),
        ]
        return "\n".join(lines)
    if role == _TOOLTIP and column in (INTEGRATION, CONNECTION_ID, CREATED):
        return row.cell(column) or None  # the whole value of a cell a narrow column elides
    return None


def status_tooltip(conn: Connection | ConnectionRow) -> str:
    if not conn.errors:
        return "No errors"
    return "\n".join(
        f"{d.title} — log id {d.log_id or 'unknown'}" for d in (describe_error(e) for e in conn.errors)
    )


class ConnectionsModel(QAbstractTableModel):
    """All connections of the environment (or a given list, ``set_connections``).

    ``client_provider`` returns a NangoClient; it is called on the worker thread. Signals:
    ``loadStarted(Task)``, ``loadProgress(int loaded)``, ``loadFinished(bool complete)`` (False when the load
    was cancelled or failed), ``loadFailed(exc)`` (not for a cancel).
    """

    loadStarted = Signal(object)
    loadProgress = Signal(int)
    pageLoaded = Signal(object)  # list[ConnectionRow] of each page of the current load, as it arrives
    loadFinished = Signal(bool)
    loadFailed = Signal(object)
    _pageReady = Signal(int, object, object)  # (generation, list[ConnectionRow], PageCredit); on the worker

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
        self._rows: list[ConnectionRow] = []
        self._staged: list[ConnectionRow] | None = None  # rows of a refresh, swapped in when complete
        self._index: dict[Key, int] | None = None
        self._generation = 0
        self._task: Task | None = None
        self._own_task: Task | None = None  # a load of this model's own (server search, or no store)
        self._store: ConnectionsStore | None = None
        self._store_bound = SignalTracker()  # bindings to the followed store, dropped when following another
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
        return cell_data(self._rows[index.row()], index.column(), role)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder the rows by the precomputed keys (``column`` -1 restores the API order)."""
        self._sort_column, self._sort_order = column, order
        self._resort_timer.stop()
        self._apply_order(self._sorted(self._rows))

    # -- content ----------------------------------------------------------------------------------------
    def connections(self) -> list[Connection]:
        """The full models of every row (built from the rows: for small lists; ``rows()`` is the compact list)."""
        return models_of(self._rows)

    def connection(self, row: int) -> Connection:
        return self._rows[row].connection()

    def row_of(self, connection_id: str, integration_id: str | None = None) -> int | None:
        """Row of a connection (the first one with that id when ``integration_id`` is None)."""
        if integration_id is not None:
            if self._index is None:
                self._index = {r.key: i for i, r in enumerate(self._rows)}
            return self._index.get((connection_id, integration_id))
        return next((i for i, r in enumerate(self._rows) if r.key[0] == connection_id), None)

    def row_data(self, row: int) -> ConnectionRow:
        return self._rows[row]

    def rows(self) -> list[ConnectionRow]:
        """The precomputed rows, in model order (do not mutate)."""
        return self._rows

    def set_connections(self, connections: Iterable[Connection | ConnectionRow]) -> None:
        """Show a given list (models or rows; no loading); cancels a load in progress."""
        self._stop()
        self._complete = True
        self._replace(rows_of(connections))

    def clear(self) -> None:
        self.set_connections([])
        self._complete = False

    def update_connection(self, conn: Connection) -> None:
        """Replace the row of ``conn`` (same id and integration), or add it on top when unknown."""
        row = self.row_of(*key_of(conn))
        new = row_of_connection(conn)
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
        self._task = self._own_task = task
        task.start()
        self.loadStarted.emit(task)
        return task

    def follow(self, store: ConnectionsStore) -> None:
        """Show the connection list of ``store`` (the session's only loader): its loads, pages and row changes.

        A load of the store with rows on screen keeps them until the new list is complete (selection and
        scroll stay); an empty model fills page by page. A server-side ``load(search=...)`` of this model
        is a query of its own: while one is shown, the store's loads are not mirrored. Following another store
        (the next profile's session) drops every binding to the previous one.
        """
        self._store_bound.disconnect_all()
        self._store = store
        # the store's pages are the table's rows (built on its loading worker, never on the GUI thread)
        track = self._store_bound.track
        track(store.loadStarted, self._on_store_started)
        track(store.pageLoaded, self._on_store_page)
        track(store.loadFinished, self._on_store_finished)
        track(store.loadFailed, self._on_store_failed)
        track(store.connectionUpdated, self._on_store_updated)
        track(store.connectionRemoved, self.remove_connection)
        if store.is_loading and store.task is not None:
            self._on_store_started(store.task)
            self._on_store_page(store.arrived())
        elif store.is_complete:
            self.set_connections(store.connections())

    def show_store(self) -> None:
        """Leave a server search: show the store's list (loading it when it has none)."""
        store = self._store
        if store is None:
            return
        self._stop()
        self._search = None
        if store.is_loading and store.task is not None:
            self._on_store_started(store.task)
            self._on_store_page(store.arrived())
        elif store.is_complete:
            self.set_connections(store.connections())
            self.loadFinished.emit(True)  # the list is on screen, complete (no second load)
        else:
            store.load()

    def _mirrors_store(self) -> bool:
        return self._store is not None and self._search is None and self._own_task is None

    @Slot(object)
    def _on_store_started(self, task: Task) -> None:
        if self._search is not None or self._own_task is not None:
            return
        keep_rows = bool(self._rows)
        self._generation += 1
        self._complete = False
        self._staged = [] if keep_rows else None
        if not keep_rows:
            self._replace([])
        self._task = task
        self.loadStarted.emit(task)

    @Slot(object)
    def _on_store_page(self, rows: list[ConnectionRow]) -> None:
        if self._mirrors_store() and self._task is not None:
            self._on_page(self._generation, rows)

    @Slot(bool)
    def _on_store_finished(self, complete: bool) -> None:
        if self._mirrors_store() and self._task is not None:
            self._finish(complete=complete)

    @Slot(object)
    def _on_store_failed(self, exc: object) -> None:
        if self._mirrors_store() and self._task is not None:
            self.loadFailed.emit(exc)

    @Slot(object)
    def _on_store_updated(self, conn: Connection) -> None:
        self.update_connection(conn)

    def cancel(self) -> None:
        """Stop the current load; rows already loaded stay (``loadFinished(False)`` follows)."""
        if self._task is not None:
            self._task.cancel()

    def _stop(self) -> None:
        """Cancel this model's own load and forget any load: late pages and results are ignored.

        A load of the store is not cancelled here (other views follow it); only a user's Cancel does that."""
        if self._own_task is not None:
            self._own_task.cancel()
        self._own_task = None
        self._task = None
        self._staged = None
        self._generation += 1

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the worker of the current load returned (shutdown and tests)."""
        return self._task is None or self._task.wait(timeout)

    def _fetch(self, generation: int, search: str | None, *, cancel: threading.Event, progress) -> int:
        """Worker thread: fetch every page, build rows, hand each page to the GUI thread."""
        client, loaded = self._client_provider(), 0  # type: ignore[misc]
        pages = client.iter_connection_pages(
            search=search, page_size=self._page_size, cancel=cancel, raw=True
        )
        with PageCredit() as credit:
            for page in pages:
                rows = page_rows(page)
                loaded += len(rows)
                credit.wait(cancel, loaded)
                self._pageReady.emit(generation, rows, credit)
                progress(loaded, None, f"Loading… {loaded:,} connections")
        return loaded

    @Slot(int, object, object)
    def _on_page(self, generation: int, rows: list[ConnectionRow], credit: PageCredit | None = None) -> None:
        if credit is not None:
            credit.taken()  # the GUI thread took this page (queued: its slot runs after this one returns)
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
        self.pageLoaded.emit(rows)

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
        self._task = self._own_task = None
        self._complete = complete
        if self._staged is not None:
            staged, self._staged = self._staged, None
            if complete:
                self._replace(staged)
        elif self._sort_column >= 0:
            self._resort()
        self.loadFinished.emit(complete)

    # -- internals --------------------------------------------------------------------------------------
    def _sorted(self, rows: list[ConnectionRow]) -> list[ConnectionRow]:
        column = self._sort_column
        if column < 0:  # the API's order: newest first
            return sorted(rows, key=lambda r: (r[F_TIMESTAMP], r[F_ID]), reverse=True)
        return sorted(
            rows, key=lambda r: r.sort_key(column), reverse=self._sort_order == Qt.SortOrder.DescendingOrder
        )

    @Slot()
    def _resort(self) -> None:
        if self._sort_column >= 0:
            self._apply_order(self._sorted(self._rows))

    def _apply_order(self, rows: list[ConnectionRow]) -> None:
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

    def _replace(self, rows: list[ConnectionRow]) -> None:
        self._resort_timer.stop()
        self.beginResetModel()
        self._rows = self._sorted(rows) if self._sort_column >= 0 else rows
        self._index = None
        self.endResetModel()

    def _insert(self, at: int, rows: list[ConnectionRow]) -> None:
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), at, at + len(rows) - 1)
        self._rows[at:at] = rows
        self._index = None
        self.endInsertRows()
