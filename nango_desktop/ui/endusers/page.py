"""EndUsersPage: who the connections belong to, as a directory of end users (optionally by organization).

The directory is derived from the session's connection list (``ctx.connections_store``: rebuilt on its
``loaded`` and on each changed row); it is built off the GUI thread. Refresh asks the store to reload (every
page follows). Selecting an end user (or an organization) lists its connections below, with
"Reconnect links for all broken connections" (auth errors) and a new link for that user.

Layout: rows as tall as the Connections table's; columns sized to their content once data arrives (Email
stretches; the user's own widths are kept afterwards); in the grouped view the organizations the user
collapsed stay collapsed when the directory is rebuilt (refresh, new connections).

objectNames: endUsersPage, endUsersSearch, endUsersGroupByOrg, endUsersBrokenOnly, endUsersRefresh,
endUsersSummary, endUsersBusy, endUsersSplitter, endUsersTree, endUsersSelection, endUsersReconnectBroken,
endUsersNewLink, endUsersShowConnections, endUsersConnections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.endusers import Directory, EndUser, Organization, build_directory
from nango_desktop.session.binding import SignalTracker
from nango_desktop.ui import icons
from nango_desktop.ui.columns import ColumnLayout
from nango_desktop.ui.connections import model as cm
from nango_desktop.ui.connections.detail import link_prefill
from nango_desktop.ui.connections.model import ConnectionsModel, key_of
from nango_desktop.ui.connections.proxy import ConnectionsFilterProxy
from nango_desktop.ui.endusers.model import (
    BROKEN,
    CONNECTIONS,
    EMAIL,
    END_USER_ID,
    NAME,
    ORGANIZATION,
    EndUsersFilterProxy,
    EndUsersModel,
)
from nango_desktop.ui.views import PriorityTableView, PriorityTreeView
from nango_desktop.ui.widgets import BusyBar, SearchLineEdit, tab_chain

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

ROW_PADDING = 8  # as the Connections table: font height + 8
MAX_FITTED_WIDTH = 280


class _RowHeight(QStyledItemDelegate):
    """Rows as tall as the Connections table's (QTreeView has no default section size)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), max(hint.height(), option.fontMetrics.height() + ROW_PADDING))


class EndUsersPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("endUsersPage")
        self.ctx = ctx
        self._generation = 0
        self._selected: tuple[str, bool] | None = None  # (key, is organization)
        self._collapsed: set[str] = set()  # organization keys the user collapsed (grouped view)
        self._columns_fitted = False

        self.model = EndUsersModel(self)
        self.proxy = EndUsersFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self._build_bar()
        self._build_tree()
        self._build_connections()
        self._build_layout()
        self.search.set_results(self.tree)
        tab_chain(self.search, self.group_toggle, self.broken_only, self.refresh_button, self.tree)
        self._bound = SignalTracker()  # bindings to the session's connections store (the only loader)
        ctx.sessionChanged.connect(self._bind_session)
        self._bind_session(ctx.session)
        ctx.profileChanged.connect(self._on_profile_changed)
        self._show_selection(None)
        self.set_connections(ctx.connections_store.connections())

    # -- construction ------------------------------------------------------------------------------------
    def _build_bar(self) -> None:
        self.search = SearchLineEdit(self, placeholder="Filter: name, email, end user id, organization…")
        self.search.setObjectName("endUsersSearch")
        self.search.textChanged.connect(self.proxy.set_text)
        self.group_toggle = QCheckBox("Group by organization", self)
        self.group_toggle.setObjectName("endUsersGroupByOrg")
        self.group_toggle.toggled.connect(self.set_grouped)
        self.broken_only = QCheckBox("Only with broken connections", self)
        self.broken_only.setObjectName("endUsersBrokenOnly")
        self.broken_only.toggled.connect(self.proxy.set_broken_only)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setObjectName("endUsersRefresh")
        self.refresh_button.setIcon(icons.icon("refresh"))
        self.refresh_button.setToolTip("Reload every connection (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel(self)
        self.summary.setObjectName("endUsersSummary")
        self.busy = BusyBar(self)
        self.busy.setObjectName("endUsersBusy")

    def _build_tree(self) -> None:
        self.tree = PriorityTreeView(self)  # repaints before the loading worker
        self.tree.setObjectName("endUsersTree")
        self.tree.setModel(self.proxy)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.header().setSortIndicator(NAME, Qt.SortOrder.AscendingOrder)
        self.tree.setSortingEnabled(True)
        self.tree.setItemDelegate(_RowHeight(self.tree))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(EMAIL, QHeaderView.ResizeMode.Stretch)
        for column, width in (
            (NAME, 200),
            (ORGANIZATION, 170),
            (END_USER_ID, 130),
            (CONNECTIONS, 96),
            (BROKEN, 70),
        ):
            header.resizeSection(column, width)
        self.tree.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.tree.expanded.connect(self._on_expanded)
        self.tree.collapsed.connect(self._on_collapsed)

    def _build_connections(self) -> None:
        """The connections of the selected user / organization, with their actions."""
        self.selection_label = QLabel("Select an end user or an organization.", self)
        self.selection_label.setObjectName("endUsersSelection")
        self.reconnect_button = QPushButton(
            icons.icon("link"), "Reconnect links for all broken connections", self
        )
        self.reconnect_button.setObjectName("endUsersReconnectBroken")
        self.reconnect_button.clicked.connect(self.reconnect_broken)
        self.new_link_button = QPushButton(icons.icon("add"), "New link for this user", self)
        self.new_link_button.setObjectName("endUsersNewLink")
        self.new_link_button.clicked.connect(self.new_link)
        self.show_button = QPushButton(icons.icon("connections"), "Show in Connections", self)
        self.show_button.setObjectName("endUsersShowConnections")
        self.show_button.clicked.connect(self.show_in_connections)
        self.connections_model = ConnectionsModel(parent=self)
        self.connections_proxy = ConnectionsFilterProxy(self)
        self.connections_proxy.setSourceModel(self.connections_model)
        self.connections_view = PriorityTableView(self)
        self.connections_view.setObjectName("endUsersConnections")
        self.connections_view.setModel(self.connections_proxy)
        self.connections_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.connections_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.connections_view.verticalHeader().hide()
        self.connections_view.setWordWrap(False)
        self.connections_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.connections_view.setAlternatingRowColors(True)
        # fitted to their content, Connection ID stretches, low-priority columns hidden for room when narrow
        self.connections_columns = ColumnLayout(
            self.connections_view,
            "endusers-connections",
            stretch=cm.CONNECTION_ID,
            required=(cm.CUSTOMER, cm.STATUS),
            caps={cm.CUSTOMER: 200},
            drop_order=(cm.ORGANIZATION, cm.CREATED, cm.EMAIL, cm.INTEGRATION),
        )
        self.connections_columns.fit()  # headers fill the width before any customer is chosen
        self.connections_view.setSortingEnabled(True)
        self.connections_view.doubleClicked.connect(self._open_connection)
        self.connections_view.setToolTip("Double-click to open the connection on the Connections page")

    def _build_layout(self) -> None:
        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        actions = QHBoxLayout()
        actions.addWidget(self.selection_label, 1)
        actions.addWidget(self.show_button)
        actions.addWidget(self.new_link_button)
        actions.addWidget(self.reconnect_button)
        lower_layout.addLayout(actions)
        lower_layout.addWidget(self.connections_view, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("endUsersSplitter")
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(lower)
        self.splitter.setSizes([480, 280])

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.group_toggle)
        bar.addWidget(self.broken_only)
        bar.addWidget(self.refresh_button)
        status = QHBoxLayout()
        status.addWidget(self.summary)
        status.addWidget(self.busy, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(status)
        layout.addWidget(self.splitter, 1)

    @Slot(object)
    def _bind_session(self, _session: object) -> None:
        """A session opened: the directory follows its connections store."""
        store = self.ctx.connections_store
        self._bound.rebind(
            (store.loaded, self.set_connections),
            (store.loadStarted, self._on_load_started),
            (store.connectionUpdated, self._on_row_changed),
            (store.connectionRemoved, self._on_row_changed),
        )

    # -- page API ---------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload every connection (the session's store; every page follows, this directory too)."""
        if self.ctx.profile is None:
            return
        self.ctx.connections_store.load()

    @Slot(object)
    def _on_load_started(self, task: Any) -> None:
        self.busy.track(task, "Loading connections…")

    def _on_row_changed(self, *_args: object) -> None:
        """One connection changed: rebuild the directory (on a worker) from the store's list."""
        self.set_connections(self.ctx.connections_store.connections())

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def on_navigate(self, **kw: Any) -> None:
        if kw.get("search") is not None:
            self.search.setText(kw["search"])
        if kw.get("end_user_id"):
            self.select(f"id:{kw['end_user_id']}")

    @Slot(object)
    def set_connections(self, connections: Sequence[Any] | None) -> None:
        """Rebuild the directory from ``connections`` (on a worker); the selection is kept."""
        self._generation += 1
        generation = self._generation
        connections = list(connections or [])
        if not connections:
            self._show_directory(generation, Directory())
            self.summary.setText(
                "No connections loaded yet — they load on the Connections page (or press Refresh)."
            )
            return
        self.ctx.run(build_directory, connections, on_done=lambda d: self._show_directory(generation, d))

    def _show_directory(self, generation: int, directory: Directory) -> None:
        if generation != self._generation:
            return
        selected = self._selected
        self.model.set_directory(directory)
        self._restore_expansion()
        if not self._columns_fitted and directory.users:
            self.fit_columns()
        broken_users = sum(1 for u in directory.users if u.broken)
        text = (
            f"{len(directory.users):,} end users ({broken_users:,} with broken connections) in "
            f"{sum(1 for o in directory.organizations if o.key):,} organizations"
        )
        if directory.unassigned:
            text += f" · {len(directory.unassigned):,} connections without an end user"
        self.summary.setText(text)
        if selected is not None and not self.select(*selected):
            self._show_selection(None)
        elif selected is None:
            self._show_selection(None)

    @Slot(object)
    def _on_profile_changed(self, _profile: object) -> None:
        self._selected = None
        self._collapsed.clear()
        self.set_connections([])

    # -- layout -----------------------------------------------------------------------------------------
    def fit_columns(self) -> None:
        """Size the columns to their content (visible rows, capped); Email takes the rest."""
        header = self.tree.header()
        for column in (NAME, ORGANIZATION, END_USER_ID, CONNECTIONS, BROKEN):
            wanted = max(self.tree.sizeHintForColumn(column), header.sectionSizeHint(column)) + 12
            header.resizeSection(column, min(wanted, MAX_FITTED_WIDTH))
        self._columns_fitted = True

    def _org_key(self, index: QModelIndex) -> str | None:
        item = self.proxy.item(index)
        return item.key if isinstance(item, Organization) else None

    @Slot(QModelIndex)
    def _on_expanded(self, index: QModelIndex) -> None:
        key = self._org_key(index)
        if key is not None:
            self._collapsed.discard(key)

    @Slot(QModelIndex)
    def _on_collapsed(self, index: QModelIndex) -> None:
        key = self._org_key(index)
        if key is not None:
            self._collapsed.add(key)

    def _restore_expansion(self) -> None:
        """Grouped view after a rebuild: everything expanded but what the user collapsed."""
        if not self.model.grouped:
            return
        self.tree.blockSignals(True)
        try:
            self.tree.expandAll()
            for row in range(self.proxy.rowCount()):
                index = self.proxy.index(row, 0)
                if self._org_key(index) in self._collapsed:
                    self.tree.collapse(index)
        finally:
            self.tree.blockSignals(False)

    def is_expanded(self, organization_key: str) -> bool:
        index = self.proxy.mapFromSource(self.model.index_of(organization_key, organization=True))
        return index.isValid() and self.tree.isExpanded(index)

    # -- grouping and selection -------------------------------------------------------------------------
    @Slot(bool)
    def set_grouped(self, grouped: bool) -> None:
        selected = self._selected
        self.model.set_grouped(grouped)
        self.tree.setRootIsDecorated(grouped)
        if grouped:
            self._restore_expansion()
        if self.group_toggle.isChecked() != grouped:
            self.group_toggle.setChecked(grouped)
        if selected is not None:
            self.select(*selected)

    def select(self, key: str, organization: bool = False) -> bool:
        """Select the end user (or organization) with ``key``; False when it is not in the directory."""
        source = self.model.index_of(key, organization=organization)
        index = self.proxy.mapFromSource(source)
        if not index.isValid():
            return False
        self.tree.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.tree.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self._show_selection(self.proxy.item(index))
        return True

    def current_item(self) -> EndUser | Organization | None:
        return self.proxy.item(self.tree.currentIndex())

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_selection(self.proxy.item(current))

    def _show_selection(self, item: EndUser | Organization | None) -> None:
        if item is None:
            self._selected = None
            self.connections_model.set_connections([])
            self.connections_columns.fit(force=True)
            self.selection_label.setText("Select an end user or an organization.")
        else:
            self._selected = (item.key, isinstance(item, Organization))
            self.connections_model.set_connections(item.connections)
            self.connections_columns.fit(force=True)
            kind = "Organization" if isinstance(item, Organization) else "End user"
            label = item.label or ("(no organization)" if isinstance(item, Organization) else "")
            self.selection_label.setText(
                f"<b>{kind}:</b> {_html(label)} — {len(item.connections):,} connections, "
                f"{len(item.broken):,} broken"
            )
        broken = len(item.broken) if item is not None else 0
        self.reconnect_button.setEnabled(broken > 0)
        self.reconnect_button.setText(
            f"Reconnect links for {broken} broken connections" if broken else "No broken connections"
        )
        self.new_link_button.setEnabled(isinstance(item, EndUser))
        self.show_button.setEnabled(isinstance(item, EndUser) and bool(item.end_user_id or item.email))

    # -- actions ----------------------------------------------------------------------------------------
    @Slot()
    def reconnect_broken(self) -> None:
        item = self.current_item()
        if item is not None and item.broken:
            self.ctx.request_reconnect_links(item.broken)

    @Slot()
    def new_link(self) -> None:
        item = self.current_item()
        if not isinstance(item, EndUser) or not item.connections:
            return
        prefill = link_prefill(item.connections[0])
        # the integrations this user already has: listed as connected, not ticked (the issue: a new link
        # for a user is for an integration they do not have yet)
        prefill["existing_integrations"] = sorted({c.provider_config_key for c in item.connections})
        prefill.update(
            {
                k: v
                for k, v in (
                    ("end_user_id", item.end_user_id),
                    ("email", item.email),
                    ("display_name", item.display_name),
                    ("organization_id", item.organization_id),
                    ("organization_name", item.organization_name),
                )
                if v
            }
        )
        self.ctx.request_new_link(prefill)

    @Slot()
    def show_in_connections(self) -> None:
        item = self.current_item()
        if not isinstance(item, EndUser):
            return
        tags = {"end_user_id": item.end_user_id} if item.end_user_id else {"end_user_email": item.email or ""}
        self.ctx.navigate("connections", filter={"clear": True, "tags": tags})

    @Slot(QModelIndex)
    def _open_connection(self, index: QModelIndex) -> None:
        conn = self.connections_proxy.connection(index.row())
        if conn is None:
            return
        cid, iid = key_of(conn)
        self.ctx.navigate("connections", connection_id=cid, integration_id=iid)


def _html(text: str) -> str:
    from html import escape

    return escape(text)
