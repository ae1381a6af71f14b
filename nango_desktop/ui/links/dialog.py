"""NewLinkDialog: everything Nango's POST /connect/sessions accepts, validated live with Nango's tag rules.

The end user and organization are sent as tags (``end_user_id``, ``end_user_email``,
``end_user_display_name``, ``organization_id``, ``organization_display_name``; the deprecated
``end_user``/``organization`` objects are not used). Each violation is shown next to its field and
"Create link" stays disabled until everything is valid. The session is created off-thread; on success
``linkIssued(IssuedLink)`` is emitted and the dialog accepts, on failure the error is shown in the dialog.

Messages sit in reserved lines (``ui.forms.FieldMessage``): they never move the fields while the user types.
A required field left empty is reported once the user has been in it (or tried to create), not on a fresh
form. Prefill keys: the customer fields, ``tags``, ``integration_ids`` (ticked) and
``existing_integrations`` (the customer's connected integrations: marked "connected", not ticked, since a
new link is usually for another one). A self-hosted profile on a loopback or private address gets a warning:
the customer's browser must reach it (``apiURL``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain import tags as rules
from nango_desktop.domain.links import unreachable_api_warning
from nango_desktop.domain.natsort import natural_key
from nango_desktop.services.links import IssuedLink, LinkRequest
from nango_desktop.session import links as link_ops
from nango_desktop.session import operations
from nango_desktop.session.link_tracker import LinkTracker
from nango_desktop.ui import icons
from nango_desktop.ui.forms import FieldMessage, Touched
from nango_desktop.ui.widgets import ErrorBanner

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

URL_RE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
ROW_ERROR = QBrush(QColor(229, 72, 77, 50))

# (attribute, tag key, label, placeholder)
CUSTOMER_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("end_user_id", rules.END_USER_ID, "End user id *", "your app's id for this user, e.g. u_1234"),
    ("email", rules.END_USER_EMAIL, "Email", "jane@acme.com"),
    ("display_name", rules.END_USER_DISPLAY_NAME, "Display name", "Jane Doe"),
    ("organization_id", rules.ORGANIZATION_ID, "Organization id", "org_42"),
    ("organization_name", rules.ORGANIZATION_DISPLAY_NAME, "Organization name", "Acme Inc."),
)
CUSTOMER_KEYS = {key for _attr, key, _label, _ph in CUSTOMER_FIELDS}


def error_label(name: str, lines: int = 1) -> FieldMessage:
    """The reserved message line(s) under a field (see ui.forms)."""
    return FieldMessage(f"error_{name}", lines=lines)


def set_error(label: FieldMessage, message: str | None) -> None:
    label.set_message(message)


class KeyValueTable(QWidget):
    """A small editable table (user input, not API data) with Add/Remove buttons."""

    changed = Signal()

    def __init__(self, headers: Sequence[str], object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(headers), self)
        self.table.setObjectName(object_name)
        self.table.setHorizontalHeaderLabels(list(headers))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(90)
        self.table.setMaximumHeight(170)
        self.table.itemChanged.connect(self.changed)
        add = QPushButton(icons.icon("add"), "Add")
        add.setObjectName(f"{object_name}Add")
        add.clicked.connect(lambda: self.add_row())
        remove = QPushButton(icons.icon("delete"), "Remove")
        remove.setObjectName(f"{object_name}Remove")
        remove.clicked.connect(self.remove_selected)
        buttons = QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def add_row(self, *values: str) -> int:
        row = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(row)
        for column in range(self.table.columnCount()):
            self.table.setItem(row, column, QTableWidgetItem(values[column] if column < len(values) else ""))
        self.table.blockSignals(False)
        self.changed.emit()
        return row

    def set_value(self, row: int, column: int, value: str) -> None:
        item = self.table.item(row, column)
        if item is not None:
            item.setText(value)  # emits itemChanged -> changed

    @Slot()
    def remove_selected(self) -> None:
        rows = sorted(
            {i.row() for i in self.table.selectedIndexes()} or {self.table.rowCount() - 1}, reverse=True
        )
        for row in rows:
            if row >= 0:
                self.table.removeRow(row)
        self.changed.emit()

    def rows(self) -> list[tuple[int, tuple[str, ...]]]:
        """(row index, stripped values) of the rows that are not entirely empty."""
        result = []
        for row in range(self.table.rowCount()):
            items = (self.table.item(row, c) for c in range(self.table.columnCount()))
            values = tuple((item.text() if item is not None else "").strip() for item in items)
            if any(values):
                result.append((row, values))
        return result

    def mark_rows(self, bad: set[int]) -> None:
        self.table.blockSignals(True)
        for row in range(self.table.rowCount()):
            for column in range(self.table.columnCount()):
                item = self.table.item(row, column)
                if item is not None:
                    item.setBackground(ROW_ERROR if row in bad else QBrush())
        self.table.blockSignals(False)


class NewLinkDialog(QDialog):
    linkIssued = Signal(object)  # IssuedLink

    def __init__(
        self,
        ctx: AppContext,
        tracker: LinkTracker,
        prefill: Mapping[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("newLinkDialog")
        self.setWindowTitle("New connect link")
        self.ctx, self.tracker = ctx, tracker
        self.issued: IssuedLink | None = None
        self.errors: dict[str, str] = {}
        self._known_integrations: set[str] | None = None
        self._busy = False

        self.banner = ErrorBanner(self)
        self.reach_warning = self._build_reach_warning()
        self.fields: dict[str, QLineEdit] = {}
        self.error_labels: dict[str, FieldMessage] = {}
        self.touched = Touched(self)
        self._existing_integrations: set[str] = set()

        customer = self._build_customer()
        integrations = self._build_integrations()
        advanced = self._build_advanced()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create link", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setObjectName("createLinkButton")
        self.create_button.setIcon(icons.icon("link"))
        self.create_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        left.addWidget(customer)
        left.addWidget(integrations, 1)
        right = QVBoxLayout()
        right.addWidget(advanced)
        right.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.reach_warning)
        layout.addLayout(columns, 1)
        layout.addWidget(self.buttons)
        self.resize(1100, 700)

        self._prefill_integrations: set[str] = set()
        self.apply_prefill(prefill or {})
        self.validate()
        self.load_integrations()

    # -- construction ------------------------------------------------------------------------------------
    def _build_reach_warning(self) -> QLabel:
        """Said when Nango cannot reach the profile's API URL (a loopback or private address)."""
        label = QLabel(self)
        label.setObjectName("linkReachWarning")
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {icons.STATUS_COLORS['warning']};")
        profile = self.ctx.profile
        warning = unreachable_api_warning(profile.api_url, profile.is_self_hosted) if profile is not None else None
        label.setText(warning or "")
        label.setVisible(bool(warning))
        return label

    def _build_customer(self) -> QGroupBox:
        """Customer fields (sent as tags) and extra tags."""
        customer = QGroupBox("Customer (sent as tags)")
        form = QFormLayout(customer)
        for attr, _key, label, placeholder in CUSTOMER_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"field_{attr}")
            edit.setPlaceholderText(placeholder)
            edit.textChanged.connect(self.validate)
            self.touched.watch(attr, edit)
            edit.editingFinished.connect(self.validate)  # leaving an empty required field reports it
            self.fields[attr] = edit
            self.error_labels[attr] = error_label(attr)
            column = QVBoxLayout()
            column.setSpacing(0)
            column.addWidget(edit)
            column.addWidget(self.error_labels[attr])
            form.addRow(label, column)
        self.extra_tags = KeyValueTable(("Tag key", "Value"), "extraTagsTable")
        self.extra_tags.changed.connect(self.validate)
        self.error_labels["tags"] = error_label("tags", lines=2)
        form.addRow(QLabel("Extra tags (at most 10 tags in all):"))
        form.addRow(self.extra_tags)
        form.addRow(self.error_labels["tags"])
        return customer

    def _build_integrations(self) -> QGroupBox:
        """The allowed integrations (none checked: any), loaded on a worker."""
        integrations = QGroupBox("Allowed integrations (none checked: any)")
        self.integrations_model = QStandardItemModel(self)
        self.integrations_model.itemChanged.connect(self.validate)
        self.integrations_view = QListView()
        self.integrations_view.setObjectName("allowedIntegrations")
        self.integrations_view.setModel(self.integrations_model)
        self.integrations_status = QLabel("Loading integrations…")
        self.integrations_status.setObjectName("integrationsStatus")
        box = QVBoxLayout(integrations)
        box.addWidget(self.integrations_view)
        box.addWidget(self.integrations_status)
        return integrations

    def _build_advanced(self) -> QGroupBox:
        """Config defaults, docs links and the webhook URL override."""
        advanced = QGroupBox("Advanced")
        adv = QFormLayout(advanced)
        self.config_defaults = KeyValueTable(("Integration", "Setting", "Value"), "configDefaultsTable")
        self.config_defaults.changed.connect(self.validate)
        self.error_labels["config"] = error_label("config", lines=2)
        self.docs_overrides = KeyValueTable(("Integration", "Docs URL"), "docsOverridesTable")
        self.docs_overrides.changed.connect(self.validate)
        self.error_labels["docs"] = error_label("docs", lines=2)
        self.webhook_url = QLineEdit()
        self.webhook_url.setObjectName("field_webhook_url")
        self.webhook_url.setPlaceholderText("https://… (optional: this connection's webhooks go only here)")
        self.webhook_url.textChanged.connect(self.validate)
        self.error_labels["webhook_url"] = error_label("webhook_url")
        adv.addRow(QLabel("Connection config defaults (e.g. subdomain, oauth_scopes_override):"))
        adv.addRow(self.config_defaults)
        adv.addRow(self.error_labels["config"])
        adv.addRow(QLabel("Docs link shown in the Connect UI:"))
        adv.addRow(self.docs_overrides)
        adv.addRow(self.error_labels["docs"])
        adv.addRow("Webhook URL override", self.webhook_url)
        adv.addRow(self.error_labels["webhook_url"])
        return advanced

    # -- prefill / integrations ------------------------------------------------------------------------
    def apply_prefill(self, prefill: Mapping[str, Any]) -> None:
        tags = rules.normalize_tags(prefill.get("tags") or {})
        for attr, key, _label, _ph in CUSTOMER_FIELDS:
            value = prefill.get(attr) or tags.get(key) or ""
            self.fields[attr].setText(str(value))
        for key, value in tags.items():
            if key not in CUSTOMER_KEYS:
                self.extra_tags.add_row(key, str(value))
        self._prefill_integrations = set(prefill.get("integration_ids") or ())
        self._existing_integrations = set(prefill.get("existing_integrations") or ())
        for key in sorted(self._prefill_integrations | self._existing_integrations, key=natural_key):
            self._add_integration(key, key)

    def load_integrations(self) -> None:
        operations.list_integrations(self.ctx.session, parent=self).success(self._on_integrations).failure(
            self._on_integrations_failed
        ).run()

    def _add_integration(self, key: str, label: str) -> QStandardItem:
        if key in self._existing_integrations:
            label = f"{label}  — connected"
        for row in range(self.integrations_model.rowCount()):
            item = self.integrations_model.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == key:
                item.setText(label)
                return item
        item = QStandardItem(label)
        item.setData(key, Qt.ItemDataRole.UserRole)
        item.setCheckable(True)
        item.setEditable(False)
        item.setCheckState(
            Qt.CheckState.Checked if key in self._prefill_integrations else Qt.CheckState.Unchecked
        )
        if key in self._existing_integrations:
            item.setToolTip("This customer already has a connection to this integration")
        self.integrations_model.appendRow(item)
        return item

    def _on_integrations(self, integrations: list[Any]) -> None:
        self.integrations_model.blockSignals(True)
        for integration in sorted(integrations, key=lambda i: natural_key(i.display_name or i.provider)):
            name = integration.display_name or integration.provider
            self._add_integration(integration.unique_key, f"{name}  ({integration.unique_key})")
        self.integrations_model.blockSignals(False)
        remember = getattr(self.tracker, "remember_integrations", None)
        if callable(remember):
            remember(integrations)
        self.integrations_view.reset()
        self._known_integrations = {i.unique_key for i in integrations}
        self.integrations_status.setText(f"{len(integrations)} integrations")
        self.validate()

    def _on_integrations_failed(self, exc: BaseException) -> None:
        title = getattr(exc, "title", None) or str(exc)
        self.integrations_status.setText(f"Could not load the integrations: {title}")

    def checked_integrations(self) -> list[str]:
        model = self.integrations_model
        return [
            model.item(r).data(Qt.ItemDataRole.UserRole)
            for r in range(model.rowCount())
            if model.item(r).checkState() == Qt.CheckState.Checked
        ]

    def set_integration_checked(self, key: str, checked: bool = True) -> None:
        for row in range(self.integrations_model.rowCount()):
            item = self.integrations_model.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == key:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                return
        raise KeyError(key)

    # -- the request ------------------------------------------------------------------------------------
    def request(self) -> LinkRequest:
        config: dict[str, dict[str, str]] = {}
        for _row, (integration, key, value) in self.config_defaults.rows():
            config.setdefault(integration, {})[key] = value
        return LinkRequest(
            **{attr: self.fields[attr].text().strip() for attr, *_rest in CUSTOMER_FIELDS},
            extra_tags={k: v for _row, (k, v) in self.extra_tags.rows()},
            allowed_integrations=self.checked_integrations(),
            connection_config=config,
            docs_overrides={k: v for _row, (k, v) in self.docs_overrides.rows()},
            webhook_url_override=self.webhook_url.text().strip(),
        )

    def _integration_problem(self, integration: str) -> str | None:
        if not integration:
            return "the integration is empty"
        if self._known_integrations is not None and integration not in self._known_integrations:
            return f"there is no integration “{integration}”"
        return None

    @Slot()
    def validate(self) -> bool:
        """Check every field with Nango's rules; show each problem next to its field. True when valid."""
        errors: dict[str, str] = {}
        shown_later: set[str] = set()
        for attr, key, _label, _ph in CUSTOMER_FIELDS:
            value = self.fields[attr].text().strip()
            if not value:
                if attr == "end_user_id":
                    errors[attr] = "Required: Nango links the new connection to this end user."
                    if attr not in self.touched:
                        shown_later.add(attr)  # a fresh form: no red yet, "Create link" stays disabled
                continue
            problems = rules.validate_tags({key: value})
            if problems:
                errors[attr] = problems[0]

        tag_problems, bad_rows = [], set()
        seen: dict[str, int] = {}
        for row, (key, value) in self.extra_tags.rows():
            lowered = key.lower()
            problems = rules.validate_tags({key: value}) if key else ["A tag key is empty."]
            if lowered in CUSTOMER_KEYS:
                problems.append(f"“{lowered}” is set by the customer fields above.")
            elif lowered in seen:
                problems.append(f"Tag “{lowered}” appears twice.")
            seen.setdefault(lowered, row)
            if problems:
                bad_rows.add(row)
                tag_problems.append(f"Row {row + 1}: {problems[0]}")
        self.extra_tags.mark_rows(bad_rows)
        keys = {key for attr, key, *_ in CUSTOMER_FIELDS if self.fields[attr].text().strip()} | set(seen)
        count = len(keys - {""})
        if count > rules.MAX_TAGS:
            tag_problems.insert(
                0, f"At most {rules.MAX_TAGS} tags are allowed ({count} set, customer fields included)."
            )
        if tag_problems:
            errors["tags"] = "\n".join(tag_problems)

        config_problems, bad_rows = [], set()
        for row, (integration, key, _value) in self.config_defaults.rows():
            problem = self._integration_problem(integration) or (None if key else "the setting name is empty")
            if problem:
                bad_rows.add(row)
                config_problems.append(f"Row {row + 1}: {problem}")
        self.config_defaults.mark_rows(bad_rows)
        if config_problems:
            errors["config"] = "\n".join(config_problems)

        docs_problems, bad_rows = [], set()
        for row, (integration, url) in self.docs_overrides.rows():
            problem = self._integration_problem(integration) or (
                None if URL_RE.match(url) else "the docs link must be an http(s) URL"
            )
            if problem:
                bad_rows.add(row)
                docs_problems.append(f"Row {row + 1}: {problem}")
        self.docs_overrides.mark_rows(bad_rows)
        if docs_problems:
            errors["docs"] = "\n".join(docs_problems)

        webhook = self.webhook_url.text().strip()
        if webhook and not URL_RE.match(webhook):
            errors["webhook_url"] = "Must be an http(s) URL, e.g. https://hooks.example.com/nango"

        self.errors = errors
        for name, label in self.error_labels.items():
            set_error(label, None if name in shown_later else errors.get(name))
        self.create_button.setEnabled(not errors and not self._busy)
        self.create_button.setToolTip(
            ""
            if not errors
            else "To create the link: " + "; ".join(m.splitlines()[0] for m in errors.values())
        )
        return not errors

    # -- create -----------------------------------------------------------------------------------------
    def accept(self) -> None:
        self.touched.all = True  # a submit attempt: report every problem, required fields included
        if self._busy or not self.validate():
            return
        self._busy = True
        self.create_button.setEnabled(False)
        self.create_button.setText("Creating…")
        op = link_ops.new_link(self.ctx.session, self.tracker, self.request(), parent=self)
        op.success(self._on_issued).failure(self._on_failed).run()

    def _on_issued(self, issued: IssuedLink) -> None:
        self._busy = False
        self.issued = issued
        self.tracker.add(issued)
        self.linkIssued.emit(issued)
        super().accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.create_button.setText("Create link")
        self.banner.show_exception(exc)
        self.validate()
