"""WebhooksPage: the webhook inspector, and RecentEventsWidget for the connection detail.

The page always shows the listener's state (URL, Start/Stop, bind settings with a warning for non-loopback
addresses), explains how Nango can reach it (public tunnel URL + path, with copy buttons), and shows the
received events live: the listener thread stores each event, the controller delivers it on the GUI thread,
the model batches inserts. Store queries (pages, search, export, pin, forwards, replays) run on workers.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.services.forwarder import replay_is_signed
from nango_desktop.services.signing import VerificationStatus
from nango_desktop.session.binding import SignalTracker
from nango_desktop.session.listener import (
    ERROR,
    LISTENING,
    ListenerController,
    UserError,
    is_loopback,
    webhook_url_for_nango,
)
from nango_desktop.settings import ListenerSettings
from nango_desktop.store.events import EventFilter, ForwardResult, StoredEvent
from nango_desktop.ui import icons
from nango_desktop.ui.columns import ColumnLayout
from nango_desktop.ui.forms import FlowLayout
from nango_desktop.ui.panes import SidePane
from nango_desktop.ui.webhooks import model as m
from nango_desktop.ui.webhooks.detail import EventDetail
from nango_desktop.ui.webhooks.merged import MergedEvents
from nango_desktop.ui.webhooks.model import CONNECTION, END_USER, PROFILE, SIGNATURE, TIME, TYPE
from nango_desktop.ui.widgets import SearchLineEdit

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

TYPES = ("auth", "sync", "async_action", "forward", "raw", "unknown")
OPERATIONS = ("creation", "override", "refresh", "INITIAL", "INCREMENTAL", "WEBHOOK")
SIGNATURES = ("verified", "invalid", "unsigned", "no_key")
UNAVAILABLE = "unavailable"  # no profile, so no listener
STATE_COLORS = {LISTENING: "#1a7f37", ERROR: "#cf222e"}
COLUMN_WIDTHS = (96, 94, 100, 58, 100, 110, 76, 72, 40, 46, 90)
SCOPE_PROFILE, SCOPE_ALL = "profile", "all"

REACHABILITY_TEXT = (
    "Nango Cloud never delivers webhooks to localhost, 127.0.0.1 or private network addresses. Run a "
    "tunnel (ngrok, cloudflared, …) that forwards a public HTTPS URL to this listener, enter that URL "
    "below, and configure the resulting URL in Nango: in the environment's webhook settings, or per "
    "connection with <code>webhook_url_override</code> (Connections → Settings) to receive only one "
    "connection's webhooks here."
)


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


def _copy_button(tip: str, name: str) -> QToolButton:
    button = QToolButton()
    button.setIcon(icons.icon("copy"))
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setAutoRaise(True)
    button.setObjectName(name)
    return button


def _combo(name: str, any_text: str, values: tuple[str, ...], *, editable: bool = False) -> QComboBox:
    """A filter combo whose first item (``any_text``) means "no filter"."""
    combo = QComboBox()
    combo.setObjectName(name)
    combo.addItem(any_text)
    combo.addItems(list(values))
    combo.setEditable(editable)
    combo.setToolTip(any_text)
    combo.setMinimumContentsLength(len(any_text) if editable else 8)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return combo


def _combo_value(combo: QComboBox) -> str | None:
    text = combo.currentText().strip()
    return None if not text or text == combo.itemText(0) else text


class WebhooksPage(QWidget):
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
        self.copy_url_button = _copy_button("Copy the listener URL", "listenerCopyUrl")
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

    def _build_settings(self) -> None:
        self.host_edit = QComboBox()
        self.host_edit.setObjectName("listenerHost")
        self.host_edit.setEditable(True)
        self.host_edit.addItems(["127.0.0.1", "::1", "0.0.0.0"])
        self.host_edit.setToolTip(
            "Address to bind: 127.0.0.1 = this machine only (recommended, behind a tunnel)"
        )
        self.port_spin = QSpinBox()
        self.port_spin.setObjectName("listenerPort")
        self.port_spin.setRange(0, 65535)
        self.port_spin.setToolTip("0 = any free port")
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("listenerPath")
        self.forward_edit = QLineEdit()
        self.forward_edit.setObjectName("listenerForwardTo")
        self.forward_edit.setPlaceholderText("http://localhost:3000/webhooks (optional)")
        self.forward_edit.setToolTip("Each received event is posted here with its original headers and body")
        self.notify_check = QCheckBox("Notify me of auth failures and refresh errors")
        self.notify_check.setObjectName("listenerNotify")
        self.autostart_check = QCheckBox("Start the listener with the app")
        self.autostart_check.setObjectName("listenerAutostart")
        self.reject_check = QCheckBox(
            "Reject (401) invalid or unsigned requests instead of storing them flagged"
        )
        self.reject_check.setObjectName("listenerReject")
        self.legacy_check = QCheckBox("Accept the legacy signature alone (weaker: for old self-hosted Nango)")
        self.legacy_check.setObjectName("listenerAcceptLegacy")
        self.legacy_check.setToolTip(
            "Off (default): a request with only X-Nango-Signature, SHA-256(key + body), is invalid; that scheme can be "
            "forged by length extension, and Nango sends X-Nango-Hmac-Sha256 with every webhook."
        )
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("listenerApply")
        self.apply_button.clicked.connect(self.apply_settings)
        self.bind_warning = QLabel()
        self.bind_warning.setObjectName("listenerBindWarning")
        self.bind_warning.setWordWrap(True)
        self.bind_warning.setStyleSheet("color: #bc4c00;")
        self.host_edit.currentTextChanged.connect(self._update_bind_warning)

        row = QHBoxLayout()
        for label, widget, stretch in (
            ("Host", self.host_edit, 0),
            ("Port", self.port_spin, 0),
            ("Path", self.path_edit, 1),
            ("Forward to", self.forward_edit, 2),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(widget, stretch)
        row.addWidget(self.apply_button)
        self.settings_panel = QFrame()
        self.settings_panel.setObjectName("listenerSettingsPanel")
        self.settings_panel.setFrameShape(QFrame.Shape.StyledPanel)
        box = QVBoxLayout(self.settings_panel)
        box.addLayout(row)
        checks = QHBoxLayout()
        for check in (self.autostart_check, self.notify_check, self.reject_check):
            checks.addWidget(check)
        checks.addStretch(1)
        self.rotate_key_button = QPushButton("Rotate signing key…")
        self.rotate_key_button.setObjectName("listenerRotateKey")
        self.rotate_key_button.setToolTip(
            "Ask Nango for a new webhook signing key; the old one keeps verifying here for a while"
        )
        self.rotate_key_button.clicked.connect(self.open_rotate_key)
        checks.addWidget(self.rotate_key_button)
        box.addLayout(checks)
        box.addWidget(self.legacy_check)
        box.addWidget(self.bind_warning)
        self.settings_panel.setVisible(False)
        self.settings_toggle.toggled.connect(self.settings_panel.setVisible)

    def _build_reachability(self) -> None:
        explain = QLabel(REACHABILITY_TEXT)
        explain.setWordWrap(True)
        explain.setTextFormat(Qt.TextFormat.RichText)
        self.public_edit = QLineEdit()
        self.public_edit.setObjectName("listenerPublicUrl")
        self.public_edit.setPlaceholderText("https://your-tunnel.example.com")
        self.public_edit.textChanged.connect(self._update_nango_url)
        self.public_edit.editingFinished.connect(self.apply_settings)
        self.nango_url = QLineEdit()
        self.nango_url.setObjectName("listenerNangoUrl")
        self.nango_url.setReadOnly(True)
        self.copy_nango_button = _copy_button("Copy the URL to configure in Nango", "listenerCopyNangoUrl")
        self.copy_nango_button.clicked.connect(self._copy_nango_url)
        public_row = QHBoxLayout()
        public_row.addWidget(QLabel("Public tunnel URL"))
        public_row.addWidget(self.public_edit, 1)
        public_row.addWidget(QLabel("URL to configure in Nango"))
        public_row.addWidget(self.nango_url, 1)
        public_row.addWidget(self.copy_nango_button)
        self.reach_panel = QFrame()
        self.reach_panel.setObjectName("listenerReachability")
        self.reach_panel.setFrameShape(QFrame.Shape.StyledPanel)
        box = QVBoxLayout(self.reach_panel)
        box.addWidget(explain)
        box.addLayout(public_row)
        self.reach_panel.setVisible(False)
        self.reach_toggle.toggled.connect(self.reach_panel.setVisible)

    def _build_filters(self) -> None:
        self.type_combo = _combo("webhooksTypeFilter", "Any type", (*TYPES, "malformed"))
        self.operation_combo = _combo("webhooksOperationFilter", "Any operation", OPERATIONS, editable=True)
        self.success_combo = _combo("webhooksSuccessFilter", "Any result", ("success", "failure"))
        self.signature_combo = _combo("webhooksSignatureFilter", "Any signature", SIGNATURES)
        self.integration_combo = _combo("webhooksIntegrationFilter", "Any integration", (), editable=True)
        self.connection_edit = QLineEdit()
        self.connection_edit.setObjectName("webhooksConnectionFilter")
        self.connection_edit.setPlaceholderText("Connection id")
        self.connection_edit.setClearButtonEnabled(True)
        self.scope_combo = QComboBox()
        self.scope_combo.setObjectName("webhooksScope")
        self.scope_combo.addItem("This profile", SCOPE_PROFILE)
        self.scope_combo.addItem("All profiles", SCOPE_ALL)
        self.scope_combo.setToolTip(
            "Events received by this profile's listener, or by every profile's listener (each profile keeps "
            "its own listener running)"
        )
        self.scope_combo.currentIndexChanged.connect(self._on_scope_changed)
        self.pinned_check = QCheckBox("Pinned")
        self.pinned_check.setObjectName("webhooksPinnedFilter")
        self.search_edit = SearchLineEdit(placeholder="Search in bodies…")
        self.search_edit.setObjectName("webhooksSearch")
        self.count_label = QLabel()
        self.count_label.setObjectName("webhooksCount")
        self.export_button = QToolButton()
        self.export_button.setObjectName("webhooksExport")
        self.export_button.setText("Export")
        self.export_button.setIcon(icons.icon("export"))
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.export_selected_action = menu.addAction("Export selected events as JSON…")
        self.export_selected_action.setObjectName("actionExportSelectedWebhooks")
        self.export_selected_action.triggered.connect(self.export_selected)
        self.export_filtered_action = menu.addAction("Export all events matching the filters as JSON…")
        self.export_filtered_action.setObjectName("actionExportFilteredWebhooks")
        self.export_filtered_action.triggered.connect(self.export_filtered)
        self.export_button.setMenu(menu)

        for combo in (self.type_combo, self.success_combo, self.signature_combo):
            combo.currentIndexChanged.connect(self._filters_changed)
        for combo in (self.operation_combo, self.integration_combo):
            combo.currentTextChanged.connect(self._filters_changed_debounced)
        self.connection_edit.textChanged.connect(self._filters_changed_debounced)
        self.pinned_check.toggled.connect(self._filters_changed)
        self.search_edit.searchChanged.connect(self._filters_changed)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(300)
        self._filter_timer.timeout.connect(self.apply_filters)

        self._filters = FlowLayout()  # wraps onto a second row in a narrow window (1024) instead of squeezing
        self.search_edit.setMinimumWidth(220)
        self.connection_edit.setMinimumWidth(150)
        for widget in (
            self.scope_combo,
            self.type_combo,
            self.operation_combo,
            self.success_combo,
            self.signature_combo,
            self.integration_combo,
            self.connection_edit,
            self.pinned_check,
        ):
            self._filters.addWidget(widget)
        self._filters.addWidget(self.search_edit)
        self._filters.addWidget(self.count_label)
        self._filters.addWidget(self.export_button)

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

    def _current_state(self) -> tuple[str, str]:
        if self._listener is None:
            return UNAVAILABLE, "No profile: create or choose one (File menu) to receive webhooks"
        return self._listener.state, self._listener.message

    def _settings(self) -> ListenerSettings:
        if self._listener is not None:
            return self._listener.settings
        profile = self._ctx.profile
        return profile.listener if profile is not None else ListenerSettings()

    def _load_settings_fields(self) -> None:
        s = self._settings()
        self.host_edit.setCurrentText(s.host)
        self.port_spin.setValue(s.port)
        self.path_edit.setText(s.path)
        self.forward_edit.setText(s.forward_to or "")
        self.notify_check.setChecked(s.notify_auth_failures)
        self.autostart_check.setChecked(s.enabled)
        self.reject_check.setChecked(s.reject_invalid and s.reject_unsigned)
        self.legacy_check.setChecked(s.accept_legacy_signatures)
        self.public_edit.blockSignals(True)
        self.public_edit.setText(s.public_url or "")
        self.public_edit.blockSignals(False)
        self.reach_toggle.setChecked(not s.public_url)
        self._update_nango_url()
        self._update_bind_warning()

    # -- listener state -------------------------------------------------------------------------------
    @Slot(str, str)
    def _on_state(self, state: str, message: str) -> None:
        color = STATE_COLORS.get(state, "#6e7781")
        if state == LISTENING:
            text = f"Listening on <b>{html.escape(message)}</b>"
        elif state == ERROR:
            text = f"<b>Listener error</b>: {html.escape(message)}"
        elif state == UNAVAILABLE:
            text = html.escape(message)
        else:
            text = "Stopped: webhooks are not being received"
        self.state_label.setText(f"<span style='color:{color}'>●</span> {text}")
        self.state_label.setToolTip(message)
        self.state_label.setProperty("state", state)
        running = state == LISTENING
        self.toggle_button.setText("Stop listener" if running else "Start listener")
        self.toggle_button.setIcon(icons.icon("stop" if running else "play"))
        self.toggle_button.setEnabled(self._listener is not None)
        self.copy_url_button.setEnabled(running)
        if state == ERROR and self._listener is not None:
            self.settings_toggle.setChecked(True)  # the fix is usually there (port, host)
        self._update_bind_warning()
        self._update_target_url()

    @Slot()
    def toggle_listener(self) -> None:
        if self._listener is not None:
            self._listener.toggle()

    def _form_settings(self) -> ListenerSettings | None:
        """The listener settings in the form, validated; None (and an error shown) when invalid."""
        forward_to = self.forward_edit.text().strip() or None
        try:
            if forward_to and urlsplit(forward_to).scheme not in ("http", "https"):
                raise UserError(
                    "Invalid forward URL",
                    f"The forward URL must start with http:// or https://, not {forward_to!r}",
                )
            return ListenerSettings.model_validate(
                self._settings().model_dump()
                | {
                    "host": self.host_edit.currentText().strip() or "127.0.0.1",
                    "port": self.port_spin.value(),
                    "path": self.path_edit.text(),
                    "forward_to": forward_to,
                    "public_url": self.public_edit.text().strip() or None,
                    "notify_auth_failures": self.notify_check.isChecked(),
                    "enabled": self.autostart_check.isChecked(),
                    "reject_invalid": self.reject_check.isChecked(),
                    "reject_unsigned": self.reject_check.isChecked(),
                    "accept_legacy_signatures": self.legacy_check.isChecked(),
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            self._ctx.show_error(UserError("Invalid listener settings", f"{field}: {first.get('msg')}"), self)
        except UserError as exc:
            self._ctx.show_error(exc, self)
        return None

    @Slot()
    def apply_settings(self) -> None:
        """Save the form into the profile (written on a worker) and apply it to the listener (restarted when
        what it listens with changed)."""
        new = self._form_settings()
        profile = self._ctx.profile
        if new is None or profile is None:
            return
        self.path_edit.setText(new.path)
        current = self._listener.settings if self._listener is not None else profile.listener
        if new == profile.listener and new == current:
            return
        profile.listener = new
        self._ctx.save_settings()
        if self._listener is not None:
            self._listener.apply_settings(new)
        self._update_nango_url()
        self._update_target_url()

    @Slot()
    def _update_bind_warning(self) -> None:
        host = self.host_edit.currentText().strip()
        warning = self._listener.warning if self._listener is not None else None
        if not warning and host and not is_loopback(host):
            warning = (
                f"⚠ Binding {host} makes the listener reachable from other machines: anyone who can reach this "
                "port can post events. Prefer 127.0.0.1 behind a tunnel."
            )
        self.bind_warning.setText(warning or "")
        self.bind_warning.setVisible(bool(warning))

    @Slot()
    def _update_nango_url(self) -> None:
        preview = self._settings().model_copy(update={"public_url": self.public_edit.text().strip() or None})
        url = webhook_url_for_nango(preview)
        self.nango_url.setText(url or "")
        self.nango_url.setPlaceholderText("enter your public tunnel URL first")
        self.copy_nango_button.setEnabled(bool(url))

    def _update_target_url(self) -> None:
        s = self._settings()
        listener_url = self._listener.url if self._listener is not None else None
        self.detail.set_target_url(s.forward_to or listener_url)
        self.detail.set_replay_available(
            bool(s.forward_to),
            "Replay to the forward URL, marked as a replay (re-signed only if the event was verified); asks first"
            if s.forward_to
            else "Set a forward URL in the listener settings to replay events",
        )

    @Slot()
    def _copy_listener_url(self) -> None:
        if self._listener is not None and self._listener.url:
            QGuiApplication.clipboard().setText(self._listener.url)

    @Slot()
    def _copy_nango_url(self) -> None:
        if self.nango_url.text():
            QGuiApplication.clipboard().setText(self.nango_url.text())

    # -- filters --------------------------------------------------------------------------------------
    def current_filter(self) -> EventFilter:
        kind = _combo_value(self.type_combo)
        success = _combo_value(self.success_combo)
        return EventFilter(
            type=None if kind == "malformed" else kind,
            malformed=True if kind == "malformed" else None,
            operation=_combo_value(self.operation_combo),
            success=None if success is None else success == "success",
            verification=_combo_value(self.signature_combo),
            integration=_combo_value(self.integration_combo),
            connection_id=self.connection_edit.text().strip() or None,
            pinned=True if self.pinned_check.isChecked() else None,
            search=self.search_edit.text().strip() or None,
        )

    @Slot()
    def _filters_changed_debounced(self) -> None:
        self._filter_timer.start()

    @Slot()
    def _filters_changed(self) -> None:
        self._filter_timer.start(0)

    @Slot()
    def apply_filters(self) -> None:
        self._filter_timer.stop()
        flt = self.current_filter()
        if flt != self.model.filter:
            self.detail.set_event(None)
            self.model.set_filter(flt)

    def clear_filters(self) -> None:
        for combo in (self.type_combo, self.success_combo, self.signature_combo):
            combo.setCurrentIndex(0)
        for combo in (self.operation_combo, self.integration_combo):
            combo.setCurrentIndex(0)
        self.connection_edit.clear()
        self.pinned_check.setChecked(False)
        self.search_edit.clear()
        self.apply_filters()

    def _refresh_integrations(self) -> None:
        if self._store is not None:
            self._ctx.run(self._store.distinct, "integration", on_done=self._set_integrations)

    def _set_integrations(self, values: list[str]) -> None:
        current = self.integration_combo.currentText()
        any_text = self.integration_combo.itemText(0)
        self.integration_combo.blockSignals(True)
        self.integration_combo.clear()
        self.integration_combo.addItem(any_text)
        self.integration_combo.addItems(values)
        self.integration_combo.setCurrentText(current)
        self.integration_combo.blockSignals(False)

    @Slot()
    def _update_count(self) -> None:
        shown = self.model.rowCount()
        more = "+" if self.model.canFetchMore() and shown else ""
        noun = "event" if shown == 1 and not more else "events"
        self.count_label.setText(f"{shown:,}{more} {noun}" if shown or not more else "events loading…")

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
                on_done=lambda rows, i=event_id: self.detail.set_forwards(i, rows),
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
            on_done=lambda count, p=path: self.exportFinished.emit(p, count),
            on_error=self._show_error,
        )

    @Slot(object)
    def _on_load_failed(self, exc: object) -> None:
        self._show_error(exc)

    def _show_error(self, exc: object) -> None:
        self._ctx.show_error(exc, self)

    # -- page protocol --------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.model.reload()
        self._refresh_integrations()

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()


class RecentEventsWidget(QWidget):
    """The latest webhook events of one connection (for the connection detail). Click opens the inspector."""

    LIMIT = 20

    def __init__(self, ctx: AppContext, connection_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recentWebhookEvents")
        self._ctx = ctx
        self.connection_id = connection_id
        self.list = QListWidget()
        self.list.setObjectName("recentWebhookEventsList")
        self.list.itemClicked.connect(self._open)
        self.empty = QLabel("No webhooks received for this connection yet.")
        self.empty.setObjectName("recentWebhookEventsEmpty")
        self.empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        listener = getattr(ctx, "listener", None)
        if listener is not None:
            listener.eventsReceived.connect(self._on_events)
        self.refresh()

    def refresh(self) -> None:
        store = getattr(self._ctx, "event_store", None)
        if store is None:
            self._show([])
            return
        flt = EventFilter(connection_id=self.connection_id)
        self._ctx.run(store.list, self.LIMIT, 0, flt, on_done=self._show)

    def _show(self, events: list[StoredEvent]) -> None:
        self.list.clear()
        for event in events:
            self._add(event, at_top=False)
        self._update_empty()

    def _add(self, event: StoredEvent, *, at_top: bool) -> None:
        item = QListWidgetItem(m.event_summary_line(event))
        item.setData(m.EventIdRole, event.id)
        item.setToolTip(event.verification.describe())
        color = m.SIGNATURE_COLOR.get(event.verification.status)
        if event.summary is not None and event.summary.success is False:
            color = m.FAILURE_COLOR
        if color is not None and color != m.SIGNATURE_COLOR.get(VerificationStatus.VERIFIED):
            item.setForeground(color)
        if at_top:
            self.list.insertItem(0, item)
            while self.list.count() > self.LIMIT:
                self.list.takeItem(self.list.count() - 1)
        else:
            self.list.addItem(item)

    def _update_empty(self) -> None:
        self.empty.setVisible(self.list.count() == 0)
        self.list.setVisible(self.list.count() > 0)

    @Slot(object)
    def _on_events(self, batch: object) -> None:
        mine = [
            e
            for e, duplicate in batch  # type: ignore[attr-defined]
            if not duplicate and e.summary is not None and e.summary.connection_id == self.connection_id
        ]
        for event in mine:
            self._add(event, at_top=True)
        if mine:
            self._update_empty()

    @Slot(QListWidgetItem)
    def _open(self, item: QListWidgetItem) -> None:
        self._ctx.navigate("webhooks", event_id=item.data(m.EventIdRole))
