"""WebhooksPage: the webhook inspector (listener panel in settings_panel.py, filter bar in filters_panel.py;
RecentEventsWidget for the connection detail in recent.py, re-exported here).

The page always shows the listener's state (URL, Start/Stop, bind settings with a warning for non-loopback
addresses), explains how Nango can reach it (public tunnel URL + path, with copy buttons), and shows the
received events live: the listener thread stores each event, the controller delivers it on the GUI thread,
the model batches inserts. Store queries (pages, search, export, pin, forwards, replays) run on workers.
"""

from __future__ import annotations

import logging
import os
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.events import EventFilter, ForwardResult, StoredEvent
from nango_desktop.services.forwarder import replay_is_signed
from nango_desktop.session.binding import SignalTracker
from nango_desktop.session.listener import (
    ListenerController,
)
from nango_desktop.ui import icons
from nango_desktop.ui.columns import ColumnLayout
from nango_desktop.ui.panes import SidePane
from nango_desktop.ui.webhooks import model as m
from nango_desktop.ui.webhooks.detail import EventDetail
from nango_desktop.ui.webhooks.filters_panel import SCOPE_ALL, FiltersPanel
from nango_desktop.ui.webhooks.merged import MergedEvents
from nango_desktop.ui.webhooks.model import CONNECTION, END_USER, PROFILE, SIGNATURE, TIME, TYPE
from nango_desktop.ui.webhooks.recent import RecentEventsWidget
from nango_desktop.ui.webhooks.settings_panel import ListenerPanel, copy_button

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

__all__ = ["RecentEventsWidget", "WebhooksPage"]

COLUMN_WIDTHS = (96, 94, 100, 58, 100, 110, 76, 72, 40, 46, 90)


def _write_export(store: Any, path: str, filters: EventFilter | None, ids: list[int] | None) -> int:
    """Worker: stream matching events as JSON into ``path`` atomically; returns how many."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            count = store.export_json(out, filters, ids)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


class WebhooksPage(ListenerPanel, FiltersPanel, QWidget):
    """The webhook inspector page (``ctx.navigate("webhooks", event_id=...)`` opens an event)."""

    exportStarted = Signal(str)
    exportFinished = Signal(str, int)  # (path, events written)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("webhooksPage")
        self._ctx = ctx
        self._listener: ListenerController | None = None
        self._store: Any = None
        self._merged: MergedEvents | None = None
        self._all_listeners: list[Any] = []
        self._bound = SignalTracker()  # connections to per-profile listeners, dropped in one call
        self._want_event: int | None = None

        self.model = m.EventsModel(parent=self)
        self._build_header()
        self._build_settings()
        self._build_reachability()
        self._build_filters()
        self._build_body()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(self._header)
        layout.addWidget(self.settings_panel)
        layout.addWidget(self.reach_panel)
        layout.addLayout(self._filters)
        layout.addWidget(self.splitter, 1)

        self.model.countChanged.connect(self._update_count)
        self.model.loadFailed.connect(self._on_load_failed)
        self.model.dataChanged.connect(self._on_model_data_changed)
        ctx.profileChanged.connect(self._on_profile_changed)
        self._bind()

    # -- construction -------------------------------------------------------------------------------
    def _build_header(self) -> None:
        self.state_label = QLabel()
        self.state_label.setObjectName("listenerState")
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label.setWordWrap(True)
        self.copy_url_button = copy_button("Copy the listener URL", "listenerCopyUrl")
        self.copy_url_button.clicked.connect(self._copy_listener_url)
        self.toggle_button = QPushButton("Start listener")
        self.toggle_button.setObjectName("listenerToggle")
        self.toggle_button.clicked.connect(self.toggle_listener)
        self.settings_toggle = self._panel_toggle("Listener settings", "listenerSettingsToggle")
        self.reach_toggle = self._panel_toggle("Reachability", "listenerReachabilityToggle")
        self._header = QHBoxLayout()
        self._header.addWidget(self.state_label, 1)
        self._header.addWidget(self.copy_url_button)
        self._header.addWidget(self.settings_toggle)
        self._header.addWidget(self.reach_toggle)
        self._header.addWidget(self.toggle_button)

    def _panel_toggle(self, text: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setText(text)
        button.setCheckable(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setIcon(icons.icon("chevron-right"))
        button.toggled.connect(
            lambda on, b=button: b.setIcon(icons.icon("chevron-down" if on else "chevron-right"))
        )
        return button

    def _build_body(self) -> None:
        self.table = QTableView()
        self.table.setObjectName("webhooksTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.table.setColumnWidth(column, width)
        # fitted to content once events are listed (Connection stretches; Time, Type and Signature are
        # squeezed last); right-click the header to choose the columns (remembered)
        self.columns = ColumnLayout(
            self.table,
            "webhooks",
            stretch=CONNECTION,
            required=(TIME, TYPE, SIGNATURE),
            hidden_by_default=(END_USER, PROFILE),  # the column chooser brings them back
            drop_order=(m.PINNED, m.DUPLICATES, END_USER, m.OPERATION, m.INTEGRATION),  # hidden for room, in order
        )
        self.search_edit.set_results(self.table)  # Down from the search box into the events
        self.model.modelReset.connect(self._fit_columns)
        self.model.rowsInserted.connect(self._fit_columns)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)

        self.detail = EventDetail()
        self.detail.pinRequested.connect(self.set_pinned)
        self.detail.openConnectionRequested.connect(self._open_connection)
        self.detail.replayRequested.connect(self.replay)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("webhooksSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([sum(COLUMN_WIDTHS) + 24, 420])
        screen = QGuiApplication.primaryScreen()
        wide = screen is None or screen.availableGeometry().width() >= 1200
        self.detail_pane = SidePane(
            self.splitter,
            1,
            "webhooks",
            default_width=380,
            min_width=self.detail.minimumWidth(),
            default_open=wide,  # a first start on a narrow screen: every column first
        )
        self.detail_toggle = QToolButton()
        self.detail_toggle.setObjectName("webhooksDetailToggle")
        self.detail_toggle.setDefaultAction(self.detail_pane.toggle)
        self.detail_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._filters.addWidget(self.detail_toggle)

    @Slot()
    def _fit_columns(self, *_args: object) -> None:
        if not self.columns.fitted and self.model.rowCount():
            self.columns.fit()

    # -- profile / listener binding -------------------------------------------------------------------
    @Slot(object)
    def _on_profile_changed(self, _profile: object) -> None:
        self._bind()

    def _bind(self) -> None:
        """Attach to the current profile's listener and event store (and, for the "All profiles" scope,
        to every profile's listener and store)."""
        self._bound.disconnect_all()  # the old profile's listener(s)
        self._all_listeners = []
        session = self._ctx.session
        self._listener = session.listener if session is not None else None
        self._store = session.event_store if session is not None else None
        if self._listener is not None:
            for signal, slot in self._listener_connections():
                self._bound.track(signal, slot)
        self.setEnabled(self._ctx.profile is not None)
        self._load_settings_fields()
        self._on_state(*self._current_state())
        self.detail.set_event(None)
        if self.scope() == SCOPE_ALL:
            self._bind_all()
        else:
            self._merged = None
            self.model.set_store(self._store)
        self.columns.set_column_visible(PROFILE, self.scope() == SCOPE_ALL)
        self._refresh_integrations()

    def scope(self) -> str:
        return str(self.scope_combo.currentData())

    @Slot(int)
    def _on_scope_changed(self, _index: int) -> None:
        self._bind()

    def _bind_all(self) -> None:
        """Every profile's events in one list, newest first; live events of every listener."""
        names = [p.name for p in self._ctx.settings.profiles]
        registry = self._ctx.listener_registry
        stores = {n: registry.event_store_for(n) for n in names}
        self._merged = MergedEvents({n: s for n, s in stores.items() if s is not None})
        for name in names:
            listener = registry.listener_for(name)
            if listener is not None:
                self._bound.track(listener.eventsReceived, self._on_any_events)
                self._all_listeners.append(listener)
        self.model.set_store(self._merged)

    @Slot(object)
    def _on_any_events(self, batch: object) -> None:
        if self._merged is not None:
            self.model.add_events([(self._merged.wrap(e), dup) for e, dup in batch])  # type: ignore[attr-defined]

    def _listener_connections(self) -> list[tuple[Any, Any]]:
        assert self._listener is not None
        return [
            (self._listener.stateChanged, self._on_state),
            (self._listener.eventsReceived, self._on_own_events),
            (self._listener.eventsReceived, self._on_events),
            (self._listener.forwarded, self._on_forwarded),
        ]

    @Slot(object)
    def _on_own_events(self, batch: object) -> None:
        if self.scope() != SCOPE_ALL:  # the "All profiles" scope gets them through _on_any_events
            self.model.add_events(batch)

    # -- events and detail ----------------------------------------------------------------------------
    @Slot(object)
    def _on_events(self, batch: object) -> None:
        shown = self.detail.event
        known = {self.integration_combo.itemText(i) for i in range(self.integration_combo.count())}
        for event, duplicate in batch:  # type: ignore[attr-defined]
            if shown is not None and shown.id == event.id:
                self.detail.set_event(event)
            summary = event.summary
            if (
                not duplicate
                and summary is not None
                and summary.integration
                and summary.integration not in known
            ):
                known.add(summary.integration)
                self.integration_combo.blockSignals(True)
                self.integration_combo.addItem(summary.integration)
                self.integration_combo.blockSignals(False)

    @Slot(QModelIndex, QModelIndex)
    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex) -> None:
        shown = self.detail.event
        if shown is None:
            return
        row = self.model.row_of(shown.id)
        if row is not None and top.row() <= row <= bottom.row():
            self.detail.set_event(self.model.event_at(row))

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        """Show the current row's event (or the first selected one) in the detail."""
        rows = self.selected_rows()
        current = self.table.selectionModel().currentIndex().row()
        event = self.model.event_at(current if current in rows else rows[0]) if rows else None
        if event is None:
            self.detail.set_event(None)
        elif self.detail.event is None or self.detail.event.id != event.id:
            self.show_detail(event)

    def context_menu(self) -> QMenu:
        """The table's context menu for the current selection (built fresh; tests inspect it)."""
        menu = QMenu(self)
        event = self.detail.event
        if event is not None:
            pin = menu.addAction("Unpin" if event.pinned else "Pin")
            pin.setObjectName("actionPinWebhook")
            pin.triggered.connect(lambda: self.set_pinned(event.id, not event.pinned))
            for button in (self.detail.open_button, self.detail.curl_button, self.detail.replay_button):
                action = menu.addAction(button.text())
                action.setEnabled(button.isEnabled())
                action.triggered.connect(button.click)
        menu.addSeparator()
        menu.addAction(self.export_selected_action)
        menu.addAction(self.export_filtered_action)
        return menu

    @Slot(QPoint)
    def _show_context_menu(self, pos: QPoint) -> None:
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def select_row(self, row: int) -> None:
        """Make ``row`` the only selected row (whatever keyboard modifiers are held, unlike selectRow)."""
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(self.model.index(row, 0), flags)

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.table.selectionModel().selectedRows())

    def selected_events(self) -> list[StoredEvent]:
        return [e for e in (self.model.event_at(r) for r in self.selected_rows()) if e is not None]

    def show_detail(self, event: StoredEvent) -> None:
        self.detail.set_event(event)
        self._update_target_url()
        if self.scope() == SCOPE_ALL:  # read-only here: pin and replay in the profile's own view
            for button in (self.detail.pin_button, self.detail.replay_button):
                button.setEnabled(False)
                button.setToolTip(f"Switch to the profile “{event.profile}” (This profile) to pin or replay")
            return
        self._load_forwards(event.id)  # later forwards and replays arrive through ``forwarded``

    def _load_forwards(self, event_id: int) -> None:
        if self._store is not None:
            self._ctx.run(
                self._store.forwards,
                event_id,
                on_done=partial(self._show_forwards, event_id),
            )

    @Slot(object)
    def _on_forwarded(self, result: object) -> None:
        assert isinstance(result, ForwardResult)
        if self.detail.event is not None and self.detail.event.id == result.event_id:
            self._load_forwards(result.event_id)

    def show_event(self, event_id: int) -> None:
        """Select ``event_id`` in the table; when it is not loaded, clear the filters and fetch it."""
        row = self.model.row_of(event_id)
        if row is not None:
            self.select_row(row)
            self.table.scrollTo(self.model.index(row, 0))
            return
        if self._store is None:
            return
        self._want_event = event_id
        self._ctx.run(self._store.get, event_id, on_done=self._on_wanted_event, on_error=self._show_error)

    def _on_wanted_event(self, event: StoredEvent | None) -> None:
        if event is None or event.id != self._want_event:
            return
        self._want_event = None
        self.table.clearSelection()
        self.show_detail(event)

    def on_navigate(self, **kw: Any) -> None:
        """Called by the main window for ``ctx.navigate("webhooks", ...)``: ``event_id=``, ``connection_id=``."""
        if kw.get("connection_id"):
            self.connection_edit.setText(str(kw["connection_id"]))
            self.apply_filters()
        if kw.get("event_id") is not None:
            self.show_event(int(kw["event_id"]))

    # -- actions --------------------------------------------------------------------------------------
    @Slot(int, bool)
    def set_pinned(self, event_id: int, pinned: bool) -> None:
        store, store_id = self._store, event_id
        if self.scope() == SCOPE_ALL:  # a merged view id: pin in the store of the profile that received it
            origin = self._merged.origin(event_id) if self._merged is not None else None
            if origin is None:
                return
            store, store_id = self._ctx.listener_registry.event_store_for(origin[0]), origin[1]
        if store is None:
            return
        self.model.set_pinned(event_id, pinned)
        self._ctx.run(store.pin, store_id, pinned, on_error=self._show_error)

    @Slot(str, str)
    def _open_connection(self, connection_id: str, integration_id: str) -> None:
        self._ctx.navigate("connections", connection_id=connection_id, integration_id=integration_id)

    @Slot()
    def open_rotate_key(self) -> QWidget | None:
        from nango_desktop.ui.webhooks.rotation import RotateKeyDialog

        profile = self._ctx.profile
        if profile is None:
            return None
        dialog = RotateKeyDialog(self._ctx, profile.name, self._listener, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot(object)
    def replay(self, event: object) -> None:
        if self._listener is None or self.scope() == SCOPE_ALL:  # replay from the profile's own view
            return
        if not self.confirm_replay(self, event, self._settings().forward_to or ""):
            return
        self._ctx.run(self._listener.replay, event, on_error=self._show_error)

    @staticmethod
    def confirm_replay(parent: QWidget, event: Any, url: str) -> bool:
        """Ask before any replay, saying whether it goes out signed; tests monkeypatch this."""
        from PySide6.QtWidgets import QMessageBox

        if replay_is_signed(event):
            how = "re-signed with the current signing key (the event was verified)"
        else:
            status = str(getattr(getattr(event, "verification", None), "status", "unverified"))
            how = (
                f"WITHOUT a signature: the event was not verified ({status.replace('_', ' ')}), so it is "
                "never re-signed; it is marked X-Nango-Desktop-Replay-Unverified"
            )
        answer = QMessageBox.question(
            parent,
            "Replay this webhook?",
            f"Send event #{getattr(event, 'id', '?')} again to {url or 'the forward URL'}, {how}, "
            "marked as a replay?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    @staticmethod
    def ask_export_path(parent: QWidget, suggested: str) -> str | None:
        """Ask where to save; tests monkeypatch this."""
        path, _ = QFileDialog.getSaveFileName(parent, "Export webhook events", suggested, "JSON (*.json)")
        return path or None

    @Slot()
    def export_selected(self) -> None:
        ids = [e.id for e in self.selected_events()]
        if ids:
            self._export(None, ids)

    @Slot()
    def export_filtered(self) -> None:
        self._export(self.model.filter, None)

    def _export(self, filters: EventFilter | None, ids: list[int] | None) -> None:
        if self._store is None:
            return
        path = self.ask_export_path(self, str(Path.home() / "nango-webhooks.json"))
        if not path:
            return
        self.exportStarted.emit(path)
        self._ctx.run(
            _write_export,
            self._store,
            path,
            filters,
            ids,
            on_done=partial(self._exported, path),
            on_error=self._show_error,
        )

    @Slot(object)
    def _on_load_failed(self, exc: object) -> None:
        self._show_error(exc)

    def _show_error(self, exc: object) -> None:
        if isinstance(exc, BaseException):
            self._ctx.show_error(exc, self)

    def _show_forwards(self, event_id: int, rows: Any) -> None:
        self.detail.set_forwards(event_id, rows)

    def _exported(self, path: Any, count: int) -> None:
        self.exportFinished.emit(path, count)

    # -- page protocol --------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.model.reload()
        self._refresh_integrations()

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()
