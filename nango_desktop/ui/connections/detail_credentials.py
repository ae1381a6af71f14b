"""The Credentials & config panel of the connection detail (a mixin of ``ConnectionDetail``).

GET /connections/{id} returns the credentials and Nango may *refresh* them when they are read, so the full
connection (credentials, connection config, updated, webhook URL override) is fetched only on "Show
credentials" (the ``load_connection`` operation) — unless the profile's key lacks the read_credentials scope
(a support agent's key, as NOTES.md recommends): Nango then answers without credentials and refreshes nothing,
so once that is seen the details load on selection, without a click. The webhook URL override is editable once its current value
is on screen (``set_webhook_override``; removing it asks first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.models import MASK, ConnectionFull
from nango_desktop.services.errors import RefreshFailedError
from nango_desktop.session import operations
from nango_desktop.ui import icons
from nango_desktop.ui.connections.detail_widgets import DetailPanel, json_text, make_button, make_label, when
from nango_desktop.ui.connections.model import key_of

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

CREDENTIALS_WARNING = (
    "Credentials are not loaded yet. Reading them calls GET /connections/{id}, and Nango refreshes an "
    "expired access token when it is read — so only load them when you need them."
)
NO_SCOPE_NOTE = (
    "This profile's API key cannot read credentials (no read_credentials scope), so Nango answers "
    "GET /connections/{id} without them and without refreshing anything: the details load by themselves."
)


def _keys_without_credentials(ctx: AppContext) -> set[str]:
    """Profiles whose key was seen to lack the read_credentials scope (``AppContext.keys_without_credentials``)."""
    return ctx.keys_without_credentials


class SecretField(QWidget):
    """One credential: masked until revealed, copy on demand. The clear value is read only for those."""

    def __init__(self, name: str, getter: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"credential_{name}")
        self._getter = getter
        self.edit = QLineEdit(MASK)
        self.edit.setReadOnly(True)
        self.reveal = QToolButton()
        self.reveal.setObjectName(f"credentialReveal_{name}")
        self.reveal.setCheckable(True)
        self.reveal.setIcon(icons.icon("reveal"))
        self.reveal.setToolTip("Reveal")
        self.reveal.toggled.connect(self._toggle)
        copy = QToolButton()
        copy.setObjectName(f"credentialCopy_{name}")
        copy.setIcon(icons.icon("copy"))
        copy.setToolTip("Copy to the clipboard")
        copy.clicked.connect(self.copy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.reveal)
        layout.addWidget(copy)

    @Slot(bool)
    def _toggle(self, on: bool) -> None:
        self.edit.setText((self._getter() or "") if on else MASK)
        self.reveal.setIcon(icons.icon("hide" if on else "reveal"))
        self.reveal.setToolTip("Hide" if on else "Reveal")

    @Slot()
    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self._getter() or "")


class CredentialsPanel(DetailPanel):
    full: ConnectionFull | None
    auth_tab: QWidget
    _override_loaded: bool
    _override_current: str | None

    def _build_auth(self) -> QWidget:
        inner = QWidget()
        self.credentials_hint = make_label("detailCredentialsHint", CREDENTIALS_WARNING)
        self.show_credentials_button = make_button(
            "detailShowCredentials",
            "Show credentials",
            "key",
            self.load_full,
            "GET /connections/{id}: may refresh an expired token",
        )
        self.credentials_box = QWidget()
        self.credentials_box.setObjectName("detailCredentials")
        self.credentials_form = QFormLayout(self.credentials_box)
        self.credentials_form.setContentsMargins(0, 0, 0, 0)
        self.expiry = make_label("detailCredentialsExpiry")
        self.connection_config = QPlainTextEdit()
        self.connection_config.setObjectName("detailConnectionConfig")
        self.connection_config.setReadOnly(True)
        self.connection_config.setMaximumHeight(120)
        self.webhook_override = QLineEdit()
        self.webhook_override.setObjectName("detailWebhookOverride")
        self.webhook_override.setPlaceholderText("https://… (empty: the environment's webhook URL)")
        self.webhook_save = make_button("detailWebhookSave", "Save", None, self.save_webhook_override)
        self.webhook_remove = make_button(
            "detailWebhookRemove",
            "Remove override…",
            None,
            self.remove_webhook_override,
            "Use the environment's webhook URL for this connection again (asks first)",
        )
        webhook_row = QHBoxLayout()
        webhook_row.addWidget(self.webhook_override, 1)
        webhook_row.addWidget(self.webhook_save)
        webhook_row.addWidget(self.webhook_remove)
        self._set_override_editable(False, None)
        self.webhook_hint = make_label("detailWebhookHint")
        self.full_info = make_label("detailFullInfo")
        layout = QVBoxLayout(inner)
        layout.addWidget(self.credentials_hint)
        layout.addWidget(self.show_credentials_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.expiry)
        layout.addWidget(self.credentials_box)
        layout.addWidget(self.full_info)
        layout.addWidget(QLabel("<b>Connection config</b>"))
        layout.addWidget(self.connection_config)
        layout.addWidget(QLabel("<b>Webhook URL override</b>"))
        layout.addLayout(webhook_row)
        layout.addWidget(self.webhook_hint)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        return scroll

    def _credential(self, name: str) -> str | None:
        return self.full.credential(name) if self.full else None

    def _set_full(self, full: ConnectionFull | None) -> None:
        self.full = full
        while self.credentials_form.rowCount():
            self.credentials_form.removeRow(0)
        self.credentials_hint.setVisible(full is None)
        self.credentials_box.setVisible(full is not None)
        self.show_credentials_button.setText("Show credentials" if full is None else "Reload credentials")
        if full is None:
            if self._profile_name() in _keys_without_credentials(self.ctx) and self.connection is not None:
                self.credentials_hint.setText(NO_SCOPE_NOTE)
                QTimer.singleShot(0, self, self._auto_load_details)  # safe: this key never triggers a refresh
            else:
                self.credentials_hint.setText(CREDENTIALS_WARNING)
            self.expiry.setText("")
            self.full_info.setText("")
            self.connection_config.setPlainText("(loaded with the credentials)")
            self.webhook_override.setText("")
            # not editable before the current value is on screen: a Save on the empty, not yet loaded field
            # used to erase an existing override on the server
            self._set_override_editable(False, None)
            self.webhook_hint.setText(
                "The current override is shown (and can be edited) once the credentials are loaded."
            )
            self.info_labels["updated"].setText("— (loaded with the credentials)")
            return
        if not full.credentials:  # Nango left them out: the key lacks read_credentials (reads never refresh)
            _keys_without_credentials(self.ctx).add(self._profile_name() or "")
            self.credentials_form.addRow(make_label("detailNoCredentials", NO_SCOPE_NOTE))
        for name, masked in full.credentials_masked().items():
            if masked == MASK:
                field = SecretField(name, partial(self._credential, name))
                self.credentials_form.addRow(name, field)
            else:
                self.credentials_form.addRow(name, make_label(f"credential_{name}", masked))
        expires = full.credentials_expires_at
        if expires is None:
            self.expiry.setText("Expiry: none (the token does not expire or is not OAuth)")
        else:
            left = expires - datetime.now(UTC) if expires.tzinfo else None
            state = (
                "" if left is None else (" — EXPIRED" if left.total_seconds() < 0 else f" — in {_ago(left)}")
            )
            self.expiry.setText(f"Expires {when(expires)}{state}")
        self.full_info.setText(
            f"Type: {full.credentials_type or '—'} · last fetched {when(full.last_fetched_at)}"
        )
        self.connection_config.setPlainText(json_text(full.connection_config))
        self.webhook_override.setText(full.webhook_url_override or "")
        self._set_override_editable(True, full.webhook_url_override or None)
        self.webhook_hint.setText(
            "" if full.webhook_url_override else "No override: the environment's URL is used."
        )
        self.info_labels["updated"].setText(when(full.updated_at))

    # -- credentials, webhook override ------------------------------------------------------------------
    def _profile_name(self) -> str | None:
        profile = getattr(self.ctx, "profile", None)
        return getattr(profile, "name", None)

    @Slot()
    def _auto_load_details(self) -> None:
        if (
            self.full is None
            and self.connection is not None
            and self._profile_name() in _keys_without_credentials(self.ctx)
        ):
            self.load_full()

    @Slot()
    def load_full(self, *, force_refresh: bool = False) -> None:
        conn = self.connection
        if conn is None:
            return
        cid, iid = key_of(conn)

        def done(full: ConnectionFull) -> None:
            if not self._is_current(cid, iid):
                return
            self.notice.hide()
            self._set_full(full)
            if force_refresh:
                self.ctx.notify("Credentials refreshed", f"{cid}: {self.expiry.text()}")
                # (a successful refresh clears Nango's auth error: the op's change notice re-reads the row)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, RefreshFailedError) and self._is_current(cid, iid):
                # back-off (wait, then retry), exhausted (reconnect link) or what Nango said
                self.show_notice(exc.banner, state=exc.state)
            self._show_error(exc)

        message = "Refreshing credentials…" if force_refresh else "Loading credentials…"
        op = operations.load_connection(self.ctx.session, conn, force_refresh=force_refresh, parent=self)
        op.success(done).failure(failed).run(busy=self.busy, message=message)

    @Slot()
    def retry_credentials(self) -> None:
        self.load_full()

    @Slot()
    def refresh_credentials(self) -> None:
        self.tabs.setCurrentWidget(self.auth_tab)
        self.load_full(force_refresh=True)

    @Slot()
    def _set_override_editable(self, loaded: bool, current: str | None) -> None:
        self._override_loaded, self._override_current = loaded, current
        self.webhook_override.setEnabled(loaded)
        self.webhook_save.setEnabled(loaded)
        self.webhook_remove.setEnabled(loaded and bool(current))

    @staticmethod
    def confirm_remove_override(parent: QWidget, connection_id: str, current: str) -> bool:
        """Ask before removing an override; tests monkeypatch this."""
        from PySide6.QtWidgets import QMessageBox

        answer = QMessageBox.question(
            parent,
            "Remove the webhook URL override?",
            f"Webhooks of {connection_id} go to {current} now. Remove this override so they go to the "
            "environment's webhook URL?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def remove_webhook_override(self) -> None:
        conn, current = self.connection, getattr(self, "_override_current", None)
        if conn is None or not getattr(self, "_override_loaded", False) or not current:
            return
        if not self.confirm_remove_override(self, conn.connection_id, current):
            return
        self._patch_override(conn, "")

    @Slot()
    def save_webhook_override(self) -> None:
        conn = self.connection
        if conn is None:
            return
        if not getattr(self, "_override_loaded", False):
            self.webhook_hint.setText("Load the credentials first: the current override is shown with them.")
            return
        url = self.webhook_override.text().strip()
        if url and not url.startswith(("https://", "http://")):
            self.webhook_hint.setText("The URL must start with https:// or http://")
            return
        if not url:
            self.webhook_hint.setText(
                "To go back to the environment's URL, use Remove override."
                if self._override_current
                else "No override to save: the environment's URL is used."
            )
            return
        self._patch_override(conn, url)

    def _patch_override(self, conn: Any, url: str) -> None:
        cid, iid = key_of(conn)

        def done(_result: object) -> None:
            if self._is_current(cid, iid):
                self._set_override_editable(True, url or None)
                if not url:
                    self.webhook_override.setText("")
                self.webhook_hint.setText(
                    "Saved." if url else "Override removed: the environment's URL is used."
                )

        op = operations.set_webhook_override(self.ctx.session, conn, url, parent=self)
        op.success(done).failure(self._show_error).run(busy=self.busy, message="Saving the webhook URL…")


def _ago(delta: Any) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"
