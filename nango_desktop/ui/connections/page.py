"""ConnectionsPage: every connection of the environment, searchable, filterable, sortable, exportable.

Layout: a filter bar (search, server-search toggle, integration menu, status, tag filter, refresh, export),
a busy bar (loading progress with Cancel), then a splitter with the table and the ``ConnectionDetail``.

Typing in the search field filters the loaded rows at once (local, covers tags). With "Server search"
checked the text is also sent to Nango (debounced 300 ms) and the list reloads with ``search=`` — Nango
only matches connection ids and legacy end-user names/emails there, so it is off by default.

The full list (no server search) is the session's ``ctx.connections_store`` (the only loader, shared with
End users and Overview): the model follows it; a server search is a query of this page's own.
``ctx.connectionChanged`` makes the store re-read one row (GET /connections?connectionId=, no credentials) and
every view updates that row; ``ctx.profileChanged`` reloads everything. Refresh (F5) keeps selection and scroll position.

objectNames: connectionsPage, connectionsSearch, connectionsServerSearch, connectionsFilterIntegration,
connectionsFilterStatus, connectionsFilterTag, connectionsClearFilters, connectionsRefresh, connectionsExport,
connectionsExportCsv, connectionsExportJson, connectionsCounter, connectionsBusy, connectionsSplitter,
connectionsTable, connectionsContextMenu, connectionDetail, and the actions connectionsCopyId,
connectionsOpenDetail, connectionsReconnect, connectionsNewLink, connectionsFilterCustomer, connectionsDelete.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.models import Connection
from nango_desktop.services.errors import CancelledError
from nango_desktop.session import operations
from nango_desktop.session.binding import SignalTracker
from nango_desktop.ui import icons
from nango_desktop.ui.columns import ColumnLayout
from nango_desktop.ui.connections.detail import ConnectionDetail
from nango_desktop.ui.connections.filter_bar import FilterBar, format_tag_filter, parse_tag_filter
from nango_desktop.ui.connections.model import (
    CONNECTION_ID,
    CREATED,
    CUSTOMER,
    EMAIL,
    INTEGRATION,
    ORGANIZATION,
    STATUS,
    ConnectionsModel,
    Key,
    KeyRole,
    key_of,
)
from nango_desktop.ui.connections.proxy import ConnectionsFilterProxy
from nango_desktop.ui.connections.row_actions import RowActions
from nango_desktop.ui.panes import SidePane
from nango_desktop.ui.views import PriorityTableView
from nango_desktop.ui.widgets import BusyBar, tab_chain

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

__all__ = ["ConnectionsPage", "format_tag_filter", "parse_tag_filter"]

# Status filter choices: label -> accepted statuses (None = all)
COLUMN_WIDTHS = {
    CUSTOMER: 150,
    STATUS: 96,
    EMAIL: 190,
    ORGANIZATION: 130,
    INTEGRATION: 100,
    CONNECTION_ID: 170,
    CREATED: 118,
}


class ConnectionsPage(RowActions, FilterBar, QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionsPage")
        self.ctx = ctx
        self._integrations: dict[str, str] = {}  # unique_key -> label
        self._pending_select: tuple[str, str | None] | None = None
        self._saved_view: tuple[list[Key], Key | None, Key | None, int] | None = None

        self.model = ConnectionsModel(ctx.client, self)  # its own loads: server search only
        self._bound = SignalTracker()  # bindings to the session's store, dropped when the next session opens
        self.proxy = ConnectionsFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self._build_filter_bar()
        self._build_table_and_detail()
        self._build_layout()
        self._wire()

    # -- construction ------------------------------------------------------------------------------------
    def _build_table_and_detail(self) -> None:
        ctx = self.ctx
        self.table = PriorityTableView(self)  # repaints before the loading worker
        self.table.setObjectName("connectionsTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSortIndicator(CREATED, Qt.SortOrder.DescendingOrder)  # the API's order: newest first
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.moveSection(STATUS, 1)  # shown next to the customer: the column support scans first
        self.table.setSortingEnabled(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)

        self.detail = ConnectionDetail(ctx, self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("connectionsSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)  # a wider window widens the table, not the detail
        self.splitter.setSizes([700, 420])
        # the detail pane: collapsible (Details button, F9, or drag it shut), resizable, both remembered
        screen = QGuiApplication.primaryScreen()
        wide = screen is None or screen.availableGeometry().width() >= 1200
        self.detail_pane = SidePane(
            self.splitter, 1, "connections", default_width=420, min_width=340, default_open=wide
        )
        self.detail_toggle = QToolButton(self)
        self.detail_toggle.setObjectName("connectionsDetailToggle")
        self.detail_toggle.setDefaultAction(self.detail_pane.toggle)
        self.detail_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        # columns fitted to their content once rows arrive, Connection ID stretches; right-click the header
        # to choose the columns (remembered)
        self.columns = ColumnLayout(
            self.table,
            "connections",
            stretch=CONNECTION_ID,
            required=(CUSTOMER, STATUS),
            caps={CUSTOMER: 200},
            # hidden for room, in this order, when a narrow window (or the open detail) cannot show them all
            drop_order=(ORGANIZATION, CREATED, EMAIL, INTEGRATION),
        )

        self._build_actions()

    def _build_layout(self) -> None:
        self.counter = QLabel(self)
        self.counter.setObjectName("connectionsCounter")
        self.busy = BusyBar(self)
        self.busy.setObjectName("connectionsBusy")
        bar = QHBoxLayout()
        bar.addWidget(self.search, 3)
        bar.addWidget(self.server_search)
        bar.addWidget(self.integration_button)
        bar.addWidget(self.status_combo)
        bar.addWidget(self.tag_edit, 1)
        bar.addWidget(self.clear_filters_button)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.export_button)
        bar.addWidget(self.detail_toggle)
        status_row = QHBoxLayout()
        status_row.addWidget(self.counter)
        status_row.addWidget(self.busy, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(status_row)
        layout.addWidget(self.splitter, 1)
        # keyboard: Down from the search box into the results; Tab: search -> filters -> table -> detail
        self.search.set_results(self.table)
        tab_chain(
            self.search, self.server_search, self.integration_button, self.status_combo, self.tag_edit,
            self.clear_filters_button, self.refresh_button, self.export_button, self.table,
        )  # fmt: skip

    def _wire(self) -> None:
        ctx = self.ctx
        self._counter_timer = QTimer(self)
        self._counter_timer.setSingleShot(True)
        self._counter_timer.setInterval(50)
        self._counter_timer.timeout.connect(self._update_counter)
        for signal in (
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
            self.proxy.modelReset,
            self.proxy.layoutChanged,
            self.proxy.dataChanged,
        ):
            signal.connect(self._schedule_counter)
        self.model.loadStarted.connect(self._on_load_started)
        self.model.loadProgress.connect(self._on_load_progress)
        self.model.pageLoaded.connect(self._on_page_loaded)
        self.model.loadFinished.connect(self._on_load_finished)
        self.model.loadFailed.connect(self._on_load_failed)
        self.model.modelAboutToBeReset.connect(self._save_view)
        self.model.modelReset.connect(self._restore_view)
        ctx.sessionChanged.connect(self._bind_session)
        self._bind_session(ctx.session)
        ctx.profileChanged.connect(self._on_profile_changed)
        self._update_counter()
        if ctx.profile is not None:
            QTimer.singleShot(0, self.reload)

    def _tool(self, name: str, icon_name: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setIcon(icons.icon(icon_name))
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        return button

    def _build_actions(self) -> None:
        def action(name: str, text: str, icon_name: str | None, slot, shortcut=None) -> QAction:
            act = QAction(text, self)
            act.setObjectName(name)
            if icon_name:
                act.setIcon(icons.icon(icon_name))
            if shortcut is not None:
                act.setShortcut(shortcut)
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            return act

        self.action_copy_id = action(
            "connectionsCopyId", "Copy connection id", "copy", self.copy_ids, QKeySequence.StandardKey.Copy
        )
        self.table.addAction(self.action_copy_id)
        self.action_open = action("connectionsOpenDetail", "Open details", "info", self._open_detail)
        self.action_reconnect = action(
            "connectionsReconnect", "Create reconnect link…", "link", self.reconnect_selected
        )
        self.action_new_link = action(
            "connectionsNewLink", "New connect link for this customer…", "add", self._new_link
        )
        self.action_filter_customer = action(
            "connectionsFilterCustomer", "Show this customer's connections", "filter", self._filter_customer
        )
        self.action_delete = action("connectionsDelete", "Delete…", "delete", self._delete_current)

    # -- page API (main window) --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload every connection; the current rows, selection and scroll position stay."""
        self.reload(keep_rows=self.model.rowCount() > 0, refresh=True)
        self._load_integrations()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def on_navigate(self, **kw: Any) -> None:
        flt = kw.get("filter")
        if isinstance(flt, Mapping):
            self.apply_filter(**flt)
        elif isinstance(flt, str):
            self.apply_filter(status=flt)
        rest = {
            k: v
            for k, v in kw.items()
            if k in ("status", "integration", "integrations", "tags", "tag", "search")
        }
        if rest:
            self.apply_filter(**rest)
        if kw.get("connection_id"):
            self.select_connection(kw["connection_id"], kw.get("integration_id"))

    def select_connection(self, connection_id: str, integration_id: str | None = None) -> bool:
        """Select and show a connection; if it is not loaded yet, select it when it arrives."""
        row = self.model.row_of(connection_id, integration_id)
        if row is None:
            self._pending_select = (connection_id, integration_id)
            return False
        self._pending_select = None
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():  # hidden by a filter: show it anyway
            self.clear_filters()
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    # -- loading ----------------------------------------------------------------------------------------
    def reload(self, *, keep_rows: bool = False, refresh: bool = False) -> None:
        if self.ctx.profile is None:
            self.model.clear()
            return
        search = self.search.text().strip() if self.server_search.isChecked() else None
        store = self.ctx.connections_store
        if search:  # a server-side query is this page's own; the whole list belongs to the store
            self.model.load(search=search, keep_rows=keep_rows)
        elif refresh:  # the store reloads, every view follows (rows on screen stay until it is complete)
            store.load()
            if self.model.search is not None:
                self.model.show_store()
        elif self.model.search is not None or store.is_loading or store.is_complete:
            self.model.show_store()  # the list is there or on its way: no second load
        else:
            store.load()
        if not self._integrations:
            self._load_integrations()

    def _load_integrations(self) -> None:
        operations.list_integrations(self.ctx.session, parent=self).success(self._on_integrations).failure(
            self._ignore
        ).run()

    def _ignore(self, exc: BaseException) -> None:
        log.info("Integrations not listed (the filter offers the loaded ones): %s", exc)

    def _on_integrations(self, integrations: list) -> None:
        for integration in integrations:
            self._integrations[integration.unique_key] = integration.label
        self._rebuild_integration_menu()

    @Slot(object)
    def _on_load_started(self, task: Any) -> None:
        self.busy.track(task, "Loading connections…")
        self._schedule_counter()

    @Slot(object)
    def _on_page_loaded(self, connections: object) -> None:
        if self.model.rowCount():
            self.columns.fit()  # once, on the first page (the user's widths are kept afterwards)

    @Slot(int)
    def _on_load_progress(self, _loaded: int) -> None:
        if self._pending_select is not None:
            self.select_connection(*self._pending_select)

    @Slot(bool)
    def _on_load_finished(self, complete: bool) -> None:
        self.busy.finish()
        if self.model.rowCount():
            self.columns.fit()
        if self._pending_select is not None:
            self.select_connection(*self._pending_select)
        known = {r.provider_config_key for r in self.model.rows()}
        if known - self._integrations.keys():
            for key in known - self._integrations.keys():
                self._integrations[key] = key
            self._rebuild_integration_menu()
        self._update_counter()

    @Slot(object)
    def _on_load_failed(self, exc: object) -> None:
        if isinstance(exc, BaseException) and not isinstance(exc, CancelledError):
            self.ctx.show_error(exc, self)

    @Slot(object)
    def _bind_session(self, _session: object) -> None:
        """A session opened: the table follows its connection list (the session's one loader)."""
        store = self.ctx.connections_store
        self.model.follow(store)
        self._bound.rebind(
            (store.connectionUpdated, self._on_connection_updated),
            (store.connectionRemoved, self._on_connection_removed),
        )

    @Slot(object)
    def _on_profile_changed(self, _profile: object) -> None:
        self._integrations.clear()
        self._rebuild_integration_menu()
        self.detail.show_connection(None)
        self.model.clear()
        self.reload()

    @Slot(str)
    def _on_server_search(self, _text: str) -> None:
        if self.server_search.isChecked():
            self.reload()

    @Slot(bool)
    def _on_server_search_toggled(self, on: bool) -> None:
        if on or self.model.search is not None:
            self.reload()

    # -- one row ----------------------------------------------------------------------------------------
    @Slot(str, str)
    def refresh_connection(self, connection_id: str, integration_id: str) -> None:
        """Re-read one connection; the store updates, adds or removes its row in every view."""
        if self.ctx.profile is not None:
            self.ctx.connections_store.refresh_connection(connection_id, integration_id)

    @Slot(object)
    def _on_connection_updated(self, conn: Connection) -> None:
        shown = self.detail.connection
        if shown is not None and key_of(shown) == key_of(conn):
            self.detail.show_connection(conn)

    @Slot(str, str)
    def _on_connection_removed(self, connection_id: str, integration_id: str) -> None:
        shown = self.detail.connection
        if shown is not None and key_of(shown) == (connection_id, integration_id):
            self.detail.show_connection(None)

    # -- selection, view state --------------------------------------------------------------------------
    def selected_connections(self) -> list[Connection]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [c for c in (self.proxy.connection(r) for r in rows) if c is not None]

    def current_connection(self) -> Connection | None:
        index = self.table.currentIndex()
        return self.proxy.connection(index.row()) if index.isValid() else None

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.detail.show_connection(self.proxy.connection(current.row()) if current.isValid() else None)

    def _key_at(self, proxy_row: int) -> Key | None:
        index = self.proxy.index(proxy_row, 0)
        return index.data(KeyRole) if index.isValid() else None

    @Slot()
    def _save_view(self) -> None:
        selected = [i.data(KeyRole) for i in self.table.selectionModel().selectedRows()]
        current = self.table.currentIndex().data(KeyRole) if self.table.currentIndex().isValid() else None
        top = self._key_at(self.table.rowAt(0)) if self.table.rowAt(0) >= 0 else None
        self._saved_view = (selected, current, top, self.table.verticalScrollBar().value())

    @Slot()
    def _restore_view(self) -> None:
        saved, self._saved_view = self._saved_view, None
        if not saved or self.model.rowCount() == 0:
            return
        selected, current, top, scroll = saved
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for key in selected:
            index = self._proxy_index(key)
            if index.isValid():
                selection.select(index, flags)
        if current is not None:
            index = self._proxy_index(current)
            if index.isValid():
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        top_index = self._proxy_index(top) if top is not None else QModelIndex()
        if top_index.isValid():
            self.table.scrollTo(top_index, QAbstractItemView.ScrollHint.PositionAtTop)
        else:
            self.table.verticalScrollBar().setValue(scroll)

    def _proxy_index(self, key: Key) -> QModelIndex:
        row = self.model.row_of(*key)
        return self.proxy.mapFromSource(self.model.index(row, 0)) if row is not None else QModelIndex()

    # -- counter ----------------------------------------------------------------------------------------
    @Slot()
    def _schedule_counter(self, *_args: object) -> None:
        if not self._counter_timer.isActive():
            self._counter_timer.start()

    @Slot()
    def _update_counter(self) -> None:
        shown, errored = self.proxy.counts()
        total = self.model.rowCount()
        text = f"{shown:,} connections ({errored:,} with errors)"
        if self.proxy.is_filtering():
            text = f"{shown:,} of {total:,} connections ({errored:,} with errors)"
        if self.model.is_loading:
            text += " — loading…"
        elif total and not self.model.is_complete:
            text += " — incomplete (load stopped)"
        self.counter.setText(text)
