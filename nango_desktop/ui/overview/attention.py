"""The Overview's "needs attention" list: end users with broken connections (model, search filter, and the
row's Reconnect button drawn by a delegate)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionViewItem,
)

from nango_desktop.domain.overview import (
    AttentionItem,
)
from nango_desktop.ui import icons
from nango_desktop.ui.overview.charts import (
    is_dark_palette,
    series_color,
)

if TYPE_CHECKING:
    pass


class AttentionModel(QAbstractTableModel):
    """End users with broken connections, most broken first (rows come sorted from the domain)."""

    COLUMNS = ("End user", "Organization", "Broken", "Sync errors", "Integrations", "")
    USER, ORG, BROKEN, SYNC, INTEGRATIONS, ACTION = range(6)
    ItemRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[AttentionItem] = []

    def set_items(self, items: Sequence[AttentionItem]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        column = index.column()
        if role == self.ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.USER:
                return item.label
            if column == self.ORG:
                return item.organization or ""
            if column == self.BROKEN:
                return f"{len(item.broken)} of {item.total}"
            if column == self.SYNC:
                return item.sync_errors or ""
            if column == self.INTEGRATIONS:
                return ", ".join(item.integrations)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            who = " · ".join(p for p in (item.display_name, item.email, item.end_user_id) if p)
            ids = "\n".join(f"{c.provider_config_key}: {c.connection_id}" for c in item.broken[:20])
            more = f"\n… and {len(item.broken) - 20} more" if len(item.broken) > 20 else ""
            sync = f"\n{item.sync_errors} other connection(s) with a sync error" if item.sync_errors else ""
            return f"{who}\nBroken (auth errors), {len(item.broken)} of {item.total}:\n{ids}{more}{sync}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.BROKEN, self.SYNC):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.BROKEN:
            return series_color("auth_error", is_dark_palette(QGuiApplication.palette()))
        return None

    def item(self, row: int) -> AttentionItem:
        return self.items[row]


class AttentionFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._text = ""

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if not self._text:
            return True
        item: AttentionItem = self.sourceModel().items[source_row]  # type: ignore[attr-defined]
        hay = " ".join(
            p or ""
            for p in (item.display_name, item.email, item.end_user_id, item.organization, *item.integrations)
        )
        return self._text in hay.casefold()


class ReconnectDelegate(QStyledItemDelegate):
    """Paints a "Reconnect" push button in each row (no widget per row: thousands of rows stay cheap);
    a click on it emits ``clicked(index)``."""

    clicked = Signal(QModelIndex)
    TEXT = "Reconnect"

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._icon = icons.icon("link")  # one QIcon: its pixmap is rendered once, not on every paint

    def _button(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QStyleOptionButton:
        button = QStyleOptionButton()
        button.rect = option.rect.adjusted(4, 3, -4, -3)
        button.text = self.TEXT
        button.icon = self._icon
        button.iconSize = QSize(14, 14)
        button.state = QStyle.StateFlag.State_Enabled
        if option.state & QStyle.StateFlag.State_MouseOver:
            button.state |= QStyle.StateFlag.State_MouseOver
        button.palette = option.palette
        button.fontMetrics = option.fontMetrics
        return button

    def paint(
        self, painter: Any, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_PushButton, self._button(option, index), painter, widget)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return QSize(option.fontMetrics.horizontalAdvance(self.TEXT) + 44, option.fontMetrics.height() + 10)

    def editorEvent(
        self, event: Any, model: Any, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> bool:  # noqa: N802
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and event.button() == Qt.MouseButton.LeftButton
            and option.rect.contains(event.position().toPoint())
        ):
            self.clicked.emit(QModelIndex(index))  # type: ignore[arg-type]  # a persistent index converts
            return True
        return event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick)
