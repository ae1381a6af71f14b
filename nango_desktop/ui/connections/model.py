"""The connections table: every connection of the environment, loaded in the background.

``ConnectionsModel`` loads all pages of GET /connections on a ``Task`` and appends each page with one
``beginInsertRows`` as it arrives, so the first rows show at once and the GUI thread does little per page.
Everything a row needs for display, sorting and filtering (cells, sort keys, a lowercase haystack) is
computed on the worker thread (``_Row.build``). A generation counter drops pages of a replaced load.

Filtering and sorting happen in ``ConnectionsFilterProxy``, a ``QAbstractProxyModel`` that keeps the view
rows as a Python list of source row numbers: a ``QSortFilterProxyModel`` calls ``filterAcceptsRow`` (and,
to sort, ``lessThan``/``data()``) from C++ into Python once per row, hundreds of ms per keystroke at 100k
rows. The proxy filters with C-level passes over per-row lists and sorts with ``list.sort`` on the
precomputed keys; the source model keeps the API order (its own ``sort`` still works, for other views).
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from itertools import compress, count
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractProxyModel,
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

from nango_desktop.domain.connection_filter import (
    NO_FILTER,
    Filter,
    accepts,
    make_filter,
    narrows,
    remember,
    select,
    sort_rows,
    split_terms,
)
from nango_desktop.domain.connection_rows import (
    COLUMNS,
    ConnectionRow,
    models_of,
    row_of_connection,
)
from nango_desktop.domain.connection_rows import ID as F_ID
from nango_desktop.domain.connection_rows import INTEGRATION as F_INTEGRATION
from nango_desktop.domain.connection_rows import TAGS as F_TAGS
from nango_desktop.domain.connection_rows import TIMESTAMP as F_TIMESTAMP
from nango_desktop.domain.connection_rows import format_created as format_created  # re-exported
from nango_desktop.domain.connection_rows import local_minutes as local_minutes  # re-exported
from nango_desktop.domain.deeplinks import describe_error
from nango_desktop.domain.models import Connection
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import CancelledError
from nango_desktop.session.binding import SignalTracker
from nango_desktop.session.connections import Key, key_of, page_rows, rows_of
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
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
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
    _pageReady = Signal(int, object)  # (generation, list[ConnectionRow]); emitted on the worker thread

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
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

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
        client = self._client_provider()  # type: ignore[misc]
        loaded = 0
        pages = client.iter_connection_pages(
            search=search, page_size=self._page_size, cancel=cancel, raw=True
        )
        for page in pages:
            rows = page_rows(page)
            loaded += len(rows)
            self._pageReady.emit(generation, rows)
            progress(loaded, None, f"Loading… {loaded:,} connections")
        return loaded

    @Slot(int, object)
    def _on_page(self, generation: int, rows: list[ConnectionRow]) -> None:
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


_VERTICAL_SORT = QAbstractItemModel.LayoutChangeHint.VerticalSortHint
# the (parents, hint) overload: PySide's plain emit() picks the one without arguments. The hint tells
# views that columns stay put: the header keeps its sections, the selection model saves one index per row.
_LAYOUT_SIGNATURE = ("QList<QPersistentModelIndex>", "QAbstractItemModel::LayoutChangeHint")


class ConnectionsFilterProxy(QAbstractProxyModel):
    """Local filtering and sorting over a ConnectionsModel, fast at 10^5 rows.

    The view rows are a Python list of source row numbers (``_visible``); nothing is computed per row
    through a C++ -> Python virtual call. Filters run as C-level ``compress``/``map`` passes over
    per-source-row lists precomputed from the ``_Row`` objects (haystack, integration, status, tags). A
    filter that narrows the previous one (typing on: "ed" -> "eds") only looks at the rows shown; the last
    few results are kept, so deleting characters is a lookup. Sorting is ``sorted(rows,
    key=column_keys.__getitem__)`` on the precomputed keys, stable like QSortFilterProxyModel's (ties keep
    the previous view order); a filtered view sorts only the rows shown, the full order catches up when
    it is needed. Every change of the view rows is one ``layoutChanged`` (hint ``VerticalSortHint``: the
    columns stay) with the persistent indexes (selection, current row) moved to their rows, or invalid
    when their row is filtered out. Pages appended while loading are filtered alone and inserted with one
    ``beginInsertRows`` at the end; when a sort is active and a page does not fall after the last row, the
    rows are re-sorted a moment later (``RESORT_DELAY_MS``, and at once when the load finishes).

    Filters: ``set_text`` (every whitespace-separated term must occur in the row's haystack: customer,
    email, organization, integration, ids, ``tag=value`` pairs), ``set_integrations``, ``set_statuses``
    (subset of "auth_error", "sync_error", "ok"), ``set_tag_filters`` ({key: value}; value "" = has key).
    Column -1 in ``sort`` shows the source order (the API's: newest first).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._terms: tuple[str, ...] = ()
        self._integrations: frozenset[str] | None = None
        self._statuses: frozenset[str] | None = None
        self._tags: dict[str, str] = {}
        self._source: ConnectionsModel | None = None
        self._connections: list[tuple[Any, Any]] = []
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._resort_timer = QTimer(self)
        self._resort_timer.setSingleShot(True)
        self._resort_timer.setInterval(RESORT_DELAY_MS)
        self._resort_timer.timeout.connect(self._resort)
        self._pending: tuple[list[QModelIndex], list[Any]] | None = None  # persistent indexes across a change
        self._clear_rows()

    def _clear_rows(self) -> None:
        # per source row (parallel lists, index = source row)
        self._hay: list[str] = []
        self._integ: list[str] = []
        self._status: list[str] = []
        self._tagmaps: list[dict[str, str]] = []
        self._err = bytearray()
        self._keys: dict[int, list[Any]] = {}  # sort keys per column, built on the first sort by it
        # view state
        self._order: list[int] = []  # every source row, in view order
        self._visible: list[int] = []  # the source row of each proxy row
        self._pos: list[int] | None = None  # source row -> proxy row (-1 hidden), built on demand
        self._applied: Filter = NO_FILTER  # the filter _visible reflects
        self._filter_cache: dict[Filter, list[int]] = {}
        # sorts applied to _visible but not yet to _order (sorting a filtered view sorts the shown rows
        # only; _order catches up when it is needed: a wider filter, a change of the rows)
        self._order_behind: list[tuple[int, bool]] = []
        self._errored: int | None = None
        self._unsorted = False  # rows appended out of order, re-sort pending

    # -- source -----------------------------------------------------------------------------------------
    def setSourceModel(self, model: QAbstractItemModel | None) -> None:  # noqa: N802 - Qt override
        if model is not None and not isinstance(model, ConnectionsModel):
            raise TypeError("ConnectionsFilterProxy needs a ConnectionsModel")
        self.beginResetModel()
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections = []
        self._source = model
        super().setSourceModel(model)
        if model is not None:
            for signal, slot in (
                (model.modelAboutToBeReset, self._on_about_to_be_reset),
                (model.modelReset, self._on_reset),
                (model.rowsAboutToBeInserted, self._on_rows_about_to_be_inserted),
                (model.rowsInserted, self._on_rows_inserted),
                (model.rowsAboutToBeRemoved, self._on_rows_about_to_be_removed),
                (model.rowsRemoved, self._on_rows_removed),
                (model.layoutAboutToBeChanged, self._on_layout_about_to_be_changed),
                (model.layoutChanged, self._on_layout_changed),
                (model.dataChanged, self._on_data_changed),
                (model.loadFinished, self._flush_resort),
                (model.destroyed, self._on_source_destroyed),
            ):
                signal.connect(slot)
                self._connections.append((signal, slot))
        self._rebuild()
        self.endResetModel()

    # -- Qt model API -----------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or self._source is None else len(COLUMNS)

    def index(
        self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()
    ) -> QModelIndex:
        if parent.isValid() or not (0 <= row < len(self._visible)) or not (0 <= column < self.columnCount()):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: QModelIndex | QPersistentModelIndex | None = None) -> Any:  # type: ignore[override]
        if child is None:  # QObject.parent()
            return QObject.parent(self)
        return QModelIndex()

    def sibling(self, row: int, column: int, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        return self.index(row, column)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and bool(self._visible) and self._source is not None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or self._source is None:
            return None
        return cell_data(self._source.rows()[self._visible[index.row()]], index.column(), role)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and self._source is not None:
            return self._source.headerData(section, orientation, role)
        return None

    def mapToSource(self, proxy_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:  # noqa: N802
        if not proxy_index.isValid() or self._source is None:
            return QModelIndex()
        return self._source.index(self._visible[proxy_index.row()], proxy_index.column())

    def mapFromSource(self, source_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:  # noqa: N802
        if not source_index.isValid() or source_index.model() is not self._source:
            return QModelIndex()
        row = source_index.row()
        positions = self._positions()
        if row >= len(positions) or positions[row] < 0:
            return QModelIndex()
        return self.createIndex(positions[row], source_index.column())

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the view by the precomputed keys of ``column`` (-1: the source order, newest first)."""
        self._sort_column = column if 0 <= column < len(COLUMNS) else -1
        self._sort_order = order
        self._resort_timer.stop()
        self._unsorted = False
        if self._source is None:
            return
        if self._sort_column < 0:  # back to the source order: no ties, nothing left to catch up
            self._order, self._order_behind = list(range(len(self._hay))), []
        elif self.is_filtering():
            self._order_behind.append((self._sort_column, self._descending))
        else:
            self._order = self._sort_rows(self._full_order())
        visible = self._sort_rows(self._visible) if self.is_filtering() else list(self._order)
        self._filter_cache.clear()  # the cached lists are in the old order
        self._set_visible(visible)

    @property
    def _descending(self) -> bool:
        return self._sort_order == Qt.SortOrder.DescendingOrder

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

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
        terms = split_terms(text)
        if terms != self._terms:
            self._terms = terms
            self._refilter()

    def set_integrations(self, integrations: Iterable[str] | None) -> None:
        value = frozenset(integrations) if integrations is not None else None
        if value != self._integrations:
            self._integrations = value
            self._refilter()

    def set_statuses(self, statuses: Iterable[str] | None) -> None:
        value = frozenset(statuses) if statuses is not None else None
        if value != self._statuses:
            self._statuses = value
            self._refilter()

    def set_tag_filters(self, tags: Mapping[str, str]) -> None:
        value = {k.strip().lower(): v.strip().lower() for k, v in tags.items() if k.strip()}
        if value != self._tags:
            self._tags = value
            self._refilter()

    def is_filtering(self) -> bool:
        return bool(self._terms or self._integrations is not None or self._statuses is not None or self._tags)

    def _filter_state(self) -> Filter:
        return make_filter(self._terms, self._integrations, self._statuses, self._tags)

    def accepts(self, row: ConnectionRow) -> bool:
        """Whether the current filters accept ``row``."""
        return accepts(self._filter_state(), row.haystack, row.key[1], row.status, row.tag_map)

    def _select(self, candidates: list[int], flt: Filter, *, skip: Filter | None = None) -> list[int]:
        """The ``candidates`` (source rows) ``flt`` accepts, in their order (domain.connection_filter)."""
        return select(self._hay, self._integ, self._status, self._tagmaps, candidates, flt, skip=skip)

    def _refilter(self) -> None:
        """Apply changed filters: narrowing ones look only at the shown rows; recent results are reused."""
        if self._source is None:
            self._applied = self._filter_state()
            return
        flt = self._filter_state()
        if flt == self._applied:
            return
        if not self.is_filtering():
            visible = list(self._full_order())
        elif flt in self._filter_cache:
            visible = list(self._filter_cache[flt])
        elif narrows(self._applied, flt):
            visible = self._select(self._visible, flt, skip=self._applied)
        else:
            visible = self._select(self._full_order(), flt)
        self._applied = flt
        self._remember(flt, visible)
        self._set_visible(visible)

    def _remember(self, flt: Filter, visible: list[int]) -> None:
        remember(self._filter_cache, flt, visible)

    # -- content ----------------------------------------------------------------------------------------
    def connection(self, row: int) -> Connection | None:
        if self._source is None or not 0 <= row < len(self._visible):
            return None
        return self._source.rows()[self._visible[row]].connection()

    def source_rows(self) -> list[int]:
        """The source row of each proxy row, in view order (do not mutate)."""
        return self._visible

    def visible_connections(self) -> list[Connection]:
        """The rows of the current view, in view order."""
        if self._source is None:
            return []
        return models_of(self.visible_rows())

    def visible_rows(self) -> list[ConnectionRow]:
        """The compact rows of the current view, in view order."""
        if self._source is None:
            return []
        rows = self._source.rows()
        return [rows[r] for r in self._visible]

    def counts(self) -> tuple[int, int]:
        """(rows in view, of which with errors); cached until the view rows change."""
        if self._errored is None:
            self._errored = sum(map(self._err.__getitem__, self._visible))
        return len(self._visible), self._errored

    # -- internals: view rows ---------------------------------------------------------------------------
    def _positions(self) -> list[int]:
        """source row -> proxy row (-1: hidden)."""
        if self._pos is None:
            pos = [-1] * len(self._hay)
            deque(map(pos.__setitem__, self._visible, range(len(self._visible))), maxlen=0)
            self._pos = pos
        return self._pos

    def _column_keys(self, column: int) -> list[Any]:
        keys = self._keys.get(column)
        if keys is None and self._source is not None:
            keys = self._keys[column] = [r.sort_key(column) for r in self._source.rows()]
        return keys if keys is not None else []

    def _sort_rows(self, rows: list[int]) -> list[int]:
        """``rows`` (source rows) sorted by the current sort, stable: ties keep their order, so sorting by
        one column then another orders by the second then the first (as QSortFilterProxyModel does)."""
        column = self._sort_column
        keys = self._column_keys(column) if column >= 0 else None
        return sort_rows(rows, keys, descending=self._descending)

    def _full_order(self) -> list[int]:
        """Every source row in view order (applies the sorts made while filtering)."""
        if self._order_behind:
            order = self._order
            for column, descending in self._order_behind:
                order = sorted(order, key=self._column_keys(column).__getitem__, reverse=descending)
            self._order, self._order_behind = order, []
        return self._order

    def _begin_change(self) -> None:
        """layoutAboutToBeChanged, remembering the source row of every persistent index."""
        self.layoutAboutToBeChanged[_LAYOUT_SIGNATURE].emit([], _VERTICAL_SORT)
        old = self.persistentIndexList()
        visible = self._visible
        self._pending = (old, [visible[i.row()] for i in old])

    def _end_change(self, moved: Callable[[int], int] | None = None) -> None:
        """layoutChanged, persistent indexes moved to their source row's new place (invalid: hidden)."""
        self._pos = None
        self._errored = None
        pending, self._pending = self._pending, None
        if pending is not None and pending[0]:
            old, sources = pending
            if moved is not None:
                sources = [moved(s) for s in sources]
            where = self._find(sources)
            create, invalid = self.createIndex, QModelIndex()
            new = [
                create(where[s], i.column()) if where.get(s, -1) >= 0 else invalid
                for s, i in zip(sources, old, strict=True)
            ]
            self.changePersistentIndexList(old, new)
        self.layoutChanged[_LAYOUT_SIGNATURE].emit([], _VERTICAL_SORT)

    def _find(self, sources: list[int]) -> dict[int, int]:
        """{source row: proxy row} for a few source rows (a selection), without a full reverse map."""
        wanted = set(sources)
        wanted.discard(-1)
        visible = self._visible
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

    def _set_visible(self, visible: list[int]) -> None:
        self._begin_change()
        self._visible = visible
        self._end_change()

    def _rebuild(self) -> None:
        """Recompute everything from the source rows (reset, source layout change)."""
        rows = self._source.rows() if self._source is not None else []
        self._clear_rows()
        self._extend_columns(rows)
        self._order = self._sort_rows(list(range(len(rows))))
        flt = self._filter_state()
        self._visible = self._select(self._order, flt) if self.is_filtering() else list(self._order)
        self._applied = flt

    def _extend_columns(self, rows: list[ConnectionRow]) -> None:
        self._hay.extend([r.haystack for r in rows])
        self._integ.extend([r[F_INTEGRATION] for r in rows])
        self._status.extend([r.status for r in rows])
        self._tagmaps.extend([r[F_TAGS] for r in rows])
        self._err.extend([r.status != "ok" for r in rows])
        for column, keys in self._keys.items():
            keys.extend([r.sort_key(column) for r in rows])

    def _rows_changed(self) -> None:
        self._filter_cache.clear()
        self._pos = None
        self._errored = None

    # -- source signals ---------------------------------------------------------------------------------
    @Slot()
    def _on_about_to_be_reset(self) -> None:
        self._resort_timer.stop()
        self.beginResetModel()

    @Slot()
    def _on_reset(self) -> None:
        self._rebuild()
        self.endResetModel()

    def _on_rows_about_to_be_inserted(self, parent: QModelIndex, first: int, _last: int) -> None:
        if first < len(self._hay):  # not an append: the proxy rows move (rare: one row on top)
            self._full_order()
            self._begin_change()

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        assert self._source is not None
        count = last - first + 1
        new_rows = self._source.rows()[first : last + 1]
        if self._pending is not None:  # inserted before existing rows
            self._insert_columns(first, new_rows)

            def moved(r: int) -> int:
                return r + count if r >= first else r

            self._rows_changed()
            added = list(range(first, last + 1))
            if self._sort_column >= 0:  # the new rows after the rows they tie with
                self._order = self._sort_rows([moved(r) for r in self._order] + added)
            else:
                self._order = list(range(len(self._hay)))
            keep = {moved(r) for r in self._visible}
            keep.update(self._select(added, self._applied))
            self._visible = list(filter(keep.__contains__, self._order))
            self._end_change(moved)
            return
        self._append(new_rows, first)

    def _insert_columns(self, at: int, rows: list[ConnectionRow]) -> None:
        self._hay[at:at] = [r.haystack for r in rows]
        self._integ[at:at] = [r[F_INTEGRATION] for r in rows]
        self._status[at:at] = [r.status for r in rows]
        self._tagmaps[at:at] = [r[F_TAGS] for r in rows]
        self._err[at:at] = bytes(r.status != "ok" for r in rows)
        for column, keys in self._keys.items():
            keys[at:at] = [r.sort_key(column) for r in rows]

    def _append(self, rows: list[ConnectionRow], first: int) -> None:
        """A page appended to the source: filter it alone, insert it at the end of the view."""
        order = self._full_order()
        self._extend_columns(rows)
        self._rows_changed()
        new = list(range(first, first + len(rows)))
        if self._sort_column >= 0:
            keys = self._column_keys(self._sort_column)
            new = self._sort_rows(new)
            if order and not self._unsorted:
                last, head = keys[order[-1]], keys[new[0]]
                if (head > last) if self._descending else (head < last):
                    self._unsorted = True  # somewhere inside: re-sort in a moment (one layoutChanged)
            if self._unsorted and not self._resort_timer.isActive():
                self._resort_timer.start()
        order.extend(new)
        accepted = self._select(new, self._applied) if self.is_filtering() else new
        if accepted:
            at = len(self._visible)
            self.beginInsertRows(QModelIndex(), at, at + len(accepted) - 1)
            self._visible.extend(accepted)
            self.endInsertRows()

    @Slot()
    def _resort(self) -> None:
        if self._unsorted and self._source is not None:
            self._unsorted = False
            order = self._sort_rows(self._full_order())  # nearly sorted already: cheap
            visible = self._sort_rows(self._visible) if self.is_filtering() else list(order)
            self._filter_cache.clear()
            self._begin_change()
            self._order, self._visible = order, visible
            self._end_change()

    def _flush_resort(self, _complete: bool = True) -> None:
        self._resort_timer.stop()
        self._resort()

    def _on_rows_about_to_be_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        self._full_order()
        self._begin_change()

    def _on_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        count = last - first + 1
        for column in (self._hay, self._integ, self._status, self._tagmaps, self._err, *self._keys.values()):
            del column[first : last + 1]

        def moved(r: int) -> int:
            return r if r < first else (-1 if r <= last else r - count)

        self._order = [r if r < first else r - count for r in self._order if not first <= r <= last]
        self._visible = [r if r < first else r - count for r in self._visible if not first <= r <= last]
        self._rows_changed()
        self._end_change(moved)

    @Slot()
    def _on_layout_about_to_be_changed(self) -> None:
        # the source reorders its rows (ConnectionsModel.sort): follow the _Row objects
        self._resort_timer.stop()
        self._begin_change()
        assert self._pending is not None and self._source is not None
        rows = self._source.rows()
        old, sources = self._pending
        self._pending = (old, [rows[s] for s in sources])

    @Slot()
    def _on_layout_changed(self) -> None:
        assert self._source is not None
        pending = self._pending
        self._rebuild()
        if pending is not None and pending[0]:
            rows = self._source.rows()
            where = {id(r): n for n, r in enumerate(rows)} if len(pending[1]) > 8 else None
            sources = [
                where.get(id(r), -1)
                if where is not None
                else next((n for n, x in enumerate(rows) if x is r), -1)
                for r in pending[1]
            ]
            self._pending = (pending[0], sources)
        self._end_change()

    def _on_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, _roles: Any = None) -> None:
        """Rows replaced in place (ConnectionsModel.update_connection): follow the filter and the sort."""
        assert self._source is not None
        first, last = top_left.row(), bottom_right.row()
        rows = self._source.rows()
        changed = list(range(first, last + 1))
        self._full_order()
        old_keys = None
        if self._sort_column >= 0:
            keys = self._column_keys(self._sort_column)
            old_keys = [keys[r] for r in changed]
        for r in changed:
            row = rows[r]
            self._hay[r], self._integ[r], self._status[r] = row.haystack, row[F_INTEGRATION], row.status
            self._tagmaps[r], self._err[r] = row[F_TAGS], row.status != "ok"
            for column, keys in self._keys.items():
                keys[r] = row.sort_key(column)
        self._rows_changed()
        positions = self._positions()
        accepted = set(self._select(changed, self._applied)) if self.is_filtering() else set(changed)
        moved = old_keys is not None and old_keys != [
            self._column_keys(self._sort_column)[r] for r in changed
        ]
        if not moved and all((positions[r] >= 0) == (r in accepted) for r in changed):
            for r in changed:
                if positions[r] >= 0:
                    self.dataChanged.emit(
                        self.index(positions[r], 0), self.index(positions[r], len(COLUMNS) - 1)
                    )
            return
        self._begin_change()
        if moved:
            self._order = self._sort_rows(self._order)
        keep = (set(self._visible) - set(changed)) | accepted
        self._visible = list(filter(keep.__contains__, self._order))
        self._end_change()

    @Slot()
    def _on_source_destroyed(self) -> None:
        self._connections = []
        self._source = None
        self.beginResetModel()
        self._clear_rows()
        self.endResetModel()
