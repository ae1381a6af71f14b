"""The Records tab's table: records as rows, columns from their keys then the ``_nango_metadata`` columns
(``RecordsModel``), sorted by typed keys, and a local text filter over a search text built on a worker
(``RecordsFilter``)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from nango_desktop.domain.records import cell_value, compact, record_keys, table_columns
from nango_desktop.domain.workbench import METADATA_KEY
from nango_desktop.ui import icons

CELL_CHARS = 120
DELETED_COLOR = QColor(icons.STATUS_COLORS["error"])
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (2, "")
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value.casefold())
    return (1, compact(value).casefold())


def model_key(model: str, variant: str | None) -> str:
    """The combo's item data for a model (Qt turns tuples into lists: a plain string is kept as is)."""
    return f"{model}::{variant or ''}"


class RecordsModel(QAbstractTableModel):
    """Records (dicts) as rows; columns = data keys (grown as new keys appear) + metadata columns."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.columns: list[tuple[str, str]] = table_columns([])
        self._text: dict[int, str] = {}  # id(record) -> lowercase search text (lazy)

    def clear(self) -> None:
        self.beginResetModel()
        self.rows, self.keys, self.columns, self._text = [], [], table_columns([]), {}
        self.endResetModel()

    def append(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        keys = record_keys(records, self.keys)
        if len(keys) > len(self.keys):
            first = len(self.keys)
            self.beginInsertColumns(QModelIndex(), first, len(keys) - 1)
            self.keys = keys
            self.columns = table_columns(keys)
            self.endInsertColumns()
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(records) - 1)
        self.rows.extend(records)
        self.endInsertRows()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        record = self.rows[index.row()]
        column = self.columns[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return compact(cell_value(record, column), CELL_CHARS)
        if role == Qt.ItemDataRole.ToolTipRole:
            value = cell_value(record, column)
            return (
                compact(value, 1000) if isinstance(value, dict | list) or len(compact(value)) > 40 else None
            )
        if role == SORT_ROLE:
            return cell_value(record, column)
        if role == Qt.ItemDataRole.ForegroundRole and _metadata(record, "last_action") == "DELETED":
            return DELETED_COLOR
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section][1]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section][0]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        name = self.columns[column][0]
        self.layoutAboutToBeChanged.emit()
        self.rows.sort(
            key=lambda r: _sort_key(cell_value(r, name)), reverse=order == Qt.SortOrder.DescendingOrder
        )
        self.layoutChanged.emit()

    def search_text(self, row: int) -> str:
        record = self.rows[row]
        key = id(record)
        text = self._text.get(key)
        if text is None:
            text = json.dumps(record, ensure_ascii=False, default=str).casefold()
            self._text[key] = text
        return text


def _metadata(record: dict[str, Any], field: str) -> Any:
    meta = record.get(METADATA_KEY)
    return meta.get(field) if isinstance(meta, dict) else None


class RecordsFilter(QSortFilterProxyModel):
    """Local filter: every word must appear in the record's JSON (keys and values), case-insensitive."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.words: list[str] = []

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self.words = [w.casefold() for w in text.split()]
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if not self.words:
            return True
        model = self.sourceModel()
        text = model.search_text(row)  # type: ignore[attr-defined]
        return all(w in text for w in self.words)
