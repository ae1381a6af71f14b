"""Proxy console: send a request to the external API as the connection (any method, query, headers, body,
Retries, Base-Url-Override) and see the status, headers, timing and the body pretty-printed, with a history.

GET (and HEAD/OPTIONS) is one click; POST/PUT/PATCH/DELETE ask for confirmation, and on a production profile
the user types the connection id. "Copy as curl" never contains the API key: ``$NANGO_SECRET_KEY`` instead.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.curl import as_curl
from nango_desktop.domain.workbench import ProxyRequest, ProxyResponse
from nango_desktop.session import workbench as ops
from nango_desktop.ui import icons
from nango_desktop.ui.widgets import BusyBar
from nango_desktop.ui.workbench.confirm import confirm_change

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODY_PREVIEW = 2_000_000  # characters of a body shown (the rest is cut, with a note)


def parse_pairs(text: str, sep: str) -> tuple[list[tuple[str, str]], list[str]]:
    """``Name: value`` (headers) or ``name=value`` (query) lines; blank lines and ``#`` comments skipped."""
    pairs, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, found, value = line.partition(sep)
        if not found or not name.strip():
            problems.append(f"line {number}: expected NAME{sep}VALUE")
            continue
        pairs.append((name.strip(), value.strip()))
    return pairs, problems


def pretty_body(response: ProxyResponse) -> str:
    text = response.text()
    if "json" in response.content_type or text[:1] in "{[":
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    if len(text) > BODY_PREVIEW:
        text = text[:BODY_PREVIEW] + f"\n… ({len(response.content):,} bytes in all; cut here)"
    return text


class ProxyConsoleTab(QWidget):
    responded = Signal(object)  # ProxyResponse

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workbenchProxy")
        self.ctx = ctx
        self.connection_id: str | None = None
        self.integration_id: str | None = None
        self._task: Any = None
        self._seq = 0
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.method = QComboBox()
        self.method.setObjectName("proxyMethod")
        self.method.addItems(METHODS)
        self.path = QLineEdit()
        self.path.setObjectName("proxyPath")
        self.path.setPlaceholderText("/path of the external API, e.g. /user")
        self.path.returnPressed.connect(self.send)
        self.send_button = QPushButton(icons.icon("send"), "Send")
        self.send_button.setObjectName("proxySend")
        self.send_button.clicked.connect(self.send)
        self.curl_button = QPushButton(icons.icon("copy"), "Copy as curl")
        self.curl_button.setObjectName("proxyCopyCurl")
        self.curl_button.setToolTip("A curl command with $NANGO_SECRET_KEY in place of the API key")
        self.curl_button.clicked.connect(self.copy_as_curl)
        top = QHBoxLayout()
        top.addWidget(self.method)
        top.addWidget(self.path, 1)
        top.addWidget(self.send_button)
        top.addWidget(self.curl_button)

        self.query = QPlainTextEdit()
        self.query.setObjectName("proxyQuery")
        self.query.setPlaceholderText("name=value, one per line")
        self.headers = QPlainTextEdit()
        self.headers.setObjectName("proxyHeaders")
        self.headers.setPlaceholderText("Name: value, one per line (sent to the external API)")
        self.body = QPlainTextEdit()
        self.body.setObjectName("proxyBody")
        self.body.setFont(mono)
        self.body.setPlaceholderText("Request body (JSON or text)")
        self.retries = QSpinBox()
        self.retries.setObjectName("proxyRetries")
        self.retries.setRange(0, 10)
        self.retries.setToolTip("Nango's Retries header: retries on 5xx/429 with exponential back-off")
        self.base_url = QLineEdit()
        self.base_url.setObjectName("proxyBaseUrl")
        self.base_url.setPlaceholderText("Base-Url-Override (optional)")
        options = QWidget()
        form = QFormLayout(options)
        form.addRow("Retries", self.retries)
        form.addRow("Base URL override", self.base_url)
        self.request_tabs = QTabWidget()
        self.request_tabs.setObjectName("proxyRequestTabs")
        self.request_tabs.addTab(self.query, "Query")
        self.request_tabs.addTab(self.headers, "Headers")
        self.request_tabs.addTab(self.body, "Body")
        self.request_tabs.addTab(options, "Options")
        self.problems = QLabel("")
        self.problems.setObjectName("proxyProblems")
        self.problems.setStyleSheet(f"color: {icons.STATUS_COLORS['error']};")
        self.problems.setWordWrap(True)
        self.problems.hide()

        self.busy = BusyBar(self)
        self.busy.cancelRequested.connect(self.cancel)
        self.status = QLabel("")
        self.status.setObjectName("proxyStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.response_body = QPlainTextEdit()
        self.response_body.setObjectName("proxyResponseBody")
        self.response_body.setReadOnly(True)
        self.response_body.setFont(mono)
        self.response_headers = QPlainTextEdit()
        self.response_headers.setObjectName("proxyResponseHeaders")
        self.response_headers.setReadOnly(True)
        self.response_headers.setFont(mono)
        self.response_tabs = QTabWidget()
        self.response_tabs.addTab(self.response_body, "Body")
        self.response_tabs.addTab(self.response_headers, "Headers")
        self.history = QListWidget()
        self.history.setObjectName("proxyHistory")
        self.history.setToolTip("Recent requests of this profile (double-click to load one)")
        self.history.itemActivated.connect(self._reuse)

        request_box = QWidget()
        rl = QVBoxLayout(request_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.request_tabs, 1)
        rl.addWidget(self.problems)
        rl.addWidget(QLabel("History"))
        rl.addWidget(self.history, 1)
        response_box = QWidget()
        rr = QVBoxLayout(response_box)
        rr.setContentsMargins(0, 0, 0, 0)
        rr.addWidget(self.status)
        rr.addWidget(self.response_tabs, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(request_box)
        splitter.addWidget(response_box)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.busy)
        layout.addWidget(splitter, 1)

    # -- state ------------------------------------------------------------------------------------------
    def set_connection(self, connection_id: str | None, integration_id: str | None) -> None:
        if (connection_id, integration_id) != (self.connection_id, self.integration_id):
            self.cancel()
            self.connection_id, self.integration_id = connection_id, integration_id
            self.status.setText("")
            self.response_body.clear()
            self.response_headers.clear()

    @property
    def production(self) -> bool:
        profile = getattr(self.ctx, "profile", None)
        return bool(profile is not None and profile.production)

    def build_request(self) -> tuple[ProxyRequest | None, list[str]]:
        problems: list[str] = []
        if self.connection_id is None or self.integration_id is None:
            return None, ["Select a connection first."]
        path = self.path.text().strip()
        if not path:
            problems.append("Type the path of the external API (e.g. /user).")
        query, q_problems = parse_pairs(self.query.toPlainText(), "=")
        headers, h_problems = parse_pairs(self.headers.toPlainText(), ":")
        problems += [f"Query {p}" for p in q_problems] + [f"Headers {p}" for p in h_problems]
        base = self.base_url.text().strip()
        if base and not base.startswith(("http://", "https://")):
            problems.append("The base URL override must start with http:// or https://")
        if problems:
            return None, problems
        body = self.body.toPlainText()
        return (
            ProxyRequest(
                method=self.method.currentText(),
                path=path,
                connection_id=self.connection_id,
                integration_id=self.integration_id,
                query=query,
                headers=headers,
                body=body if body.strip() else None,
                retries=self.retries.value() or None,
                base_url_override=base or None,
            ),
            [],
        )

    def _show_problems(self, problems: list[str]) -> None:
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))

    # -- send -----------------------------------------------------------------------------------------------
    def confirm(self, request: ProxyRequest) -> bool:
        """GET is one click; a write asks, and on production the user types the connection id."""
        if request.is_read_only:
            return True
        return confirm_change(
            self,
            f"Send {request.method} to the external API",
            f"{request.method} {request.path} as connection {request.connection_id} ({request.integration_id}) "
            "may change the customer's data in the external API.",
            production=self.production,
            connection_id=request.connection_id,
        )

    @Slot()
    def send(self) -> None:
        if self._task is not None:
            return
        request, problems = self.build_request()
        self._show_problems(problems)
        if request is None or not self.confirm(request):
            return
        self._seq += 1
        seq = self._seq
        self.busy.start(f"{request.method} {request.path}…", cancellable=True)
        self.send_button.setEnabled(False)

        def done(response: ProxyResponse) -> None:
            self._task = None
            self.send_button.setEnabled(True)
            self.busy.finish()
            self._record(request, response.status, response.elapsed, response.ok, self._summary(response))
            if seq == self._seq:
                self.show_response(response)

        def failed(exc: BaseException) -> None:
            self._task = None
            self.send_button.setEnabled(True)
            self.busy.finish()
            title = getattr(exc, "title", str(exc))
            self._record(request, None, 0.0, False, title)
            if seq == self._seq:
                self.status.setText(f"✖ {title}\n{getattr(exc, 'detail', '')}".strip())
                self.status.setStyleSheet(f"color: {icons.STATUS_COLORS['error']};")

        self._task = ops.send_proxy(self.ctx.session, request, on_done=done, on_error=failed)

    @Slot()
    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    @staticmethod
    def _summary(response: ProxyResponse) -> str:
        return f"HTTP {response.status}" + (
            f" from Nango ({response.nango_error})" if response.nango_error else ""
        )

    def show_response(self, response: ProxyResponse) -> None:
        took = f"{response.elapsed * 1000:.0f} ms"
        size = f"{len(response.content):,} bytes"
        source = f" · refused by Nango ({response.nango_error})" if response.nango_error else ""
        self.status.setText(f"HTTP {response.status} · {took} · {size}{source}")
        color = "ok" if response.ok else "error"
        self.status.setStyleSheet(f"color: {icons.STATUS_COLORS[color]}; font-weight: bold;")
        self.response_body.setPlainText(pretty_body(response))
        self.response_headers.setPlainText("\n".join(f"{k}: {v}" for k, v in response.headers))
        self.responded.emit(response)

    # -- curl ---------------------------------------------------------------------------------------------
    def curl_command(self) -> str | None:
        request, problems = self.build_request()
        self._show_problems(problems)
        if request is None:
            return None
        profile = getattr(self.ctx, "profile", None)
        base = profile.api_url if profile is not None else "https://api.nango.dev"
        return as_curl(base, request)

    @Slot()
    def copy_as_curl(self) -> None:
        command = self.curl_command()
        if command is not None:
            QGuiApplication.clipboard().setText(command)
            self.ctx.notify("Copied", "curl command (set NANGO_SECRET_KEY in your shell)")

    # -- history ------------------------------------------------------------------------------------------
    def _record(
        self, request: ProxyRequest, status: int | None, elapsed: float, ok: bool, summary: str
    ) -> None:
        fields = {
            "method": request.method, "path": request.path, "query": request.query, "headers": request.headers,
            "body": request.body, "retries": request.retries, "base_url_override": request.base_url_override,
        }  # fmt: skip
        task = ops.record_run(
            self.ctx.session, "proxy", integration_id=request.integration_id, connection_id=request.connection_id,
            name=f"{request.method} {request.path}", request=fields, duration=elapsed, ok=ok, status=status,
            summary=summary,
        )  # fmt: skip
        task.signals.done.connect(self.load_history)

    @Slot()
    def load_history(self) -> None:
        ops.recent_runs(self.ctx.session, "proxy", on_done=self._show_history)

    def _show_history(self, runs: list[Any]) -> None:
        self.history.clear()
        for run in runs[:30]:
            status = run.status if run.status is not None else "—"
            item = QListWidgetItem(
                f"{status}  {run.name}  · {run.connection_id} · {run.duration * 1000:.0f} ms"
            )
            if not run.ok:
                item.setForeground(QColor(icons.STATUS_COLORS["error"]))
            item.setData(Qt.ItemDataRole.UserRole, run)
            self.history.addItem(item)

    @Slot(QListWidgetItem)
    def _reuse(self, item: QListWidgetItem) -> None:
        run = item.data(Qt.ItemDataRole.UserRole)
        req = run.request or {}
        self.method.setCurrentText(req.get("method", "GET"))
        self.path.setText(req.get("path", ""))
        self.query.setPlainText("\n".join(f"{k}={v}" for k, v in req.get("query") or []))
        self.headers.setPlainText("\n".join(f"{k}: {v}" for k, v in req.get("headers") or []))
        self.body.setPlainText(req.get("body") or "")
        self.retries.setValue(int(req.get("retries") or 0))
        self.base_url.setText(req.get("base_url_override") or "")
