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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.models import MASK, Connection, ConnectionFull
from nango_desktop.services.errors import (
    CancelledError,
    NotFoundError,
    RefreshState,
)
from nango_desktop.session import operations
from nango_desktop.ui import icons, workbench
from nango_desktop.ui.connections.detail_credentials import CredentialsPanel
from nango_desktop.ui.connections.detail_tags import MetadataPanel, TagsPanel
from nango_desktop.ui.connections.detail_widgets import make_button, make_label, when
from nango_desktop.ui.connections.errors_box import ErrorsBox
from nango_desktop.ui.connections.model import key_of
from nango_desktop.ui.forms import FlowLayout
from nango_desktop.ui.theme import STATUS_COLORS, STATUS_LABELS
from nango_desktop.ui.widgets import BusyBar, confirm_destructive

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext


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
    ctx: AppContext, parent: QWidget | None, conn: Connection, busy: BusyBar | None = None
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


class ConnectionDetail(TagsPanel, MetadataPanel, CredentialsPanel, QWidget):
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

        self.title = make_label("detailTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = make_label("detailSubtitle")
        self.status = make_label("detailStatus", wrap=False)
        self.empty = QLabel("Select a connection to see its details.")
        self.empty.setObjectName("detailEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.notice = QFrame()
        self.notice.setObjectName("detailNotice")
        self.notice.setStyleSheet(
            "#detailNotice { background: rgba(229, 72, 77, 0.14); border: 1px solid rgba(229, 72, 77, 0.6);"
            " border-radius: 6px; }"
        )
        self.notice_text = make_label("detailNoticeText")
        self.notice_button = make_button(
            "detailNoticeReconnect", "Send a reconnect link", "link", self.request_reconnect_link
        )
        self.notice_retry = make_button(
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
        self.reconnect_button = make_button(
            "detailReconnect",
            "Reconnect link",
            "link",
            self.request_reconnect_link,
            "Create a link the customer opens to re-authorize this connection",
        )
        self.refresh_credentials_button = make_button(
            "detailRefreshCredentials",
            "Refresh credentials",
            "refresh",
            self.refresh_credentials,
            "Ask Nango to refresh the access token now (force_refresh)",
        )
        self.new_link_button = make_button(
            "detailNewLink", "New link", "add", self.request_new_link, "A connect link for this customer"
        )
        self.copy_id_button = make_button("detailCopyId", "Copy id", "copy", self.copy_id)
        self.delete_button = make_button("detailDelete", "Delete…", "delete", self.delete)
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
            label = make_label(f"detailInfo_{key}")
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
            "created": when(conn.created),
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
            from nango_desktop.ui.webhooks.recent import RecentEventsWidget
        except ImportError:
            widget: QWidget = QLabel("Webhook events are not available in this build.")
        else:
            widget = RecentEventsWidget(self.ctx, self.connection.connection_id)  # type: ignore[union-attr]
        layout = self.webhooks_tab.layout()
        assert layout is not None
        layout.addWidget(widget)
        return widget

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
