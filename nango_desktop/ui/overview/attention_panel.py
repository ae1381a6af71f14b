"""The Overview's "Needs attention" panel: end users with broken connections, a filter, and one-click
reconnect links (per row, or for the selected user). It shows what the page's aggregation found
(``set_items``); it reads nothing itself.

objectNames: overviewSearch, overviewAttention, overviewReconnect, overviewAttentionCount.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.overview import AttentionItem
from nango_desktop.ui import icons
from nango_desktop.ui.overview.attention import AttentionFilter, AttentionModel, ReconnectDelegate
from nango_desktop.ui.overview.charts import ElidedLabel
from nango_desktop.ui.views import PriorityTableView
from nango_desktop.ui.widgets import SearchLineEdit

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext


class AttentionPanel(QWidget):
    """See the module docstring."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.title = QLabel("Needs attention", self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.count = ElidedLabel("", self)  # long summaries elide (whole in the tooltip)
        self.count.setObjectName("overviewAttentionCount")
        self.count.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.search = SearchLineEdit(self, placeholder="Filter end users…")
        self.search.setObjectName("overviewSearch")
        self.model = AttentionModel(self)
        self.proxy = AttentionFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search.textChanged.connect(self.proxy.set_text)
        self.table = self._build_table()
        self.reconnect_button = QPushButton(icons.icon("link"), "Reconnect links", self)
        self.reconnect_button.setObjectName("overviewReconnect")
        self.reconnect_button.setToolTip("Create reconnect links for every broken connection of the selected user")
        self.reconnect_button.clicked.connect(self.reconnect_selected)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.count, 1)
        layout.addLayout(head)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.reconnect_button)
        self.search.set_results(self.table)  # Down from the filter into the list

    def _build_table(self) -> QTableView:
        table = PriorityTableView(self)  # repaints before the loading worker
        table.setObjectName("overviewAttention")
        table.setModel(self.proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 12)
        header = table.horizontalHeader()
        header.setSectionResizeMode(AttentionModel.USER, QHeaderView.ResizeMode.Stretch)
        for column, width in ((AttentionModel.ORG, 96), (AttentionModel.BROKEN, 52),
                              (AttentionModel.ACTION, 104)):  # fmt: skip
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setSectionResizeMode(AttentionModel.ACTION, QHeaderView.ResizeMode.Fixed)
        for column in (AttentionModel.SYNC, AttentionModel.INTEGRATIONS):  # in the row tooltip
            table.setColumnHidden(column, True)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.doubleClicked.connect(self._open_user)
        table.setToolTip("Double-click to open the end user")
        self.reconnect_delegate = ReconnectDelegate(table)
        self.reconnect_delegate.clicked.connect(self._on_row_reconnect)
        table.setItemDelegateForColumn(AttentionModel.ACTION, self.reconnect_delegate)
        table.setMouseTracking(True)
        return table

    # -- content ------------------------------------------------------------------------------------------
    def set_items(self, items: Sequence[AttentionItem], summary: str = "") -> None:
        self.model.set_items(list(items))
        self.count.setText(summary)

    def selected_item(self) -> AttentionItem | None:
        index = self.table.currentIndex()
        return index.data(AttentionModel.ItemRole) if index.isValid() else None

    # -- actions ------------------------------------------------------------------------------------------
    @Slot()
    def reconnect_selected(self) -> None:
        item = self.selected_item()
        if item is None and self.proxy.rowCount() == 1:
            item = self.proxy.index(0, 0).data(AttentionModel.ItemRole)
        if item is not None:
            self.reconnect(item)

    def reconnect(self, item: AttentionItem) -> None:
        """One click: reconnect links for every broken connection of this end user."""
        self.ctx.request_reconnect_links(list(item.broken))

    @Slot(QModelIndex)
    def _on_row_reconnect(self, index: QModelIndex) -> None:
        item = index.data(AttentionModel.ItemRole)
        if item is not None:
            self.reconnect(item)

    @Slot(QModelIndex)
    def _open_user(self, index: QModelIndex) -> None:
        item = index.data(AttentionModel.ItemRole)
        if item is None:
            return
        if item.is_no_end_user:  # nobody to open: the broken connections themselves
            self.ctx.navigate("connections", filter={"clear": True, "status": "auth_error"})
        elif item.end_user_id:
            self.ctx.navigate("endusers", end_user_id=item.end_user_id)
        else:
            self.ctx.navigate("endusers", search=item.email or item.label)
