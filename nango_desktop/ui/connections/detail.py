"""ConnectionDetail: the side panel of the Connections page (also usable on its own).

What it shows comes from the list row (GET /connections: tags, metadata, errors, created, end user) until
the user asks for more: GET /connections/{id} returns the credentials and Nango may *refresh* them when
they are read, so the full connection (credentials, connection config, updated, webhook URL override) is
fetched only on "Show credentials". Edits are read-modify-write: tags are re-read with the list endpoint
(no credentials), the user's edits merged, validated with Nango's rules and PATCHed as a whole set.

Every call is a named operation (``session.operations``: progress in the panel's busy bar); errors go to
``ctx.show_error``; an edit's change notice makes the connections store re-read the row everywhere. Results
that arrive after the user moved to another connection are dropped. The Syncs, Records, Actions and Proxy tabs
are the workbench's (``workbench.install``).

objectNames: connectionDetail, detailTitle, detailSubtitle, detailStatus, detailNotice, detailNoticeReconnect,
detailBusy, detailTabs, detailReconnect, detailRefreshCredentials, detailNewLink, detailCopyId, detailDelete,
detailInfo, detailErrors, detailTagsTable, detailTagAdd, detailTagRemove, detailTagsRevert, detailTagsSave,
detailTagsErrors, detailMetadata, detailMetadataSave, detailMetadataRevert, detailMetadataErrors,
detailShowCredentials, detailCredentials,
detailCredentialsExpiry, detailConnectionConfig, detailWebhookOverride, detailWebhookSave, detailWebhooks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.models import MASK, Connection, ConnectionFull
from nango_desktop.domain.tags import normalize_tags, validate_tags
from nango_desktop.services.errors import (
    BadRequestError,
    CancelledError,
    NotFoundError,
    RefreshFailedError,
    RefreshState,
)
from nango_desktop.session import operations
from nango_desktop.ui import icons, workbench
from nango_desktop.ui.connections.errors_box import ErrorsBox
from nango_desktop.ui.connections.model import STATUS_COLORS, STATUS_LABELS, format_created, key_of
from nango_desktop.ui.forms import FlowLayout
from nango_desktop.ui.widgets import BusyBar, confirm_destructive

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

CREDENTIALS_WARNING = (
    "Credentials are not loaded yet. Reading them calls GET /connections/{id}, and Nango refreshes an "
    "expired access token when it is read — so only load them when you need them."
)


def link_prefill(conn: Connection) -> dict[str, Any]:
    """Prefill of the New link dialog for the customer of ``conn``: its tags, and its integration as one the
    customer already has (shown, not ticked: a new link is for another integration)."""
    info = conn.customer
    prefill: dict[str, Any] = {
        "end_user_id": info.end_user_id,
        "email": info.email,
        "display_name": info.display_name,
        "organization_id": info.organization_id,
        "organization_name": info.organization_name,
        "existing_integrations": [conn.provider_config_key],
        "tags": dict(conn.tags),
    }
    return {k: v for k, v in prefill.items() if v}


def delete_connection(
    ctx: Any, parent: QWidget | None, conn: Connection, busy: BusyBar | None = None
) -> bool:
    """Confirm (production: type the id), then run the ``delete_connection`` operation (the row goes everywhere)."""
    if not confirm_destructive(
        parent,
        ctx,
        conn.connection_id,
        "Delete",
        f"Integration {conn.provider_config_key}. This cannot be undone.",
    ):
        return False
    cid, iid = key_of(conn)
    operations.delete_connection(ctx.session, conn, parent=parent).success(
        lambda _result: ctx.notify("Connection deleted", f"{cid} ({iid})")
    ).run(busy=busy, message=f"Deleting {cid}…")
    return True


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _when(value: str | datetime | None) -> str:
    """Local date and time of an ISO 8601 text or datetime; "—" when there is none."""
    if not value:
        return "—"
    return format_created(value if isinstance(value, str) else value.isoformat())


def _label(object_name: str, text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _button(object_name: str, text: str, icon_name: str | None, slot: Callable, tip: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(object_name)
    if icon_name:
        button.setIcon(icons.icon(icon_name))
    if tip:
        button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


def _error_label(object_name: str) -> QLabel:
    label = _label(object_name)
    label.setStyleSheet(f"color: {STATUS_COLORS['auth_error']};")
    label.hide()
    return label


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


class ConnectionDetail(QWidget):
    """Everything about one connection. ``show_connection(conn)``; ``connection`` is the one shown."""

    busyChanged = Signal(bool)
    connectionShown = Signal(object)  # Connection | None, from show_connection (the workbench tabs follow it)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionDetail")
        self.ctx = ctx
        self.connection: Connection | None = None
        self.full: ConnectionFull | None = None
        self._tags_original: dict[str, str] = {}
        self._recent: QWidget | None = None

        self.title = _label("detailTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = _label("detailSubtitle")
        self.status = _label("detailStatus", wrap=False)
        self.empty = QLabel("Select a connection to see its details.")
        self.empty.setObjectName("detailEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.notice = QFrame()
        self.notice.setObjectName("detailNotice")
        self.notice.setStyleSheet(
            "#detailNotice { background: rgba(229, 72, 77, 0.14); border: 1px solid rgba(229, 72, 77, 0.6);"
            " border-radius: 6px; }"
        )
        self.notice_text = _label("detailNoticeText")
        self.notice_button = _button(
            "detailNoticeReconnect", "Send a reconnect link", "link", self.request_reconnect_link
        )
        self.notice_retry = _button(
            "detailNoticeRetry",
            "Retry",
            None,
            self.retry_credentials,
            "Read the credentials again (Nango retries the refresh after its back-off)",
        )
        self.notice_retry.hide()
        notice_layout = QHBoxLayout(self.notice)
        notice_layout.addWidget(self.notice_text, 1)
        notice_layout.addWidget(self.notice_retry)
        notice_layout.addWidget(self.notice_button)
        self.notice.hide()

        self.busy = BusyBar(self)
        self.busy.setObjectName("detailBusy")

        actions = FlowLayout()  # a narrow pane wraps the buttons onto a second row, never cuts them
        self.reconnect_button = _button(
            "detailReconnect",
            "Reconnect link",
            "link",
            self.request_reconnect_link,
            "Create a link the customer opens to re-authorize this connection",
        )
        self.refresh_credentials_button = _button(
            "detailRefreshCredentials",
            "Refresh credentials",
            "refresh",
            self.refresh_credentials,
            "Ask Nango to refresh the access token now (force_refresh)",
        )
        self.new_link_button = _button(
            "detailNewLink", "New link", "add", self.request_new_link, "A connect link for this customer"
        )
        self.copy_id_button = _button("detailCopyId", "Copy id", "copy", self.copy_id)
        self.delete_button = _button("detailDelete", "Delete…", "delete", self.delete)
        for button in (
            self.reconnect_button,
            self.refresh_credentials_button,
            self.new_link_button,
            self.copy_id_button,
            self.delete_button,
        ):
            actions.addWidget(button)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("detailTabs")
        self.tabs.addTab(self._build_overview(), "Overview")
        self.tabs.addTab(self._build_tags(), "Tags")
        self.tabs.addTab(self._build_metadata(), "Metadata")
        self.auth_tab = self._build_auth()
        self.tabs.addTab(self.auth_tab, "Credentials && config")
        self.webhooks_tab = QWidget()
        self.webhooks_tab.setObjectName("detailWebhooks")
        QVBoxLayout(self.webhooks_tab)
        self.tabs.addTab(self.webhooks_tab, "Webhooks")
        self.tabs.currentChanged.connect(self._on_tab)
        # Syncs (control), Records, Actions, Proxy tabs (nango_desktop/ui/workbench), after Metadata
        workbench.install(self, at=self.tabs.indexOf(self.auth_tab))

        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.status)
        body.addLayout(header)
        body.addWidget(self.subtitle)
        body.addLayout(actions)
        body.addWidget(self.notice)
        body.addWidget(self.busy)
        body.addWidget(self.tabs, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.body, 1)
        self.show_connection(None)

    # -- construction -----------------------------------------------------------------------------------
    def _build_overview(self) -> QWidget:
        page = QWidget()
        self.info = QFormLayout()
        self.info_widget = QWidget()
        self.info_widget.setObjectName("detailInfo")
        self.info_widget.setLayout(self.info)
        self.info_labels: dict[str, QLabel] = {}
        for key, text in (
            ("connection_id", "Connection id"),
            ("integration", "Integration"),
            ("provider", "Provider"),
            ("created", "Created"),
            ("updated", "Updated"),
            ("end_user", "End user"),
            ("email", "Email"),
            ("organization", "Organization"),
        ):
            label = _label(f"detailInfo_{key}")
            self.info_labels[key] = label
            self.info.addRow(text, label)
        # the reason a connection broke: each error in words, its log id (copy), "Open in Nango" links
        self.errors = ErrorsBox(page)
        layout = QVBoxLayout(page)
        layout.addWidget(self.info_widget)
        layout.addWidget(QLabel("<b>Errors</b>"))
        layout.addWidget(self.errors)
        layout.addStretch(1)
        scroll = QScrollArea()  # several errors and a narrow pane: scroll, never cut
        scroll.setObjectName("detailOverviewScroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap, do not scroll
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(page)
        return scroll

    def _build_tags(self) -> QWidget:
        page = QWidget()
        self.tags_model = QStandardItemModel(0, 2, self)
        self.tags_model.setHorizontalHeaderLabels(["Key", "Value"])
        self.tags_model.dataChanged.connect(self._validate_tags)
        self.tags_model.rowsRemoved.connect(self._validate_tags)
        self.tags_model.rowsInserted.connect(self._validate_tags)
        self.tags_view = QTableView()
        self.tags_view.setObjectName("detailTagsTable")
        self.tags_view.setModel(self.tags_model)
        self.tags_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tags_view.verticalHeader().hide()
        self.tags_errors = _error_label("detailTagsErrors")
        buttons = QHBoxLayout()
        buttons.addWidget(_button("detailTagAdd", "Add", "add", self.add_tag_row))
        buttons.addWidget(_button("detailTagRemove", "Remove", "delete", self.remove_tag_rows))
        buttons.addStretch(1)
        buttons.addWidget(_button("detailTagsRevert", "Revert", None, self._revert_tags))
        self.tags_save = _button(
            "detailTagsSave",
            "Save tags",
            None,
            self.save_tags,
            "Re-reads the tags, applies your changes and replaces the whole set (PATCH)",
        )
        buttons.addWidget(self.tags_save)
        layout = QVBoxLayout(page)
        layout.addWidget(self.tags_view, 1)
        layout.addWidget(self.tags_errors)
        layout.addLayout(buttons)
        return page

    def _build_metadata(self) -> QWidget:
        page = QWidget()
        self.metadata = QPlainTextEdit()
        self.metadata.setObjectName("detailMetadata")
        self.metadata.setPlaceholderText("{}")
        self.metadata.textChanged.connect(self._validate_metadata)
        self.metadata_errors = _error_label("detailMetadataErrors")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(_button("detailMetadataRevert", "Revert", None, self._revert_metadata))
        self.metadata_save = _button(
            "detailMetadataSave", "Save metadata", None, self.save_metadata, "Replaces the metadata (POST)"
        )
        buttons.addWidget(self.metadata_save)
        layout = QVBoxLayout(page)
        layout.addWidget(self.metadata, 1)
        layout.addWidget(self.metadata_errors)
        layout.addLayout(buttons)
        return page

    def _build_auth(self) -> QWidget:
        inner = QWidget()
        self.credentials_hint = _label("detailCredentialsHint", CREDENTIALS_WARNING)
        self.show_credentials_button = _button(
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
        self.expiry = _label("detailCredentialsExpiry")
        self.connection_config = QPlainTextEdit()
        self.connection_config.setObjectName("detailConnectionConfig")
        self.connection_config.setReadOnly(True)
        self.connection_config.setMaximumHeight(120)
        self.webhook_override = QLineEdit()
        self.webhook_override.setObjectName("detailWebhookOverride")
        self.webhook_override.setPlaceholderText("https://… (empty: the environment's webhook URL)")
        self.webhook_save = _button("detailWebhookSave", "Save", None, self.save_webhook_override)
        self.webhook_remove = _button(
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
        self.webhook_hint = _label("detailWebhookHint")
        self.full_info = _label("detailFullInfo")
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

    # -- showing ----------------------------------------------------------------------------------------
    def show_connection(self, conn: Connection | None) -> None:
        """Show ``conn`` (None: the empty state). Showing the same connection again keeps loaded state."""
        same = conn is not None and self.connection is not None and key_of(conn) == key_of(self.connection)
        self.connection = conn
        self.connectionShown.emit(conn)
        self.empty.setVisible(conn is None)
        self.body.setVisible(conn is not None)
        if conn is None:
            return
        info = conn.customer
        self.title.setText(info.customer or conn.connection_id)
        self.subtitle.setText(f"{conn.connection_id} · {conn.provider_config_key}")
        color = STATUS_COLORS[conn.status]
        self.status.setText(f"<span style='color:{color}'>●</span> {STATUS_LABELS[conn.status]}")
        values = {
            "connection_id": conn.connection_id,
            "integration": conn.provider_config_key,
            "provider": conn.provider,
            "created": _when(conn.created),
            "end_user": " · ".join(p for p in (info.display_name, info.end_user_id) if p) or "—",
            "email": info.email or "—",
            "organization": " · ".join(p for p in (info.organization_name, info.organization_id) if p) or "—",
        }
        for key, value in values.items():
            self.info_labels[key].setText(value)
        self.errors.set_connection(conn, self.ctx.profile)
        if not same or not self._tags_dirty():
            self._set_tags(conn.tags)
        if not same or not self.metadata.document().isModified():
            self._revert_metadata()
        if not same:
            self.notice.hide()
            self._set_full(None)
            if self._recent is not None:
                self._recent.deleteLater()
                self._recent = None
        self._on_tab(self.tabs.currentIndex())

    def _set_full(self, full: ConnectionFull | None) -> None:
        self.full = full
        while self.credentials_form.rowCount():
            self.credentials_form.removeRow(0)
        self.credentials_hint.setVisible(full is None)
        self.credentials_box.setVisible(full is not None)
        self.show_credentials_button.setText("Show credentials" if full is None else "Reload credentials")
        if full is None:
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
        for name, masked in full.credentials_masked().items():
            if masked == MASK:
                field = SecretField(name, lambda n=name: self.full.credential(n) if self.full else None)
                self.credentials_form.addRow(name, field)
            else:
                self.credentials_form.addRow(name, _label(f"credential_{name}", masked))
        expires = full.credentials_expires_at
        if expires is None:
            self.expiry.setText("Expiry: none (the token does not expire or is not OAuth)")
        else:
            left = expires - datetime.now(UTC) if expires.tzinfo else None
            state = (
                "" if left is None else (" — EXPIRED" if left.total_seconds() < 0 else f" — in {_ago(left)}")
            )
            self.expiry.setText(f"Expires {_when(expires)}{state}")
        self.full_info.setText(
            f"Type: {full.credentials_type or '—'} · last fetched {_when(full.last_fetched_at)}"
        )
        self.connection_config.setPlainText(_json(full.connection_config))
        self.webhook_override.setText(full.webhook_url_override or "")
        self._set_override_editable(True, full.webhook_url_override or None)
        self.webhook_hint.setText(
            "" if full.webhook_url_override else "No override: the environment's URL is used."
        )
        self.info_labels["updated"].setText(_when(full.updated_at))

    # -- tags -------------------------------------------------------------------------------------------
    def _set_tags(self, tags: dict[str, str]) -> None:
        self._tags_original = dict(tags)
        self.tags_model.removeRows(0, self.tags_model.rowCount())
        for key, value in sorted(tags.items()):
            self.tags_model.appendRow([QStandardItem(key), QStandardItem(value)])
        self._validate_tags()

    def edited_tags(self) -> dict[str, str]:
        """The tags as edited in the table (rows with an empty key are ignored)."""
        result: dict[str, str] = {}
        for row in range(self.tags_model.rowCount()):
            key = (self.tags_model.item(row, 0).text() or "").strip()
            if key:
                result[key] = (self.tags_model.item(row, 1).text() or "").strip()
        return result

    def _tags_dirty(self) -> bool:
        return normalize_tags(self.edited_tags()) != normalize_tags(self._tags_original)

    @Slot()
    def add_tag_row(self) -> None:
        self.tags_model.appendRow([QStandardItem(""), QStandardItem("")])
        index = self.tags_model.index(self.tags_model.rowCount() - 1, 0)
        self.tags_view.setCurrentIndex(index)
        self.tags_view.edit(index)

    @Slot()
    def remove_tag_rows(self) -> None:
        rows = sorted({i.row() for i in self.tags_view.selectionModel().selectedIndexes()}, reverse=True)
        for row in rows:
            self.tags_model.removeRow(row)

    @Slot()
    def _revert_tags(self) -> None:
        self._set_tags(self._tags_original)

    @Slot()
    def _validate_tags(self, *_args: object) -> list[str]:
        problems = validate_tags(self.edited_tags())
        self._show_problems(self.tags_errors, problems)
        self.tags_save.setEnabled(not problems)
        return problems

    @staticmethod
    def _show_problems(label: QLabel, problems: list[str]) -> None:
        label.setText("\n".join(problems))
        label.setVisible(bool(problems))

    @staticmethod
    def merge_tags(
        current: dict[str, str], original: dict[str, str], edited: dict[str, str]
    ) -> dict[str, str]:
        """Apply the user's edits (``original`` -> ``edited``) on top of the server's ``current`` tags."""
        original, edited = normalize_tags(original), normalize_tags(edited)
        merged = normalize_tags(current)
        for key in original.keys() - edited.keys():
            merged.pop(key, None)
        for key, value in edited.items():
            if original.get(key) != value:
                merged[key] = value
        return merged

    @Slot()
    def save_tags(self) -> None:
        conn = self.connection
        if conn is None or self._validate_tags():
            return
        cid, iid = key_of(conn)
        original, edited = dict(self._tags_original), self.edited_tags()

        def done(merged: dict[str, str]) -> None:
            if self._is_current(cid, iid):
                self._set_tags(merged)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, BadRequestError) and self._is_current(cid, iid):
                self._show_problems(self.tags_errors, [exc.title, *([exc.detail] if exc.detail else [])])
            self._show_error(exc)

        op = operations.save_tags(self.ctx.session, conn, lambda current: self.merge_tags(current, original, edited))
        op.success(done).failure(failed).run(busy=self.busy, message="Saving tags…")

    # -- metadata ---------------------------------------------------------------------------------------
    def _parsed_metadata(self) -> tuple[dict | None, str | None]:
        text = self.metadata.toPlainText().strip()
        if not text:
            return {}, None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        if not isinstance(value, dict):
            return None, "Metadata must be a JSON object ({…})."
        return value, None

    @Slot()
    def _validate_metadata(self) -> None:
        _value, problem = self._parsed_metadata()
        self._show_problems(self.metadata_errors, [problem] if problem else [])
        self.metadata_save.setEnabled(problem is None)

    @Slot()
    def _revert_metadata(self) -> None:
        conn = self.connection
        self.metadata.setPlainText(_json(conn.metadata) if conn is not None and conn.metadata else "{}")
        self.metadata.document().setModified(False)

    @Slot()
    def save_metadata(self) -> None:
        conn = self.connection
        value, problem = self._parsed_metadata()
        if conn is None or value is None:
            return
        cid, iid = key_of(conn)

        def done(_result: object) -> None:
            if self._is_current(cid, iid):
                self.metadata.document().setModified(False)

        op = operations.set_metadata(self.ctx.session, conn, value, parent=self)
        op.success(done).failure(self._show_error).run(busy=self.busy, message="Saving metadata…")

    # -- tabs -------------------------------------------------------------------------------------------
    @Slot(int)
    def _on_tab(self, index: int) -> None:
        if self.connection is None:
            return
        page = self.tabs.widget(index)
        if page is self.webhooks_tab and self._recent is None:
            self._recent = self._make_recent_events()

    def _make_recent_events(self) -> QWidget:
        try:
            from nango_desktop.ui.webhooks.page import RecentEventsWidget
        except ImportError:
            widget: QWidget = QLabel("Webhook events are not available in this build.")
        else:
            widget = RecentEventsWidget(self.ctx, self.connection.connection_id)  # type: ignore[union-attr]
        self.webhooks_tab.layout().addWidget(widget)
        return widget

    # -- credentials, webhook override ------------------------------------------------------------------
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

    # -- actions ----------------------------------------------------------------------------------------
    def show_notice(self, text: str, *, state: RefreshState | None = None) -> None:
        """The banner; for a refresh failure its buttons follow the state: back-off -> Retry (wait, then read
        again), exhausted -> Send a reconnect link, anything else -> both."""
        self.notice_text.setText(text)
        self.notice_retry.setVisible(state in (RefreshState.BACKING_OFF, RefreshState.OTHER))
        self.notice_button.setVisible(state is not RefreshState.BACKING_OFF)
        self.notice.show()

    @Slot()
    def request_reconnect_link(self) -> None:
        if self.connection is not None:
            self.ctx.request_reconnect_links([self.connection])

    @Slot()
    def request_new_link(self) -> None:
        if self.connection is not None:
            self.ctx.request_new_link(link_prefill(self.connection))

    @Slot(QListWidgetItem)
    @Slot()
    def copy_id(self) -> None:
        if self.connection is not None:
            QGuiApplication.clipboard().setText(self.connection.connection_id)

    @Slot()
    def delete(self) -> None:
        if self.connection is not None:
            delete_connection(self.ctx, self, self.connection, self.busy)

    # -- plumbing ---------------------------------------------------------------------------------------
    def _is_current(self, cid: str, iid: str) -> bool:
        return self.connection is not None and key_of(self.connection) == (cid, iid)

    def _show_error(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            return
        if isinstance(exc, NotFoundError) and self.connection is not None:
            # deleted meanwhile (another admin, the dashboard): let the list drop its row
            self.ctx.connectionChanged.emit(*key_of(self.connection))
        self.ctx.show_error(exc, self)


def _ago(delta: Any) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"
