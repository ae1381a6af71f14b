"""The Connections page's row actions: copy ids, open the detail, reconnect links, a new link for the customer,
filter by the customer, delete, the row context menu, and export of the current view (CSV / JSON, on a worker).

A mixin of ``ConnectionsPage``: it uses the page's ``ctx``, ``table``, ``proxy``, ``detail``, ``detail_pane``,
``busy``, its ``action_*`` QActions, ``selected_connections()``, ``current_connection()`` and ``apply_filter()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Slot
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from nango_desktop.services.export import export_rows, format_for
from nango_desktop.ui.connections.detail import delete_connection, link_prefill

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext


class RowActions:
    ctx: AppContext
    action_copy_id: QAction
    action_open: QAction
    action_reconnect: QAction
    action_new_link: QAction
    action_filter_customer: QAction
    action_delete: QAction
    table: Any
    proxy: Any
    detail: Any
    detail_pane: Any
    busy: Any

    if TYPE_CHECKING:  # provided by the page (and QObject); declared here for the type checker only

        def selected_connections(self) -> list[Any]: ...
        def current_connection(self) -> Any: ...
        def apply_filter(self, **kw: Any) -> None: ...

    @Slot()
    def copy_ids(self) -> None:
        ids = [c.connection_id for c in self.selected_connections()]
        if ids:
            QGuiApplication.clipboard().setText("\n".join(ids))

    @Slot()
    def reconnect_selected(self) -> None:
        connections = self.selected_connections()
        if connections:
            self.ctx.request_reconnect_links(connections)

    @Slot()
    def _open_detail(self) -> None:
        conn = self.current_connection()
        if conn is not None:
            self.detail.show_connection(conn)
            if not self.detail_pane.is_open():
                self.detail_pane.set_open(True)

    @Slot(QModelIndex)
    def _on_double_click(self, _index: QModelIndex) -> None:
        self._open_detail()

    @Slot()
    def _new_link(self) -> None:
        conn = self.current_connection()
        if conn is not None:
            self.ctx.request_new_link(link_prefill(conn))

    @Slot()
    def _filter_customer(self) -> None:
        conn = self.current_connection()
        if conn is None:
            return
        info = conn.customer
        if info.end_user_id:
            self.apply_filter(tags={"end_user_id": info.end_user_id})
        elif info.email:
            self.apply_filter(tags={"end_user_email": info.email})

    @Slot()
    def _delete_current(self) -> None:
        conn = self.current_connection()
        if conn is not None:
            delete_connection(self.ctx, cast("QWidget", self), conn, self.busy)

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        if not self.table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
        else:
            self.table.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        menu = self.context_menu()
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def context_menu(self) -> QMenu:
        """The row context menu for the current selection (built fresh; tests inspect it)."""
        count = len(self.table.selectionModel().selectedRows())
        menu = QMenu(cast("QWidget", self))
        menu.setObjectName("connectionsContextMenu")
        self.action_copy_id.setText("Copy connection id" if count <= 1 else f"Copy {count} connection ids")
        self.action_reconnect.setText(
            "Create reconnect link…" if count <= 1 else f"Create {count} reconnect links…"
        )
        conn = self.current_connection()
        has_customer = conn is not None and bool(conn.customer.end_user_id or conn.customer.email)
        self.action_filter_customer.setEnabled(has_customer)
        for act in (
            self.action_copy_id,
            self.action_open,
            None,
            self.action_reconnect,
            self.action_new_link,
            self.action_filter_customer,
            None,
            self.action_delete,
        ):
            if act is None:
                menu.addSeparator()
            else:
                menu.addAction(act)
        return menu

    # -- export -----------------------------------------------------------------------------------------
    @classmethod
    def ask_export_path(cls, parent: QWidget, fmt: str) -> str | None:
        """Save dialog; tests monkeypatch this."""
        filters = "CSV files (*.csv)" if fmt == "csv" else "JSON files (*.json)"
        path, _selected = QFileDialog.getSaveFileName(
            parent, "Export connections", f"connections.{fmt}", filters
        )
        return path or None

    def export_view(self, fmt: str = "csv", path: str | None = None) -> Any:
        """Write the rows of the current view (filters and sort applied) to a file, off the GUI thread."""
        path = path or self.ask_export_path(cast("QWidget", self), fmt)
        if not path:
            return None
        if Path(path).suffix.lower() not in (".csv", ".json"):
            path = f"{path}.{fmt}"
        rows = self.proxy.visible_rows()  # the full models are built on the worker
        task = self.ctx.run(
            export_rows,
            path,
            rows,
            format_for(path),
            on_done=lambda n: self.ctx.notify("Export finished", f"{n:,} connections written to {path}"),
        )
        self.busy.track(task, f"Exporting {len(rows):,} connections…")
        return task

