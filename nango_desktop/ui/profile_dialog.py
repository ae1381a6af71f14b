"""ProfileDialog: create (first run) or edit a profile.

Fields: name, API URL, environment label, production flag, API key, webhook signing key, listener host
and port. "Test and save" checks the key with a real call (``list_connections(limit=1)``) on a worker
thread, showing progress and Nango's error title/detail on failure, then stores the keys in the keyring
(also on a worker). When the keyring refuses, the dialog offers to keep the keys in memory for this run
only. The keyring backend is named ("Keys are stored in: Secret Service (GNOME Keyring)").

Form problems are marked under each field (``FormErrors``: field -> message), all at once, in reserved lines
that never move the fields; the status line only says how many fields need attention. The dashboard URL
("Open in Nango" links) defaults to Nango Cloud's, or the server itself for a self-hosted API.

When editing, empty key fields keep the stored keys. The dialog never writes settings itself; the caller
gets a ``ProfileResult`` (``ProfileDialog.ask``) and saves it through ``AppContext.upsert_profile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from nango_desktop.services.secrets import SecretKind, SecretStoreUnavailable
from nango_desktop.session import operations
from nango_desktop.settings import DEFAULT_API_URL, DEFAULT_DASHBOARD_URL, Profile
from nango_desktop.ui import icons
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.forms import FieldMessage
from nango_desktop.ui.widgets import BusyBar

ENVIRONMENTS = ("dev", "staging", "prod")


FIELD_LABELS = {
    "name": "Name",
    "api_url": "API URL",
    "dashboard_url": "Dashboard URL",
    "environment": "Environment",
    "api_key": "API key",
    "host": "Listener host",
    "port": "Listener port",
}


class FormErrors(ValueError):
    """Problems of the form, by field (keys of FIELD_LABELS); str() lists them as "Field: message"."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{FIELD_LABELS.get(k, k)}: {m}" for k, m in errors.items()))


def _field_of(loc: tuple) -> str:
    """A pydantic error location -> our field key (``("listener", "port")`` -> ``"port"``)."""
    parts = [str(p) for p in loc]
    if parts[:1] == ["listener"] and len(parts) > 1:
        return parts[1]
    return parts[0] if parts else "name"


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
        self.dashboard_edit = QLineEdit(self)
        self.dashboard_edit.setObjectName("profileDashboardUrl")
        self.dashboard_edit.setToolTip(
            "Where “Open in Nango” links go. Empty: Nango Cloud's dashboard for the cloud API, the server "
            "itself for a self-hosted one."
        )
        self.url_edit.textChanged.connect(self._update_dashboard_placeholder)
        self._update_dashboard_placeholder()
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

        self.field_messages: dict[str, FieldMessage] = {
            key: FieldMessage(f"profileError_{key}", self) for key in FIELD_LABELS
        }

        def with_message(widget: QWidget, key: str) -> QVBoxLayout:
            column = QVBoxLayout()
            column.setSpacing(0)
            column.addWidget(widget)
            column.addWidget(self.field_messages[key])
            return column

        form = QFormLayout()
        form.addRow("&Name", with_message(self.name_edit, "name"))
        form.addRow("API &URL", with_message(self.url_edit, "api_url"))
        form.addRow("&Dashboard URL", with_message(self.dashboard_edit, "dashboard_url"))
        form.addRow("&Environment", with_message(self.env_combo, "environment"))
        form.addRow("", self.production_check)
        form.addRow("API &key", with_message(self.key_edit, "api_key"))
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
        listener_form.addRow("&Host", with_message(self.host_edit, "host"))
        listener_form.addRow("&Port", with_message(self.port_spin, "port"))

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
        layout.addWidget(self._build_limits_box(profile or Profile(name="x")))
        layout.addWidget(self.status_label)
        layout.addWidget(self.busy)
        row = QHBoxLayout()
        row.addWidget(self.memory_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.buttons)

        if profile is not None:
            self.name_edit.setText(profile.name)
            self.url_edit.setText(profile.api_url)
            self.dashboard_edit.setText(profile.dashboard_url or "")
            self.env_combo.setCurrentText(profile.environment)
            self.production_check.setChecked(profile.production)
        self.host_edit.setText((profile or Profile(name="x")).listener.host)
        self.port_spin.setValue((profile or Profile(name="x")).listener.port)
        self._backend_task = ctx.run(
            self._probe_keyring, on_done=self._show_backend, on_error=self._show_backend
        )

    def _build_limits_box(self, values: Profile) -> QGroupBox:
        """Row ceiling of connection listings and per-call deadline (issue 18), set to ``values``'."""
        limits_box = QGroupBox("API calls", self)
        self.max_rows_spin = QSpinBox(limits_box)
        self.max_rows_spin.setObjectName("profileMaxConnectionRows")
        self.max_rows_spin.setRange(0, 100_000_000)
        self.max_rows_spin.setSingleStep(100_000)
        self.max_rows_spin.setGroupSeparatorShown(True)
        self.max_rows_spin.setSpecialValueText("no ceiling")
        self.max_rows_spin.setSuffix(" connections")
        self.max_rows_spin.setToolTip(
            "A listing of connections stops with an error past this many rows (a server whose pages never "
            "end cannot take all memory). 0: no ceiling."
        )
        self.deadline_spin = QSpinBox(limits_box)
        self.deadline_spin.setObjectName("profileRequestDeadline")
        self.deadline_spin.setRange(1, 3600)
        self.deadline_spin.setSuffix(" s")
        self.deadline_spin.setToolTip(
            "Total time one API call may take, retries and waits included; then it fails saying so."
        )
        limits_form = QFormLayout(limits_box)
        limits_form.addRow("&Row ceiling", self.max_rows_spin)
        limits_form.addRow("Call &deadline", self.deadline_spin)
        self.max_rows_spin.setValue(values.max_connection_rows)
        self.deadline_spin.setValue(round(values.request_deadline))
        return limits_box

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

    @Slot()
    def _update_dashboard_placeholder(self) -> None:
        try:
            probe = Profile(name="x", api_url=self.url_edit.text().strip() or DEFAULT_API_URL)
        except ValidationError:
            base = DEFAULT_DASHBOARD_URL
        else:
            base = probe.dashboard_base
        self.dashboard_edit.setPlaceholderText(f"{base} (default)")

    @Slot(str)
    def _environment_changed(self, text: str) -> None:
        if text.strip().lower() in ("prod", "production"):
            self.production_check.setChecked(True)

    # -- validation ----------------------------------------------------------------------------------
    def build_profile(self) -> Profile:
        """The profile described by the form; raises FormErrors (a ValueError) naming every bad field."""
        base = self.original.model_dump() if self.original else {}
        listener = dict(base.get("listener") or {})
        listener.update(host=self.host_edit.text().strip() or "127.0.0.1", port=self.port_spin.value())
        names = {p.name for p in self.ctx.settings.profiles} - (
            {self.original.name} if self.original else set()
        )
        name = self.name_edit.text().strip()
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = "Required: a name for this profile, e.g. “Acme dev”."
        elif name in names:
            errors["name"] = f"A profile named “{name}” already exists."
        if not self.url_edit.text().strip():
            errors["api_url"] = "Required: e.g. https://api.nango.dev, or your server's URL."
        base.update(
            name=name or "unnamed",
            api_url=self.url_edit.text().strip() or DEFAULT_API_URL,
            dashboard_url=self.dashboard_edit.text().strip() or None,
            environment=self.env_combo.currentText().strip() or "dev",
            production=self.production_check.isChecked(),
            listener=listener,
            max_connection_rows=self.max_rows_spin.value(),
            request_deadline=float(self.deadline_spin.value()),
        )
        try:
            profile = Profile.model_validate(base)
        except ValidationError as exc:
            for error in exc.errors():
                field = _field_of(tuple(error.get("loc", ())))
                message = str(error.get("msg", "")).removeprefix("Value error, ")
                errors.setdefault(field, message[:1].upper() + message[1:])
            profile = None
        if errors or profile is None:
            raise FormErrors(errors)
        return profile

    def show_field_errors(self, errors: dict[str, str]) -> None:
        """Mark each field's problem under it (and clear the others); focus the first bad field."""
        for key, label in self.field_messages.items():
            label.set_message(errors.get(key))
        widgets = {
            "name": self.name_edit,
            "api_url": self.url_edit,
            "dashboard_url": self.dashboard_edit,
            "environment": self.env_combo,
            "api_key": self.key_edit,
            "host": self.host_edit,
            "port": self.port_spin,
        }
        first = next((widgets[k] for k in FIELD_LABELS if k in errors and k in widgets), None)
        if first is not None:
            first.setFocus()

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
        errors: dict[str, str] = {}
        profile: Profile | None = None
        try:
            profile = self.build_profile()
        except FormErrors as exc:
            errors.update(exc.errors)
        key = self.key_edit.text().strip()
        if not key and self.original is None:
            errors["api_key"] = "Required: the environment's API key (secret key)."
        self.show_field_errors(errors)
        if errors or profile is None:
            count = len(errors)
            fields = ", ".join(FIELD_LABELS.get(k, k) for k in errors)
            self._show_status(
                _esc(
                    f"{count} field{'s' if count > 1 else ''} need{'' if count > 1 else 's'} attention: {fields}."
                ),
                "error",
            )
            return
        self._pending = profile
        op = operations.check_key(lambda: self._check_client(profile, key), parent=self)
        self._task = op.success(self._checked).failure(self._check_failed).run()
        self._set_busy(True, f"Checking the key against {profile.api_url}…")
        self.status_label.hide()

    def _check_client(self, profile: Profile, key: str) -> Any:  # worker: may read the stored key
        if not key and self.original is not None:
            key = self.ctx.api_key(self.original.name)
        return self.ctx.make_client(profile.api_url, key, timeout=15.0, max_retries=1)

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
