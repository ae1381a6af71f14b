"""The listener panel of the Webhooks page (a mixin of ``WebhooksPage``): the listener's state and Start/Stop,
its bind settings (with a warning for non-loopback addresses), and how Nango can reach it (public tunnel URL +
path, with copy buttons)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import ValidationError
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.session.listener import (
    ERROR,
    LISTENING,
    ListenerController,
    UserError,
    is_loopback,
    webhook_url_for_nango,
)
from nango_desktop.settings import ListenerSettings
from nango_desktop.ui import icons, theme
from nango_desktop.ui.webhooks.limits import ListenerLimits

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext
    from nango_desktop.ui.webhooks.detail import EventDetail


if TYPE_CHECKING:
    _Base = QWidget
else:
    _Base = object

UNAVAILABLE = "unavailable"  # no profile, so no listener
STATE_COLORS = {LISTENING: theme.SUCCESS_GREEN, ERROR: theme.FAILURE_RED}

REACHABILITY_TEXT = (
    "Nango Cloud never delivers webhooks to localhost, 127.0.0.1 or private network addresses. Run a "
    "tunnel (ngrok, cloudflared, …) that forwards a public HTTPS URL to this listener, enter that URL "
    "below, and configure the resulting URL in Nango: in the environment's webhook settings, or per "
    "connection with <code>webhook_url_override</code> (Connections → Settings) to receive only one "
    "connection's webhooks here."
)


def copy_button(tip: str, name: str) -> QToolButton:
    button = QToolButton()
    button.setIcon(icons.icon("copy"))
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setAutoRaise(True)
    button.setObjectName(name)
    return button


class ListenerPanel(_Base):
    """Listener state, settings and reachability (``WebhooksPage`` provides ``_ctx``, ``_listener``, ...)."""

    _ctx: AppContext
    _listener: ListenerController | None
    detail: EventDetail
    state_label: QLabel
    toggle_button: QPushButton
    copy_url_button: QToolButton
    settings_toggle: QToolButton
    reach_toggle: QToolButton

    if TYPE_CHECKING:

        def open_rotate_key(self) -> QWidget | None: ...

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
        self.bind_warning.setStyleSheet(f"color: {theme.CAUTION_ORANGE};")
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
        self.limits = ListenerLimits()  # collapsed "Advanced: limits" group (ui/webhooks/limits.py)
        box.addWidget(self.limits)
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
        self.copy_nango_button = copy_button("Copy the URL to configure in Nango", "listenerCopyNangoUrl")
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

    def _current_state(self) -> tuple[str, str]:
        if self._listener is None:
            return UNAVAILABLE, "No profile: create or choose one (File menu) to receive webhooks"
        return self._listener.state, self._listener.message

    def _settings(self) -> ListenerSettings:
        if self._listener is not None:
            return self._listener.settings
        profile = self._ctx.profile
        return profile.listener if profile is not None else ListenerSettings.model_validate({})

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
        self.limits.load(s)
        self.public_edit.blockSignals(True)
        self.public_edit.setText(s.public_url or "")
        self.public_edit.blockSignals(False)
        self.reach_toggle.setChecked(not s.public_url)
        self._update_nango_url()
        self._update_bind_warning()

    # -- listener state -------------------------------------------------------------------------------
    @Slot(str, str)
    def _on_state(self, state: str, message: str) -> None:
        color = STATE_COLORS.get(state, theme.MUTED_GREY)
        problem = self._listener.storage_problem if state == LISTENING and self._listener else ""
        if problem:  # full disk, read-only or locked store: Nango gets 503 and retries
            text, color = f"<b>Listening, not storing</b>: {html.escape(problem)}", STATE_COLORS[ERROR]
        elif state == LISTENING:
            text = f"Listening on <b>{html.escape(message)}</b>"
        elif state == ERROR:
            text = f"<b>Listener error</b>: {html.escape(message)}"
        elif state == UNAVAILABLE:
            text = html.escape(message)
        else:
            text = "Stopped: webhooks are not being received"
        self.state_label.setText(f"<span style='color:{color}'>●</span> {text}")
        self.state_label.setToolTip(problem or message)
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
                | self.limits.values()
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
