"""ProfileDialog: create (first run) or edit a profile.

Fields: name, API URL, environment label, production flag, API key, webhook signing key, listener host
and port. "Test and save" checks the key with a real call (``list_connections(limit=1)``) on a worker
thread, showing progress and Nango's error title/detail on failure, then stores the keys in the keyring
(also on a worker). When the keyring refuses, the dialog offers to keep the keys in memory for this run
only. The keyring backend is named ("Keys are stored in: Secret Service (GNOME Keyring)").

When editing, empty key fields keep the stored keys. The dialog never writes settings itself; the caller
gets a ``ProfileResult`` (``ProfileDialog.ask``) and saves it through ``AppContext.upsert_profile``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pydantic import ValidationError
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.qtutil.errors import describe_error
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import MissingScopeError
from nango_desktop.services.secrets import SecretKind, SecretStoreUnavailable
from nango_desktop.settings import DEFAULT_API_URL, Profile
from nango_desktop.ui import icons
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.widgets import BusyBar

ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass
class ProfileResult:
    profile: Profile
    old_name: str | None  # the name before editing (rename), None for a new profile
    in_memory: bool  # keys kept for this run only


def _secret_field(parent: QWidget, name: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    edit.setInputMethodHints(Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData)
    reveal = edit.addAction(icons.icon("reveal"), QLineEdit.ActionPosition.TrailingPosition)
    reveal.setCheckable(True)
    reveal.setToolTip("Show / hide")
    reveal.toggled.connect(
        lambda on: edit.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
    )
    return edit


class ProfileDialog(QDialog):
    def __init__(
        self, ctx: AppContext, parent: QWidget | None = None, profile: Profile | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.original = profile
        self.result_profile: ProfileResult | None = None
        self._task: Task | None = None
        self._pending: Profile | None = None
        self.setObjectName("profileDialog")
        self.setWindowTitle("Edit profile" if profile else "New profile")
        self.setMinimumWidth(520)

        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("profileName")
        self.name_edit.setPlaceholderText("e.g. Acme dev")
        self.url_edit = QLineEdit(DEFAULT_API_URL, self)
        self.url_edit.setObjectName("profileApiUrl")
        self.env_combo = QComboBox(self)
        self.env_combo.setObjectName("profileEnvironment")
        self.env_combo.setEditable(True)
        self.env_combo.addItems(ENVIRONMENTS)
        self.production_check = QCheckBox("Production environment (extra confirmations, red banner)", self)
        self.production_check.setObjectName("profileProduction")
        self.env_combo.currentTextChanged.connect(self._environment_changed)
        editing = profile is not None
        keep = "leave empty to keep the stored key" if editing else ""
        self.key_edit = _secret_field(self, "profileApiKey", keep or "environment secret key (required)")
        self.signing_edit = _secret_field(self, "profileSigningKey", keep or "webhook signing key (optional)")
        self.keyring_label = QLabel("Keys are stored in: checking…", self)
        self.keyring_label.setObjectName("keyringBackendLabel")
        self.keyring_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("&Name", self.name_edit)
        form.addRow("API &URL", self.url_edit)
        form.addRow("&Environment", self.env_combo)
        form.addRow("", self.production_check)
        form.addRow("API &key", self.key_edit)
        form.addRow("&Signing key", self.signing_edit)
        form.addRow("", self.keyring_label)

        listener_box = QGroupBox("Webhook listener", self)
        self.host_edit = QLineEdit("127.0.0.1", listener_box)
        self.host_edit.setObjectName("profileListenerHost")
        self.port_spin = QSpinBox(listener_box)
        self.port_spin.setObjectName("profileListenerPort")
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText("any free port")
        listener_form = QFormLayout(listener_box)
        listener_form.addRow("&Host", self.host_edit)
        listener_form.addRow("&Port", self.port_spin)

        self.status_label = QLabel(self)
        self.status_label.setObjectName("profileStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.hide()
        self.busy = BusyBar(self)
        self.memory_button = QPushButton("Keep in memory for this run only", self)
        self.memory_button.setObjectName("profileKeepInMemory")
        self.memory_button.hide()
        self.memory_button.clicked.connect(self.keep_in_memory)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.save_button = self.buttons.addButton("Test and save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("profileSave")
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self.test_and_save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(listener_box)
        layout.addWidget(self.status_label)
        layout.addWidget(self.busy)
        row = QHBoxLayout()
        row.addWidget(self.memory_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.buttons)

        listener = profile.listener if profile else None
        if profile is not None:
            self.name_edit.setText(profile.name)
            self.url_edit.setText(profile.api_url)
            self.env_combo.setCurrentText(profile.environment)
            self.production_check.setChecked(profile.production)
        self.host_edit.setText(listener.host if listener else "127.0.0.1")
        self.port_spin.setValue(listener.port if listener else Profile(name="x").listener.port)
        self._backend_task = ctx.run(
            self._probe_keyring, on_done=self._show_backend, on_error=self._show_backend
        )

    # -- keyring backend ---------------------------------------------------------------------------------
    def _probe_keyring(self) -> tuple[str, bool]:  # worker: may talk to D-Bus
        return self.ctx.secrets.backend_name, self.ctx.secrets.is_secure

    @Slot(object)
    def _show_backend(self, result: object) -> None:
        if isinstance(result, tuple):
            name, secure = result
            text = f"Keys are stored in: {name}"
            if not secure:
                text += " — not a secure keyring; keys can only be kept in memory for this run."
        else:
            text = f"Keyring: {describe_error(result)[0]}"  # type: ignore[arg-type]
        self.keyring_label.setText(text)

    @Slot(str)
    def _environment_changed(self, text: str) -> None:
        if text.strip().lower() in ("prod", "production"):
            self.production_check.setChecked(True)

    # -- validation ----------------------------------------------------------------------------------
    def build_profile(self) -> Profile:
        """The profile described by the form; raises ValueError with a readable message."""
        base = self.original.model_dump() if self.original else {}
        listener = dict(base.get("listener") or {})
        listener.update(host=self.host_edit.text().strip() or "127.0.0.1", port=self.port_spin.value())
        names = {p.name for p in self.ctx.settings.profiles} - (
            {self.original.name} if self.original else set()
        )
        name = self.name_edit.text().strip()
        if name in names:
            raise ValueError(f"A profile named “{name}” already exists")
        base.update(
            name=name,
            api_url=self.url_edit.text().strip(),
            environment=self.env_combo.currentText().strip() or "dev",
            production=self.production_check.isChecked(),
            listener=listener,
        )
        try:
            return Profile.model_validate(base)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or "profile"
            raise ValueError(f"{field}: {first.get('msg', '').removeprefix('Value error, ')}") from None

    def _show_status(self, html: str, kind: str = "info") -> None:
        color = icons.STATUS_COLORS.get(kind)
        style = f" style='color:{color}'" if color else ""
        self.status_label.setText(f"<span{style}>{html}</span>")
        self.status_label.show()

    def _set_busy(self, busy: bool, message: str = "") -> None:
        for widget in (self.save_button, self.name_edit, self.url_edit, self.key_edit, self.signing_edit):
            widget.setEnabled(not busy)
        if busy:
            self.busy.start(message, self._task.cancel_event if self._task else None)
        else:
            self.busy.finish()

    @Slot()
    def test_and_save(self) -> None:
        """Validate the form, then test the key against the API on a worker."""
        self.memory_button.hide()
        try:
            profile = self.build_profile()
        except ValueError as exc:
            self._show_status(_esc(str(exc)), "error")
            return
        key = self.key_edit.text().strip()
        if not key and self.original is None:
            self._show_status("Enter the environment's API key (secret key).", "error")
            self.key_edit.setFocus()
            return
        self._pending = profile
        self._task = Task(self._check_key, profile, key, on_done=self._checked, on_error=self._check_failed)
        self._set_busy(True, f"Checking the key against {profile.api_url}…")
        self.status_label.hide()
        self._task.start()

    def _check_key(self, profile: Profile, key: str, cancel: threading.Event) -> str | None:  # worker
        if not key and self.original is not None:
            key = self.ctx.api_key(self.original.name)
        client = self.ctx.make_client(profile.api_url, key, timeout=15.0, max_retries=1)
        try:
            client.list_connections(limit=1)
        except MissingScopeError as exc:  # the key is valid; it just cannot list connections
            return exc.title
        finally:
            getattr(client, "really_close", client.close)()
        return None

    @Slot(object)
    def _checked(self, warning: object) -> None:
        self._set_busy(False)
        note = f"Key accepted (note: {_esc(str(warning))})." if warning else "Key accepted."
        self._show_status(note, "ok")
        self._store_keys()

    @Slot(object)
    def _check_failed(self, exc: object) -> None:
        self._set_busy(False)
        title, detail = describe_error(exc)  # type: ignore[arg-type]
        self._show_status(f"<b>{_esc(title)}</b><br>{_esc(detail)}", "error")

    def _keys(self) -> list[tuple[SecretKind, str]]:
        pairs = [
            (SecretKind.API_KEY, self.key_edit.text().strip()),
            (SecretKind.SIGNING_KEY, self.signing_edit.text().strip()),
        ]
        return [(kind, value) for kind, value in pairs if value]

    def _store_keys(self) -> None:
        assert self._pending is not None
        self._task = Task(
            self._store, self._pending.name, self._keys(), on_done=self._stored, on_error=self._store_failed
        )
        self._set_busy(True, f"Saving the keys in {self.ctx.secrets.backend_name}…")
        self._task.start()

    def _store(self, name: str, keys: list[tuple[SecretKind, str]]) -> None:  # worker
        secrets = self.ctx.secrets
        if self.original is not None and self.original.name != name:
            secrets.rename_profile(self.original.name, name)
        for kind, value in keys:
            secrets.set(name, kind, value)

    @Slot(object)
    def _stored(self, _result: object) -> None:
        self._finish(in_memory=False)

    @Slot(object)
    def _store_failed(self, exc: object) -> None:
        self._set_busy(False)
        title, detail = describe_error(exc)  # type: ignore[arg-type]
        self._show_status(
            f"<b>{_esc(title)}</b><br>{_esc(detail)}<br>The key works, but it could not be saved.", "warning"
        )
        if isinstance(exc, SecretStoreUnavailable):
            self.memory_button.show()

    @Slot()
    def keep_in_memory(self) -> None:
        """Use the keys for this run only (the keyring refused them)."""
        assert self._pending is not None
        for kind, value in self._keys():
            self.ctx.secrets.keep_in_memory(self._pending.name, kind, value)
        self._finish(in_memory=True)

    def _finish(self, *, in_memory: bool) -> None:
        assert self._pending is not None
        key = self.key_edit.text().strip()
        if key:
            self.ctx.cache_key(self._pending.name, key)
        elif self.original is not None and self.original.name != self._pending.name:
            old = self.ctx.cached_key(self.original.name)
            if old:
                self.ctx.cache_key(self._pending.name, old)
        self.key_edit.clear()
        self.signing_edit.clear()
        self.result_profile = ProfileResult(
            self._pending, self.original.name if self.original else None, in_memory
        )
        self.accept()

    def reject(self) -> None:
        if self._task is not None and not self._task.finished:
            self._task.cancel()
        self.key_edit.clear()
        self.signing_edit.clear()
        super().reject()

    @classmethod
    def ask(
        cls, ctx: AppContext, parent: QWidget | None = None, profile: Profile | None = None
    ) -> ProfileResult | None:
        """Modal; the result, or None when cancelled. Tests monkeypatch this."""
        dialog = cls(ctx, parent, profile)
        try:
            return dialog.result_profile if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()


def _esc(text: str) -> str:
    from html import escape

    return escape(text)
