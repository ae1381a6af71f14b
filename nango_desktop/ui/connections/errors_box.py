"""ErrorsBox: why a connection is broken, in words, with its log id and links into Nango's dashboard.

One row per error of the connection (``ConnectionErrorInfo``): the error type in words and what it means
(``domain.deeplinks.describe_error``), its log id (selectable) with a Copy button, and "Open log in Nango"
(the log operation by id). Under the rows: "Open in Nango" for the connection and for its integration. Links
come from ``DashboardLinks.for_profile(profile)`` (the profile's dashboard URL: Nango Cloud's by default,
editable for a self-hosted Nango) and open in the browser (``QDesktopServices``; tests replace ``open_url``).

objectNames: detailErrorsBox, detailErrorsEmpty, detailError_<n> (each row), detailErrorTitle_<n>,
detailErrorLogId_<n>, detailErrorCopy_<n>, detailErrorOpenLog_<n>, detailOpenConnection, detailOpenIntegration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from nango_desktop.domain.deeplinks import DashboardLinks, describe_error
from nango_desktop.ui import icons
from nango_desktop.ui.forms import FlowLayout


def _open_in_browser(url: str) -> bool:
    return QDesktopServices.openUrl(QUrl(url))


class ErrorsBox(QFrame):
    """See the module docstring. ``copied(str)`` after a log id went to the clipboard."""

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None, open_url: Callable[[str], bool] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailErrorsBox")
        self.open_url = open_url or _open_in_browser
        self.links: DashboardLinks | None = None
        self.connection: Any = None
        self.rows: list[QWidget] = []
        self.empty = QLabel("No errors: the credentials and the last sync runs are fine.", self)
        self.empty.setMinimumWidth(1)  # wraps in a narrow pane
        self.empty.setObjectName("detailErrorsEmpty")
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty.setWordWrap(True)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(6)
        self.open_connection = QPushButton(icons.icon("external"), "Open connection in Nango", self)
        self.open_connection.setObjectName("detailOpenConnection")
        self.open_connection.clicked.connect(self._open_connection)
        self.open_integration = QPushButton(icons.icon("external"), "Open integration in Nango", self)
        self.open_integration.setObjectName("detailOpenIntegration")
        self.open_integration.clicked.connect(self._open_integration)
        buttons = FlowLayout()
        buttons.addWidget(self.open_connection)
        buttons.addWidget(self.open_integration)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addLayout(self.rows_layout)
        layout.addLayout(buttons)

    # -- data ---------------------------------------------------------------------------------------------
    def set_connection(self, connection: Any, profile: Any) -> None:
        """Show the errors of ``connection`` (None: nothing) with links for ``profile``'s dashboard."""
        self.connection = connection
        self.links = DashboardLinks.for_profile(profile) if profile is not None else None
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        errors = list(getattr(connection, "errors", None) or [])
        for n, error in enumerate(errors):
            row = self._row(n, error)
            self.rows.append(row)
            self.rows_layout.addWidget(row)
        self.empty.setVisible(connection is not None and not errors)
        can_link = connection is not None and self.links is not None
        self.open_connection.setEnabled(can_link)
        self.open_integration.setEnabled(can_link)
        if can_link:
            assert self.links is not None
            self.open_connection.setToolTip(
                self.links.connection(connection.provider_config_key, connection.connection_id)
            )
            self.open_integration.setToolTip(self.links.integration(connection.provider_config_key))

    def texts(self) -> list[str]:
        """Each error as one line (title, meaning, log id): what Copy all would give."""
        return [describe_error(e).text for e in getattr(self.connection, "errors", None) or []]

    def _row(self, n: int, error: Any) -> QWidget:
        described = describe_error(error)
        row = QFrame(self)
        row.setObjectName(f"detailError_{n}")
        row.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(f"<b>{described.title}</b>", row)
        title.setObjectName(f"detailErrorTitle_{n}")
        color = icons.STATUS_COLORS["error" if described.kind == "auth" else "warning"]
        title.setStyleSheet(f"color: {color};")
        sentence = QLabel(described.sentence, row)
        sentence.setWordWrap(True)
        sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        log_id = QLabel(f"Log id: {described.log_id}" if described.log_id else "No log id", row)
        log_id.setObjectName(f"detailErrorLogId_{n}")
        log_id.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = QPushButton(icons.icon("copy"), "Copy log id", row)
        copy.setObjectName(f"detailErrorCopy_{n}")
        copy.setEnabled(bool(described.log_id))
        copy.setProperty("log_id", described.log_id or "")
        copy.clicked.connect(self._copy)
        open_log = QPushButton(icons.icon("external"), "Open log in Nango", row)
        open_log.setObjectName(f"detailErrorOpenLog_{n}")
        open_log.setEnabled(bool(described.log_id) and self.links is not None)
        open_log.setProperty("log_id", described.log_id or "")
        if described.log_id and self.links is not None:
            open_log.setToolTip(self.links.log_operation(described.log_id))
        open_log.clicked.connect(self._open_log)
        actions = FlowLayout()
        actions.addWidget(log_id)
        actions.addWidget(copy)
        actions.addWidget(open_log)
        layout = QVBoxLayout(row)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addWidget(title)
        layout.addWidget(sentence)
        layout.addLayout(actions)
        return row

    # -- actions ------------------------------------------------------------------------------------------
    @Slot()
    def _copy(self) -> None:
        button = self.sender()
        log_id = str(button.property("log_id") or "") if button is not None else ""
        if log_id:
            QGuiApplication.clipboard().setText(log_id)
            button.setText("Copied")  # type: ignore[union-attr,attr-defined]
            QTimer.singleShot(1500, button, lambda b=button: b.setText("Copy log id"))  # type: ignore[union-attr,attr-defined]
            self.copied.emit(log_id)

    @Slot()
    def _open_log(self) -> None:
        button = self.sender()
        log_id = str(button.property("log_id") or "") if button is not None else ""
        if log_id and self.links is not None:
            self.open_url(self.links.log_operation(log_id))

    @Slot()
    def _open_connection(self) -> None:
        conn = self.connection
        if conn is not None and self.links is not None:
            self.open_url(self.links.connection(conn.provider_config_key, conn.connection_id))

    @Slot()
    def _open_integration(self) -> None:
        conn = self.connection
        if conn is not None and self.links is not None:
            self.open_url(self.links.integration(conn.provider_config_key))
