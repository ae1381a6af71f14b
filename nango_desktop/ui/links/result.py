"""LinkResultView: hand a link over (copy, QR, message) and watch it (countdown, live status, revoke, inspect)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.links import LinkRecord, LinkStatus
from nango_desktop.services.links import message_template
from nango_desktop.session.link_tracker import LinkTracker
from nango_desktop.ui import icons
from nango_desktop.ui.links.qr import qr_pixmap
from nango_desktop.ui.theme import LINK_STATUS_TEXT

STATUS_TEXT = {status: LINK_STATUS_TEXT[status.value] for status in LinkStatus}


def format_remaining(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def link_title(record: LinkRecord) -> str:
    if record.kind == "reconnect":
        return f"Reconnect link for {record.customer or record.connection_id} ({record.integration_label})"
    return f"Connect link for {record.customer or record.end_user_id}"


def link_meta(record: LinkRecord) -> str:
    created = datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M")
    expires = datetime.fromtimestamp(record.expires_at).strftime("%H:%M")
    parts = [f"Issued {created} by {record.created_by}", f"valid until {expires}"]
    if record.email:
        parts.insert(0, record.email)
    if record.connection_id:
        parts.insert(0, f"connection {record.connection_id}")
    return " · ".join(parts)


class LinkResultView(QWidget):
    """The link of ``record``; ``url`` (with token) when just issued, else taken from the tracker if alive."""

    def __init__(
        self, tracker: LinkTracker, record: LinkRecord, url: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("linkResultView")
        self.tracker, self.record = tracker, record
        self.url = url or tracker.url_of(record)
        self._message = ""

        title, meta = self._build_header(record)
        self._build_widgets()
        self._build_layout(title, meta)
        self._show_link(record)

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        tracker.linkChanged.connect(self._on_link_changed)
        self._apply()
        self.tick()

    # -- construction ------------------------------------------------------------------------------------
    def _build_header(self, record: LinkRecord) -> tuple[QLabel, QLabel]:
        title = QLabel(link_title(record))
        title.setObjectName("linkTitle")
        title.setStyleSheet("font-size: 15px; font-weight: 600;")
        title.setWordWrap(True)
        meta = QLabel(link_meta(record))
        meta.setObjectName("linkMeta")
        # a palette role, not a stylesheet colour: readable in light and dark, and follows a theme switch
        meta.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status_label = QLabel()
        self.status_label.setObjectName("linkStatus")
        self.countdown = QLabel()
        self.countdown.setObjectName("linkCountdown")
        self.countdown.setStyleSheet("font-size: 22px; font-weight: 600;")
        return title, meta

    def _build_widgets(self) -> None:
        self.qr = QLabel()
        self.qr.setObjectName("linkQr")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setMinimumSize(230, 230)

        self.link_edit = QLineEdit()
        self.link_edit.setObjectName("linkUrl")
        self.link_edit.setReadOnly(True)
        self.copy_button = QPushButton(icons.icon("copy"), "Copy link")
        self.copy_button.setObjectName("copyLinkButton")
        self.copy_button.setDefault(True)
        self.copy_button.clicked.connect(self.copy_link)
        self.copied = QLabel()
        self.copied.setObjectName("linkCopied")

        self.message = QPlainTextEdit()
        self.message.setObjectName("linkMessage")
        self.message.setMinimumHeight(150)
        self.copy_message_button = QPushButton(icons.icon("copy"), "Copy message")
        self.copy_message_button.setObjectName("copyMessageButton")
        self.copy_message_button.clicked.connect(self.copy_message)

        self.inspect_button = QPushButton(icons.icon("info"), "Inspect session")
        self.inspect_button.setObjectName("inspectLinkButton")
        self.inspect_button.clicked.connect(self.inspect)
        self.revoke_button = QPushButton(icons.icon("delete"), "Revoke link")
        self.revoke_button.setObjectName("revokeLinkButton")
        self.revoke_button.clicked.connect(self.revoke)
        self.inspect_output = QPlainTextEdit()
        self.inspect_output.setObjectName("linkInspectOutput")
        self.inspect_output.setReadOnly(True)
        self.inspect_output.setVisible(False)

    def _build_layout(self, title: QLabel, meta: QLabel) -> None:
        link_row = QHBoxLayout()
        link_row.addWidget(self.link_edit, 1)
        link_row.addWidget(self.copy_button)
        message_row = QHBoxLayout()
        message_row.addWidget(QLabel("Message for the customer:"))
        message_row.addStretch(1)
        message_row.addWidget(self.copy_message_button)
        actions = QHBoxLayout()
        actions.addWidget(self.inspect_button)
        actions.addWidget(self.revoke_button)
        actions.addStretch(1)

        right = QVBoxLayout()
        right.addLayout(link_row)
        right.addWidget(self.copied)
        expires = QHBoxLayout()
        expires.addWidget(QLabel("Expires in"))
        expires.addWidget(self.countdown)
        expires.addStretch(1)
        right.addLayout(expires)
        right.addLayout(message_row)
        right.addWidget(self.message, 1)
        right.addLayout(actions)

        grid = QGridLayout(self)
        grid.addWidget(title, 0, 0, 1, 2)
        grid.addWidget(meta, 1, 0, 1, 2)
        grid.addWidget(self.status_label, 2, 0, 1, 2)
        grid.addWidget(self.qr, 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addLayout(right, 3, 1)
        grid.addWidget(self.inspect_output, 4, 0, 1, 2)
        grid.setColumnStretch(1, 1)

    def _show_link(self, record: LinkRecord) -> None:
        """The link, its QR code and the message while its token is known; else why it is gone."""
        tracker = self.tracker
        if self.url:
            self.link_edit.setText(self.url)
            self.link_edit.setCursorPosition(0)
            pixmap = qr_pixmap(self.url)
            self.qr.setPixmap(pixmap)
            # never smaller than the code: opening Inspect used to squeeze this row and crop the QR code
            self.qr.setMinimumSize(pixmap.size().expandedTo(self.qr.minimumSize()))
            self._set_message()
            missing = [k for k in record.integration_ids if k not in tracker.integration_names]
            if missing and hasattr(tracker, "fetch_integration_names"):
                tracker.integrationNamesChanged.connect(self._names_loaded)
                tracker.fetch_integration_names()
        else:
            self.link_edit.setText(record.link)
            self.qr.setText(
                "The link itself is no longer available\n(its session token is only kept\nwhile it is alive)."
            )

    def _set_message(self) -> None:
        assert self.url is not None
        self._message = message_template(self.record, self.url, self.tracker.integration_names)
        self.message.setPlainText(self._message)

    @Slot()
    def _names_loaded(self) -> None:
        """Display names arrived: rewrite the message unless the admin has edited it."""
        if self.url and self.message.toPlainText() == self._message:
            self._set_message()

    # -- state ------------------------------------------------------------------------------------------
    def remaining(self) -> float:
        return self.record.remaining(self.tracker.clock())

    def _apply(self) -> None:
        status = self.record.status
        text, color = STATUS_TEXT[status]
        detail = f" — {self.record.status_detail}" if self.record.status_detail else ""
        self.status_label.setText(f"● {text}{detail}")
        self.status_label.setStyleSheet(f"color: {color}; font-weight: 600;")
        alive = self.record.is_alive(self.tracker.clock()) and self.url is not None
        for widget in (self.copy_button, self.copy_message_button, self.inspect_button, self.revoke_button):
            widget.setEnabled(alive)
        self.qr.setEnabled(alive)
        if not alive and self.url and self.qr.pixmap() is not None and not self.qr.pixmap().isNull():
            self.qr.clear()
            self.qr.setText(f"{text}: this link can no longer be used.")
        if status is LinkStatus.PENDING:
            self._timer.start()
        else:
            self._timer.stop()
            self.countdown.setText("—" if status is not LinkStatus.EXPIRED else "expired")

    @Slot()
    def tick(self) -> None:
        if self.record.status is not LinkStatus.PENDING:
            return
        remaining = self.remaining()
        self.countdown.setText(format_remaining(remaining))
        if remaining <= 0:
            self.tracker.sweep()  # marks it expired -> _on_link_changed

    @Slot(object)
    def _on_link_changed(self, record: LinkRecord) -> None:
        if record.id == self.record.id:
            self.record = record
            self._apply()

    # -- actions ----------------------------------------------------------------------------------------
    @Slot()
    def copy_link(self) -> None:
        if self.url:
            QGuiApplication.clipboard().setText(self.url)
            self.copied.setText("Link copied to the clipboard.")

    @Slot()
    def copy_message(self) -> None:
        QGuiApplication.clipboard().setText(self.message.toPlainText())
        self.copied.setText("Message copied to the clipboard.")

    @Slot()
    def revoke(self) -> None:
        self.revoke_button.setEnabled(False)
        self.tracker.revoke(self.record)

    @Slot()
    def inspect(self) -> None:
        self.inspect_output.setVisible(True)
        self.inspect_output.setPlainText("Asking Nango…")
        self.tracker.inspect(self.record, self._on_inspected, self._on_inspect_failed)

    def _on_inspected(self, info: Any) -> None:
        data = info.model_dump(
            mode="json", by_alias=True, exclude={"token", "connect_link"}, exclude_none=True
        )
        self.inspect_output.setPlainText(json.dumps(data, indent=2, sort_keys=True))

    def _on_inspect_failed(self, exc: BaseException) -> None:
        self.inspect_output.setPlainText(
            f"Could not inspect the session: {getattr(exc, 'title', None) or exc}"
        )


class LinkResultDialog(QDialog):
    """A non-modal window around :class:`LinkResultView`."""

    def __init__(
        self, tracker: LinkTracker, record: LinkRecord, url: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("linkResultDialog")
        self.setWindowTitle("Connect link" if record.kind == "new" else "Reconnect link")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.view = LinkResultView(tracker, record, url, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(buttons)
        self.resize(860, 520)
