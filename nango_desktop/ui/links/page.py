"""LinksPage: the history of issued links (who, what, when, status), with filters and the live ones reopenable."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.links import LinkRecord, LinkStatus
from nango_desktop.session.link_tracker import LinkTracker, tracker_for
from nango_desktop.ui import icons
from nango_desktop.ui.columns import ColumnLayout
from nango_desktop.ui.links.result import STATUS_TEXT, LinkResultDialog, format_remaining
from nango_desktop.ui.widgets import ErrorBanner, SearchLineEdit, tab_chain

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

COLUMNS = ("Created", "By", "Kind", "Customer", "Email", "Integration", "Connection", "Status", "Expires")
EXPIRES_COLUMN = COLUMNS.index("Expires")
RecordRole = Qt.ItemDataRole.UserRole + 1


class LinksModel(QAbstractTableModel):
    def __init__(self, tracker: LinkTracker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tracker = tracker
        self.records: list[LinkRecord] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def _expires(self, record: LinkRecord) -> str:
        if record.status is LinkStatus.PENDING:
            remaining = record.remaining(self.tracker.clock())
            return f"in {format_remaining(remaining)}" if remaining > 0 else "expired"
        return datetime.fromtimestamp(record.expires_at).strftime("%H:%M")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self.records[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == EXPIRES_COLUMN:
                return self._expires(record)
            return (
                datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M"),
                record.created_by,
                "Reconnect" if record.kind == "reconnect" else "New",
                record.display_name or record.end_user_id or "",
                record.email or "",
                record.integration_label,
                record.connection_id or "",
                STATUS_TEXT[record.status][0]
                if record.status is LinkStatus.PENDING
                else record.status.value.title(),
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == COLUMNS.index("Status"):
            return QColor(STATUS_TEXT[record.status][1])
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COLUMNS.index("Status") and record.status_detail:
                return record.status_detail
            value = self.data(index, Qt.ItemDataRole.DisplayRole)  # an elided cell's whole value
            return (value or record.status_detail) or None
        if role == RecordRole:
            return record
        return None

    def set_records(self, records: list[LinkRecord]) -> None:
        self.beginResetModel()
        self.records = records
        self.endResetModel()

    def update_record(self, record: LinkRecord) -> bool:
        for row, existing in enumerate(self.records):
            if existing.id == record.id:
                self.records[row] = record
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return True
        return False

    def tick(self) -> None:
        if self.records:
            self.dataChanged.emit(
                self.index(0, EXPIRES_COLUMN), self.index(len(self.records) - 1, EXPIRES_COLUMN)
            )


class LinksPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("linksPage")
        self.ctx = ctx
        self.tracker = tracker_for(ctx)
        self._generation = 0

        self.banner = ErrorBanner(self)
        self.search = SearchLineEdit(
            self, placeholder="Filter by end user, email, organization, integration, connection, author…"
        )
        self.search.setObjectName("linksSearch")
        self.search.searchChanged.connect(self.refresh)
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("linksStatusFilter")
        self.status_filter.addItem("All statuses", None)
        for status in LinkStatus:
            self.status_filter.addItem(status.value.title(), status.value)
        self.status_filter.currentIndexChanged.connect(self.refresh)
        new_button = QPushButton(icons.icon("add"), "New link…")
        new_button.setObjectName("linksNewButton")
        new_button.clicked.connect(self.new_link)
        self.open_button = QPushButton(icons.icon("qr"), "Open")
        self.open_button.setObjectName("linksOpenButton")
        self.open_button.clicked.connect(self.open_selected)
        self.revoke_button = QPushButton(icons.icon("delete"), "Revoke")
        self.revoke_button.setObjectName("linksRevokeButton")
        self.revoke_button.clicked.connect(self.revoke_selected)

        self.model = LinksModel(self.tracker, self)
        self.table = QTableView()
        self.table.setObjectName("linksTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long connection ids keep both ends
        # columns fitted to their content once links are listed; Connection (long ids) takes what is left and
        # gives it back first; right-click the header to choose the columns (remembered)
        self.columns = ColumnLayout(
            self.table,
            "links",
            stretch=COLUMNS.index("Connection"),
            required=(COLUMNS.index("Customer"), COLUMNS.index("Status")),
        )
        self.table.doubleClicked.connect(self.open_selected)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.count_label = QLabel()
        self.count_label.setObjectName("linksCount")

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.status_filter)
        top.addWidget(self.open_button)
        top.addWidget(self.revoke_button)
        top.addWidget(new_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)
        self.search.set_results(self.table)
        tab_chain(
            self.search, self.status_filter, self.open_button, self.revoke_button, new_button, self.table
        )

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(150)
        self._refresh_timer.timeout.connect(self.refresh)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.model.tick)
        self._tick.start()
        self.tracker.linkChanged.connect(self._on_link_changed)
        if hasattr(ctx, "profileChanged"):
            ctx.profileChanged.connect(self.refresh)
        self._update_buttons()
        self.refresh()

    # -- page API -------------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        """Reload the history for the current profile and filters (off the GUI thread)."""
        self._generation += 1
        generation = self._generation
        profile = self.tracker.profile_name
        if profile is None:
            self._on_loaded(generation, [])
            return
        status, text = self.status_filter.currentData(), self.search.text().strip()
        store = self.tracker.store
        self.ctx.run(
            lambda: (generation, store.list(profile, status=status, text=text or None)),
            on_done=lambda result: self._on_loaded(*result),
            on_error=self.banner.show_exception,
        )

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- internals ------------------------------------------------------------------------------------
    def _on_loaded(self, generation: int, records: list[LinkRecord]) -> None:
        if generation != self._generation:
            return  # a newer refresh is on its way
        selected = self.selected()
        self.model.set_records(records)
        if records:
            self.columns.fit()  # once, with real rows (the user's widths are kept afterwards)
        if selected is not None:
            self.select(selected.id)
        self._update_count()
        self._update_buttons()

    def _update_count(self) -> None:
        """The footer, from the rows on screen: follows every change (a revoked link is no longer waiting)."""
        records = self.model.records
        pending = sum(1 for r in records if r.status is LinkStatus.PENDING)
        noun = "link" if len(records) == 1 else "links"
        self.count_label.setText(f"{len(records)} {noun}, {pending} waiting for the customer")

    @Slot(object)
    def _on_link_changed(self, record: LinkRecord) -> None:
        if not self.model.update_record(record) or self.status_filter.currentData():
            self._refresh_timer.start()  # a new link, or one that may now leave/enter the filter
        self._update_count()
        self._update_buttons()

    def selected(self) -> LinkRecord | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.data(rows[0], RecordRole) if rows else None

    def select(self, record_id: int) -> bool:
        for row, record in enumerate(self.model.records):
            if record.id == record_id:
                self.table.selectRow(row)
                return True
        return False

    @Slot()
    def _update_buttons(self) -> None:
        record = self.selected()
        self.open_button.setEnabled(record is not None)
        self.revoke_button.setEnabled(record is not None and record.is_alive(self.tracker.clock()))

    @Slot()
    def open_selected(self) -> LinkResultDialog | None:
        record = self.selected()
        if record is None:
            return None
        dialog = LinkResultDialog(self.tracker, record, None, self)
        dialog.show()
        return dialog

    @Slot()
    def revoke_selected(self) -> None:
        record = self.selected()
        if record is not None and record.is_alive(self.tracker.clock()):
            try:
                self.tracker.revoke(record)
            except Exception as exc:  # noqa: BLE001 - no API key etc.
                self.banner.show_exception(exc)

    @Slot()
    def new_link(self) -> None:
        from nango_desktop.ui.links.actions import new_link

        new_link(self.ctx, self)
