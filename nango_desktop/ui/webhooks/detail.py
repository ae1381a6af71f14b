"""EventDetail: everything about one received webhook.

Tabs: pretty JSON body (for a malformed body the raw text with the syntax-error position highlighted),
headers, raw body, the signature check (expected vs received for both Nango headers, which key matched) and
the forwards/replays of the event with their status and latency. Actions (pin, open connection, replay)
are emitted as signals; the page runs them off the GUI thread. "Copy as curl" is local (clipboard).
"""

from __future__ import annotations

import html
import json
import shlex
import time
from collections.abc import Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QStandardItem,
    QStandardItemModel,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.events import REDACTED, ForwardResult, StoredEvent
from nango_desktop.domain.webhooks import MATCH, MISMATCH, NOT_SENT, loads_strict
from nango_desktop.services.signing import HMAC_HEADER, LEGACY_HEADER, VerificationStatus
from nango_desktop.ui import theme
from nango_desktop.ui.forms import ElidedLabel
from nango_desktop.ui.webhooks.model import SIGNATURE_COLOR, format_time

SKIP_CURL_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "expect"}
MAX_PRETTY_BYTES = 2 * 1024 * 1024


def curl_command(event: StoredEvent, url: str) -> str:
    """A shell command that re-sends ``event`` (same headers and exact body bytes) to ``url``."""
    parts = [f"curl -sS -X {shlex.quote(event.method or 'POST')} {shlex.quote(url)}"]
    for name, value in event.headers.items():
        if name.lower() in SKIP_CURL_HEADERS or value == REDACTED:
            continue
        parts.append(f"-H {shlex.quote(f'{name}: {value}')}")
    try:
        text = event.body.decode("utf-8")
    except UnicodeDecodeError:
        escaped = "".join(f"\\x{b:02x}" for b in event.body)
        parts.append("--data-binary @-")
        return f"printf '{escaped}' | " + " \\\n  ".join(parts)
    parts.append(f"--data-binary {shlex.quote(text)}")
    return " \\\n  ".join(parts)


def error_position(body: bytes) -> tuple[int, str] | None:
    """Where a malformed body goes wrong: (character index in the 'replace'-decoded text, message)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        index = len(body[: exc.start].decode("utf-8", "replace"))
        return index, f"Invalid UTF-8 byte 0x{body[exc.start]:02x} at byte offset {exc.start}"
    offset = 1 if text.startswith("\ufeff") else 0
    try:
        loads_strict(text[offset:])
    except json.JSONDecodeError as exc:
        return exc.pos + offset, f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    except RecursionError:
        return 0, "Nested too deeply"
    except ValueError as exc:  # NaN, a number out of range or of too many digits: no position
        return 0, str(exc)[:200]
    return None


def _monospace() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _code_view(name: str) -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setObjectName(name)
    view.setReadOnly(True)
    view.setFont(_monospace())
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    return view


class EventDetail(QWidget):
    """Detail of one StoredEvent. Set it with :meth:`set_event`; actions come out as signals."""

    pinRequested = Signal(int, bool)  # (event id, pinned)
    openConnectionRequested = Signal(str, str)  # (connection_id, integration_id)
    replayRequested = Signal(object)  # StoredEvent
    curlCopied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("webhookDetail")
        self._event: StoredEvent | None = None
        self._target_url: str | None = None

        # one line, elided (whole in the tooltip): a long title must not push the buttons down
        self.title = ElidedLabel("Select an event")
        self.title.setObjectName("webhookDetailTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)

        self.pin_button = QPushButton("Pin")
        self.pin_button.setObjectName("webhookPin")
        self.pin_button.setCheckable(True)
        self.pin_button.setToolTip("Pinned events are kept by retention")
        self.pin_button.clicked.connect(self._on_pin)
        self.open_button = QPushButton("Open connection")
        self.open_button.setObjectName("webhookOpenConnection")
        self.open_button.clicked.connect(self._on_open)
        self.curl_button = QPushButton("Copy as curl")
        self.curl_button.setObjectName("webhookCopyCurl")
        self.curl_button.clicked.connect(self.copy_curl)
        self.replay_button = QPushButton("Replay")
        self.replay_button.setObjectName("webhookReplay")
        self.replay_button.setToolTip(
            "Send again to the forward URL, marked as a replay; re-signed only if the event was verified "
            "(others go unsigned). Asks first."
        )
        self.replay_button.clicked.connect(self._on_replay)

        buttons = QHBoxLayout()
        for button in (self.pin_button, self.open_button, self.curl_button, self.replay_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        # never narrower than its buttons: the pane collapses (Details) rather than cutting them
        self.setMinimumWidth(sum(b.sizeHint().width() for b in (self.pin_button, self.open_button,
                                 self.curl_button, self.replay_button)) + 40)  # fmt: skip

        self.problem = QLabel()
        self.problem.setObjectName("webhookMalformed")
        self.problem.setStyleSheet(f"color: {theme.MALFORMED_PURPLE};")
        self.problem.setWordWrap(True)
        self.problem.hide()

        self.body_view = _code_view("webhookBody")
        self.raw_view = _code_view("webhookRaw")
        self.raw_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.headers_model = QStandardItemModel(0, 2, self)
        self.headers_model.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers_view = QTableView()
        self.headers_view.setObjectName("webhookHeaders")
        self.headers_view.setModel(self.headers_model)
        self.headers_view.verticalHeader().hide()
        self.headers_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.headers_view.horizontalHeader().setStretchLastSection(True)
        self.headers_view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.signature_view = QTextBrowser()
        self.signature_view.setObjectName("webhookSignature")
        self.forwards_view = QTextBrowser()
        self.forwards_view.setObjectName("webhookForwards")

        self.tabs = QTabWidget()
        self.tabs.setObjectName("webhookDetailTabs")
        self.tabs.addTab(self.body_view, "Body")
        self.tabs.addTab(self.headers_view, "Headers")
        self.tabs.addTab(self.raw_view, "Raw")
        self.tabs.addTab(self.signature_view, "Signature")
        self.tabs.addTab(self.forwards_view, "Forwards")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(self.problem)
        layout.addWidget(self.tabs, 1)
        self.set_event(None)

    # -- public ---------------------------------------------------------------------------------------
    @property  # the shown event (shadows QWidget.event(), which Qt never calls on this panel by name)
    def event(self) -> StoredEvent | None:  # type: ignore[override]
        return self._event

    def set_target_url(self, url: str | None) -> None:
        """Where "Copy as curl" sends to (the forward URL, else the listener's URL)."""
        self._target_url = url

    def set_replay_available(self, available: bool, reason: str = "") -> None:
        self.replay_button.setEnabled(available and self._event is not None)
        if reason:
            self.replay_button.setToolTip(reason)

    def set_event(self, event: StoredEvent | None) -> None:
        same = event is not None and self._event is not None and event.id == self._event.id
        self._event = event
        has = event is not None
        for button in (self.pin_button, self.curl_button, self.replay_button):
            button.setEnabled(has)
        if event is None:
            self.title.setText("Select an event to see its body, headers and signature check")
            self.open_button.setEnabled(False)
            for view in (self.body_view, self.raw_view):
                view.clear()
            self.headers_model.setRowCount(0)
            self.signature_view.clear()
            self.forwards_view.clear()
            self.problem.hide()
            return
        self.pin_button.setChecked(event.pinned)
        self.pin_button.setText("Unpin" if event.pinned else "Pin")
        s = event.summary
        self.open_button.setEnabled(bool(s and s.connection_id and s.integration))
        what = s.describe() if s is not None else "malformed body"
        replay = f" · replay of #{event.replay_of}" if event.replay_of is not None else ""
        dups = f" · received {event.duplicates + 1}×" if event.duplicates else ""
        self.title.setText(f"#{event.id} · {format_time(event.received_at)} · {what}{replay}{dups}")
        if same:
            return  # only counters or the pin state changed: keep the scroll positions
        self._show_body(event)
        self._show_headers(event)
        self.signature_view.setHtml(signature_html(event))
        self.forwards_view.setHtml(forwards_html([]))

    def set_forwards(self, event_id: int, forwards: Sequence[ForwardResult]) -> None:
        if self._event is not None and self._event.id == event_id:
            self.forwards_view.setHtml(forwards_html(forwards))

    # -- content --------------------------------------------------------------------------------------
    def _show_body(self, event: StoredEvent) -> None:
        raw_text = event.body.decode("utf-8", "replace")
        self.raw_view.setPlainText(raw_text)
        problem = error_position(event.body) if event.malformed else None
        if problem is None:
            self.problem.hide()
            self.body_view.setExtraSelections([])
            data = event.json()
            if data is None or len(event.body) > MAX_PRETTY_BYTES:
                self.body_view.setPlainText(raw_text)
            else:
                self.body_view.setPlainText(json.dumps(data, indent=2, ensure_ascii=False))
            return
        position, message = problem
        self.problem.setText(f"Malformed body: {message} (highlighted below)")
        self.problem.show()
        self.body_view.setPlainText(raw_text)
        cursor = QTextCursor(self.body_view.document())
        cursor.setPosition(min(position, len(raw_text)))
        cursor.movePosition(QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        selection.cursor = cursor  # type: ignore[attr-defined]
        selection.format.setBackground(QColor(theme.MATCH_HIGHLIGHT))  # type: ignore[attr-defined]
        selection.format.setForeground(QColor(theme.MATCH_TEXT))  # type: ignore[attr-defined]
        self.body_view.setExtraSelections([selection])
        cursor.clearSelection()
        self.body_view.setTextCursor(cursor)
        self.body_view.ensureCursorVisible()

    def _show_headers(self, event: StoredEvent) -> None:
        self.headers_model.setRowCount(0)
        for name, value in event.headers.items():
            self.headers_model.appendRow([QStandardItem(name), QStandardItem(value)])
        for extra, value in (("(peer)", event.peer), ("(request)", f"{event.method} {event.path}")):
            row = [QStandardItem(extra), QStandardItem(value)]
            for item in row:
                item.setForeground(QColor(theme.MUTED_GREY))
            self.headers_model.appendRow(row)

    # -- actions --------------------------------------------------------------------------------------
    @Slot()
    def copy_curl(self) -> str | None:
        if self._event is None:
            return None
        url = self._target_url or f"http://127.0.0.1{self._event.path or '/'}"
        command = curl_command(self._event, url)
        QGuiApplication.clipboard().setText(command)
        self.curlCopied.emit(command)
        return command

    @Slot(bool)
    def _on_pin(self, checked: bool) -> None:
        if self._event is not None:
            self.pinRequested.emit(self._event.id, checked)

    @Slot()
    def _on_open(self) -> None:
        s = self._event.summary if self._event is not None else None
        if s is not None and s.connection_id and s.integration:
            self.openConnectionRequested.emit(s.connection_id, s.integration)

    @Slot()
    def _on_replay(self) -> None:
        if self._event is not None:
            self.replayRequested.emit(self._event)


def _key_name(index: int | None) -> str:
    if index is None:
        return "none"
    return "the current key" if index == 0 else f"the previous key (#{index})"


def signature_html(event: StoredEvent) -> str:
    """Which header verified the event with which key, or why it did not; never the signature a key would
    give the body (for an event that did not verify, that would hand its sender a valid signature)."""
    v = event.verification
    color = SIGNATURE_COLOR.get(v.status, QColor(theme.FALLBACK_TEXT)).name()
    status = {
        VerificationStatus.VERIFIED: f"Verified with {v.header} and {_key_name(v.key_index)}",
        VerificationStatus.INVALID: "Invalid: the signature does not match",
        VerificationStatus.UNSIGNED: "Unsigned: neither Nango signature header was sent",
        VerificationStatus.NO_KEY: "Not checked: no webhook signing key is configured for this profile",
    }.get(v.status, str(v.status))
    if v.legacy_only:
        status += " (legacy signature only: weaker)"
    rows = []
    for header, received, result, how in (
        (HMAC_HEADER, v.received_hmac, v.hmac_result, "HMAC-SHA256(key, raw body)"),
        (LEGACY_HEADER, v.received_legacy, v.legacy_result, "SHA-256(key + raw body), legacy"),
    ):
        verdict = {MATCH: "match", MISMATCH: "does not match", NOT_SENT: "not sent"}.get(result or "", "—")
        mark = (
            theme.SUCCESS_GREEN
            if result == MATCH
            else theme.FAILURE_RED
            if result == MISMATCH
            else theme.MUTED_GREY
        )
        rows.append(
            f"<tr><td><b>{html.escape(header)}</b><br><small>{how}</small></td>"
            f"<td><code>{html.escape(received or '(not sent)')}</code></td>"
            f"<td style='color:{mark}'><b>{verdict}</b></td></tr>"
        )
    notes = []
    if v.reason and (not v.ok or v.legacy_only):
        notes.append(html.escape(v.reason or ""))
    if v.key_fingerprint:
        which = "Matched" if v.ok else "Checked against"
        notes.append(f"{which} {_key_name(v.key_index if v.ok else 0)}, fingerprint {v.key_fingerprint}")
    return (
        f"<p style='color:{color}'><b>{html.escape(status)}</b></p>"
        "<table border='1' cellspacing='0' cellpadding='4'>"
        "<tr><th>Header</th><th>Received</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
        + "".join(f"<p><small>{note}</small></p>" for note in notes)
    )


def forwards_html(forwards: Sequence[ForwardResult]) -> str:
    if not forwards:
        return "<p>No forwards yet. Set a forward URL to forward each event, or press Replay.</p>"
    rows = []
    for f in forwards:
        color = theme.SUCCESS_GREEN if f.ok else theme.FAILURE_RED
        status = str(f.status) if f.status is not None else html.escape(f.error or "failed")
        latency = f"{f.latency * 1000:.0f} ms" if f.latency is not None else ""
        body = html.escape((f.response_body or "")[:500])
        kind = "replay" if f.replay else "forward"
        when = time.strftime("%H:%M:%S", time.localtime(f.at))
        rows.append(
            f"<tr><td>{when}</td><td>{kind}</td><td>{html.escape(f.url)}</td>"
            f"<td style='color:{color}'><b>{status}</b></td><td>{latency}</td><td><code>{body}</code></td></tr>"
        )
    return (
        "<table border='1' cellspacing='0' cellpadding='4'>"
        "<tr><th>At</th><th>Kind</th><th>URL</th><th>Status</th><th>Latency</th><th>Response</th></tr>"
        + "".join(rows)
        + "</table>"
    )
