"""ConnectionsFilterProxy: the Connections table's local filter and sort, a thin Qt adapter on the Qt-free
``domain.filter_engine.FilterEngine`` (which rows the view shows, in which order: tested without Qt).

This class turns the source model's signals into engine calls and the engine's results into Qt's signals: every
change of the view rows is one ``layoutChanged`` (hint ``VerticalSortHint``: the columns stay) with the persistent
indexes (selection, current row) moved to their rows, or invalid when their row is filtered out. Pages appended
while loading are filtered alone and inserted with one ``beginInsertRows`` at the end; when a sort is active and
a page does not fall after the last row, the rows are re-sorted a moment later (``RESORT_DELAY_MS``, and at once
when the load finishes).

Filters: ``set_text`` (every whitespace-separated term must occur in the row's haystack: customer, email,
organization, integration, ids, ``tag=value`` pairs), ``set_integrations``, ``set_statuses`` (subset of
"auth_error", "sync_error", "ok"), ``set_tag_filters`` ({key: value}; value "" = has key). Column -1 in ``sort``
shows the source order (the API's: newest first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractProxyModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Slot,
)

from nango_desktop.domain.connection_filter import Filter, accepts
from nango_desktop.domain.connection_rows import ConnectionRow, models_of
from nango_desktop.domain.filter_engine import FilterEngine, Moved
from nango_desktop.domain.models import Connection
from nango_desktop.ui.connections.model import (
    COLUMNS,
    RESORT_DELAY_MS,
    ROW_FLAGS,
    ConnectionsModel,
    cell_data,
)

_VERTICAL_SORT = QAbstractItemModel.LayoutChangeHint.VerticalSortHint
# the (parents, hint) overload: PySide's plain emit() picks the one without arguments. The hint tells
# views that columns stay put: the header keeps its sections, the selection model saves one index per row.
_LAYOUT_SIGNATURE = ("QList<QPersistentModelIndex>", "QAbstractItemModel::LayoutChangeHint")


class ConnectionsFilterProxy(QAbstractProxyModel):
    """Local filtering and sorting over a ConnectionsModel, fast at 10^5 rows (see the module docstring)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source: ConnectionsModel | None = None
        self._engine = FilterEngine(self._source_rows, len(COLUMNS))
        self._connections: list[tuple[Any, Any]] = []
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._resort_timer = QTimer(self)
        self._resort_timer.setSingleShot(True)
        self._resort_timer.setInterval(RESORT_DELAY_MS)
        self._resort_timer.timeout.connect(self._resort)
        self._pending: tuple[list[QModelIndex], list[Any]] | None = None  # persistent indexes across a change

    def _source_rows(self) -> list[ConnectionRow]:
        return self._source.rows() if self._source is not None else []

    @property
    def _visible(self) -> list[int]:
        return self._engine.visible

    @property
    def _filter_cache(self) -> dict[Filter, list[int]]:  # benchmarks empty it to time uncached filters
        return self._engine._cache

    # -- source -----------------------------------------------------------------------------------------
    def setSourceModel(self, model: QAbstractItemModel | None) -> None:  # noqa: N802 - Qt override
        if model is not None and not isinstance(model, ConnectionsModel):
            raise TypeError("ConnectionsFilterProxy needs a ConnectionsModel")
        self.beginResetModel()
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections = []
        self._source = model
        super().setSourceModel(model)  # type: ignore[arg-type]  # None detaches
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
        self._engine.rebuild()
        self.endResetModel()

    # -- Qt model API -----------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._engine.visible)

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
        return ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

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
        positions = self._engine.positions()
        if row >= len(positions) or positions[row] < 0:
            return QModelIndex()
        return self.createIndex(positions[row], source_index.column())

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the view by the precomputed keys of ``column`` (-1: the source order, newest first)."""
        self._sort_order = order
        self._resort_timer.stop()
        visible = self._engine.sort(column, order == Qt.SortOrder.DescendingOrder)
        if self._source is not None:
            self._set_visible(visible)

    @property
    def sort_column(self) -> int:
        return self._engine.sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

    # -- filters ----------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return " ".join(self._engine.terms)

    @property
    def integrations(self) -> frozenset[str] | None:
        return self._engine.integrations

    @property
    def statuses(self) -> frozenset[str] | None:
        return self._engine.statuses

    @property
    def tag_filters(self) -> dict[str, str]:
        return dict(self._engine.tags)

    def set_text(self, text: str) -> None:
        if self._engine.set_text(text):
            self._refilter()

    def set_integrations(self, integrations: Iterable[str] | None) -> None:
        if self._engine.set_integrations(integrations):
            self._refilter()

    def set_statuses(self, statuses: Iterable[str] | None) -> None:
        if self._engine.set_statuses(statuses):
            self._refilter()

    def set_tag_filters(self, tags: Mapping[str, str]) -> None:
        if self._engine.set_tag_filters(tags):
            self._refilter()

    def is_filtering(self) -> bool:
        return self._engine.is_filtering()

    def accepts(self, row: ConnectionRow) -> bool:
        """Whether the current filters accept ``row``."""
        return accepts(self._engine.filter_state(), row.haystack, row.key[1], row.status, row.tag_map)

    def _refilter(self) -> None:
        if self._source is None:
            self._engine.applied = self._engine.filter_state()
            return
        visible = self._engine.refilter()
        if visible is not None:
            self._set_visible(visible)

    # -- content ----------------------------------------------------------------------------------------
    def connection(self, row: int) -> Connection | None:
        if self._source is None or not 0 <= row < len(self._visible):
            return None
        return self._source.rows()[self._visible[row]].connection()

    def source_rows(self) -> list[int]:
        """The source row of each proxy row, in view order (do not mutate)."""
        return self._visible

    def visible_connections(self) -> list[Connection]:
        """The full models of the rows of the current view, in view order."""
        return models_of(self.visible_rows())

    def visible_rows(self) -> list[ConnectionRow]:
        """The compact rows of the current view, in view order."""
        rows = self._source_rows()
        return [rows[r] for r in self._visible]

    def counts(self) -> tuple[int, int]:
        """(rows in view, of which with errors); cached until the view rows change."""
        return self._engine.counts()

    # -- layout changes with persistent indexes ---------------------------------------------------------
    def _begin_change(self) -> None:
        """layoutAboutToBeChanged, remembering the source row of every persistent index."""
        self.layoutAboutToBeChanged[_LAYOUT_SIGNATURE].emit([], _VERTICAL_SORT)  # type: ignore[index]
        old = self.persistentIndexList()
        visible = self._visible
        self._pending = (old, [visible[i.row()] for i in old])

    def _end_change(self, moved: Moved | None = None) -> None:
        """layoutChanged, persistent indexes moved to their source row's new place (invalid: hidden)."""
        self._engine.set_visible(self._engine.visible)  # positions and counts recomputed on demand
        pending, self._pending = self._pending, None
        if pending is not None and pending[0]:
            old, sources = pending
            if moved is not None:
                sources = [moved(s) for s in sources]
            where = self._engine.find(sources)
            create, invalid = self.createIndex, QModelIndex()
            new = [
                create(where[s], i.column()) if where.get(s, -1) >= 0 else invalid
                for s, i in zip(sources, old, strict=True)
            ]
            self.changePersistentIndexList(old, new)
        self.layoutChanged[_LAYOUT_SIGNATURE].emit([], _VERTICAL_SORT)  # type: ignore[index]

    def _set_visible(self, visible: list[int], order: list[int] | None = None) -> None:
        self._begin_change()
        self._engine.set_visible(visible, order)
        self._end_change()

    # -- source signals ---------------------------------------------------------------------------------
    @Slot()
    def _on_about_to_be_reset(self) -> None:
        self._resort_timer.stop()
        self.beginResetModel()

    @Slot()
    def _on_reset(self) -> None:
        self._engine.rebuild()
        self.endResetModel()

    def _on_rows_about_to_be_inserted(self, parent: QModelIndex, first: int, _last: int) -> None:
        if first < len(self._engine):  # not an append: the proxy rows move (rare: one row on top)
            self._engine.full_order()
            self._begin_change()

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._pending is not None:  # inserted before existing rows
            self._end_change(self._engine.insert(first, last))
            return
        at = len(self._visible)
        accepted = self._engine.append(first, last)
        if self._engine.sort_column >= 0 and self._engine.unsorted and not self._resort_timer.isActive():
            self._resort_timer.start()
        if accepted:
            self.beginInsertRows(QModelIndex(), at, at + len(accepted) - 1)
            self._engine.visible.extend(accepted)
            self.endInsertRows()

    @Slot()
    def _resort(self) -> None:
        if self._source is not None:
            result = self._engine.resort()
            if result is not None:
                order, visible = result
                self._set_visible(visible, order)

    def _flush_resort(self, _complete: bool = True) -> None:
        self._resort_timer.stop()
        self._resort()

    def _on_rows_about_to_be_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        self._engine.full_order()
        self._begin_change()

    def _on_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        self._end_change(self._engine.remove(first, last))

    @Slot()
    def _on_layout_about_to_be_changed(self) -> None:
        # the source reorders its rows (ConnectionsModel.sort): follow the row objects
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
        self._engine.rebuild()
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
        repaint, moved = self._engine.update(top_left.row(), bottom_right.row())
        for row in repaint:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        if moved is not None:
            order, visible = moved
            self._set_visible(visible, order)

    @Slot()
    def _on_source_destroyed(self) -> None:
        self._connections = []
        self._source = None
        self.beginResetModel()
        # a new engine (this wrapper may be a fresh one of the C++ proxy, without the Python state)
        self._engine = FilterEngine(self._source_rows, len(COLUMNS))
        self.endResetModel()
