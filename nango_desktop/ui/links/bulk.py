"""BulkReconnectDialog: reconnect links for many connections at once.

One worker generates the links one after the other through the shared client (its RateLimiter paces
requests to Nango's budget and retries 429s; a 429 that outlasts the retries is waited out and the same
connection retried, so none is lost). Progress and each finished row arrive on the GUI thread; Cancel
stops after the current request and "Generate" again continues with the rows still missing. The links
can be exported as CSV (end user, email, integration, connection id, link, expires_at) or copied.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.services.errors import CancelledError
from nango_desktop.services.links import BulkItem, bulk_items, write_csv
from nango_desktop.session import links as link_ops
from nango_desktop.session.link_tracker import LinkTracker
from nango_desktop.ui import icons
from nango_desktop.ui.widgets import ErrorBanner

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

COLUMNS = ("Customer", "Email", "Integration", "Connection", "State", "Expires", "Link")


class BulkModel(QAbstractTableModel):
    def __init__(self, items: list[BulkItem], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.items = items

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            expires = datetime.fromtimestamp(item.expires_at).strftime("%H:%M:%S") if item.expires_at else ""
            state = item.error or item.state
            customer = item.customer or item.end_user_id
            return (customer, item.email, item.integration_id, item.connection_id, state, expires,
                    item.link)[index.column()] or ""  # fmt: skip
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0 and item.end_user_id:
            return f"End user id: {item.end_user_id}"
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 4 and item.error:
            return item.error
        return None

    def update_item(self, row: int, item: BulkItem) -> None:
        self.items[row] = item
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def generated(self) -> list[BulkItem]:
        return [i for i in self.items if i.link]


class _ItemBridge(QObject):
    """Carries finished rows from the worker to the GUI thread (queued signal)."""

    item = Signal(int, object)


class BulkReconnectDialog(QDialog):
    finishedGenerating = Signal(int, int)  # (generated, total)

    def __init__(
        self, ctx: AppContext, tracker: LinkTracker, connections: Sequence[Any], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("bulkReconnectDialog")
        self.setWindowTitle(f"Reconnect links for {len(connections)} connections")
        self.ctx, self.tracker = ctx, tracker
        self.all_connections = list(connections)
        self.connections = list(connections)
        self._cancel: threading.Event | None = None

        self.banner = ErrorBanner(self)
        intro = QLabel(
            "Each link lets the customer re-authorize one connection; it expires 30 minutes after it is "
            "generated. The connection's current tags are sent along, so completing a link keeps them."
        )
        intro.setWordWrap(True)
        self.only_broken = QCheckBox("Only connections with an auth error")
        self.only_broken.setObjectName("bulkOnlyBroken")
        self._any_broken = any(getattr(c, "has_auth_error", False) for c in connections)
        self.only_broken.toggled.connect(self._filter)
        self.model = BulkModel(bulk_items(self.connections), self)
        self.table = QTableView()
        self.table.setObjectName("bulkTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive
        )  # ResizeToContents is O(rows) per update
        header.setStretchLastSection(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("bulkProgress")
        self.progress.setRange(0, len(self.connections))
        self.progress.setValue(0)
        self.status = QLabel("Ready.")
        self.status.setObjectName("bulkStatus")

        self.generate_button = QPushButton(icons.icon("link"), "Generate links")
        self.generate_button.setObjectName("bulkGenerate")
        self.generate_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(icons.icon("stop"), "Cancel")
        self.cancel_button.setObjectName("bulkCancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton(icons.icon("export"), "Export CSV…")
        self.export_button.setObjectName("bulkExport")
        self.export_button.clicked.connect(self.ask_export)
        self.copy_button = QPushButton(icons.icon("copy"), "Copy all")
        self.copy_button.setObjectName("bulkCopyAll")
        self.copy_button.clicked.connect(self.copy_all)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)

        self._bridge = _ItemBridge(self)
        self._bridge.item.connect(self._on_item)

        buttons = QHBoxLayout()
        for button in (self.generate_button, self.cancel_button, self.export_button, self.copy_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(intro)
        layout.addWidget(self.only_broken)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(1100, 640)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    # -- state ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._cancel is not None

    def _update_buttons(self) -> None:
        has_links = bool(self.model.generated())
        missing = any(not i.link for i in self.model.items)
        self.generate_button.setEnabled(not self.running and missing)
        self.cancel_button.setEnabled(self.running)
        self.only_broken.setEnabled(self._any_broken and not self.running and not has_links)
        self.export_button.setEnabled(has_links and not self.running)
        self.copy_button.setEnabled(has_links)

    @Slot(bool)
    def _filter(self, only_broken: bool) -> None:
        self.connections = [
            c for c in self.all_connections if not only_broken or getattr(c, "has_auth_error", False)
        ]
        self.model.beginResetModel()
        self.model.items = bulk_items(self.connections)
        self.model.endResetModel()
        self.progress.setRange(0, len(self.connections))
        self.setWindowTitle(f"Reconnect links for {len(self.connections)} connections")
        self._update_buttons()

    # -- generation -----------------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        if self.running:
            return
        self._cancel = threading.Event()
        items = [replace(i) for i in self.model.items]
        op = link_ops.bulk_reconnect(
            self.ctx.session, self.tracker, self.connections, items, on_item=self._bridge.item.emit, parent=self
        )
        self.status.setText("Generating…")
        self._update_buttons()
        op.success(self._on_done).failure(self._on_error).progress(self._on_progress).run(cancel=self._cancel)

    @Slot()
    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.status.setText("Cancelling after the current request…")

    @Slot(int, object)
    def _on_item(self, row: int, item: BulkItem) -> None:
        if item.record is not None:
            self.tracker.add(item.record)
        if row < len(self.model.items) and self.model.items[row].connection_id == item.connection_id:
            self.model.update_item(row, item)

    def _on_progress(self, done: int, total: int | None, message: str) -> None:
        self.progress.setValue(done)
        self.status.setText(message)

    def _finish(self, message: str) -> None:
        self._cancel = None
        self.table.resizeColumnsToContents()
        generated = len(self.model.generated())
        self.progress.setValue(generated)
        failed = sum(1 for i in self.model.items if i.error)
        self.status.setText(message + (f" {failed} failed (see the State column)." if failed else ""))
        self._update_buttons()
        self.finishedGenerating.emit(generated, len(self.model.items))

    def _on_done(self, _items: list[BulkItem]) -> None:
        self._finish(f"{len(self.model.generated())} of {len(self.model.items)} links generated.")

    def _on_error(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            done = len(self.model.generated())
            self._finish(f"Cancelled: {done} of {len(self.model.items)} links generated; Generate continues.")
        else:
            self.banner.show_exception(exc)
            self._finish("Stopped by an error.")

    # -- export ---------------------------------------------------------------------------------------
    @Slot()
    def ask_export(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export links", "reconnect-links.csv", "CSV files (*.csv)"
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """Write the generated links to ``path`` (a worker does the writing)."""
        items = [replace(i) for i in self.model.generated()]
        self.ctx.run(write_csv, items, path, on_done=self._on_exported, on_error=self.banner.show_exception)

    def _on_exported(self, count: int) -> None:
        self.status.setText(f"Exported {count} links.")

    @Slot()
    def copy_all(self) -> None:
        lines = [f"{i.end_user_id or ''}\t{i.email or ''}\t{i.integration_id}\t{i.connection_id}\t{i.link}"
                 for i in self.model.generated()]  # fmt: skip
        QGuiApplication.clipboard().setText("\n".join(lines))
        self.status.setText(f"Copied {len(lines)} links.")

    def reject(self) -> None:
        self.cancel()
        super().reject()
