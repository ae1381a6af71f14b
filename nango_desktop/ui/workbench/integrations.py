"""Integrations page: the environment's integrations (display name, provider, logo, auth mode, number of
connections and of broken ones from the loaded connection list, created), the detail of one
(``GET /integrations/{key}``, its functions) and a jump to its connections."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Slot
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.session import workbench as ops
from nango_desktop.session.binding import SignalTracker
from nango_desktop.ui import icons
from nango_desktop.ui.columns import ColumnLayout
from nango_desktop.ui.theme import BADGE_PALETTE
from nango_desktop.ui.widgets import BusyBar

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

COLUMNS = ("Integration", "Provider", "Auth mode", "Connections", "Broken", "Created")
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
LOGO_ROLE = Qt.ItemDataRole.UserRole + 3  # "logo" once the provider's logo is shown, else "initials"
_PALETTE = BADGE_PALETTE


def logo_icon(provider: str, size: int = 24) -> QIcon:
    """A round badge with the provider's initials: shown until (or instead of) the provider's logo, which is
    fetched on a worker (services/logos.py)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(_PALETTE[sum(map(ord, provider)) % len(_PALETTE)]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(0, 0, size, size)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.42))
    painter.setFont(font)
    painter.setPen(QColor("white"))
    initials = "".join(p[0] for p in provider.replace("_", "-").split("-") if p)[:2].upper() or "?"
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, initials)
    painter.end()
    return QIcon(pixmap)


def _visible(pixmap: QPixmap) -> bool:
    """False for a logo that renders to nothing (an SVG using features Qt's SVG Tiny renderer lacks)."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    return any(image.pixelColor(x, y).alpha() for y in range(image.height()) for x in range(image.width()))


def connection_counts(connections: Sequence[Any]) -> tuple[Counter, Counter]:
    total: Counter = Counter()
    broken: Counter = Counter()
    for conn in connections:
        total[conn.provider_config_key] += 1
        if getattr(conn, "has_errors", None) or getattr(conn, "errors", None):  # rows: no model built
            broken[conn.provider_config_key] += 1
    return total, broken


class IntegrationsPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("integrationsPage")
        self.ctx = ctx
        self.integrations: list[Any] = []
        self.auth_modes: dict[str, str] = {}
        self._seq = 0
        self._loaded_once = False
        self._logos: dict[str, QIcon] = {}  # logo URL -> icon (this session)
        self._logos_asked: set[str] = set()  # logo URLs already asked for (each once a session)

        self.search = QLineEdit()
        self.search.setObjectName("integrationsSearch")
        self.search.setPlaceholderText("Filter integrations")
        self.search.setClearButtonEnabled(True)
        self.refresh_button = QPushButton(icons.icon("refresh"), "Refresh")
        self.refresh_button.setObjectName("integrationsRefresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel("")
        self.summary.setObjectName("integrationsSummary")
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.refresh_button)
        self.busy = BusyBar(self)

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setObjectName("integrationsTable")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setIconSize(icons_size())
        self.view.setWordWrap(False)  # one line per integration (elided, whole in the tooltip)
        # fitted to content, Integration stretches, squeezed rather than scrolled; header menu chooses columns
        self.columns = ColumnLayout(self.view, "integrations", stretch=0, required=(0, 4))
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.view.doubleClicked.connect(lambda _i: self.show_connections())

        self.detail_title = QLabel("Select an integration")
        self.detail_title.setObjectName("integrationTitle")
        font = self.detail_title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.detail_title.setFont(font)
        self.detail_info = QLabel("")
        self.detail_info.setObjectName("integrationInfo")
        self.detail_info.setWordWrap(True)
        self.detail_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.functions = QPlainTextEdit()
        self.functions.setObjectName("integrationFunctions")
        self.functions.setReadOnly(True)
        self.connections_button = QPushButton(icons.icon("connections"), "Show its connections")
        self.connections_button.setObjectName("integrationShowConnections")
        self.connections_button.clicked.connect(self.show_connections)
        self.connections_button.setEnabled(False)
        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.addWidget(self.detail_title)
        dl.addWidget(self.detail_info)
        dl.addWidget(QLabel("Functions"))
        dl.addWidget(self.functions, 1)
        dl.addWidget(self.connections_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.busy)
        layout.addWidget(splitter, 1)
        self._bound = SignalTracker()  # binding to the session's connections store
        ctx.sessionChanged.connect(self._bind_session)
        self._bind_session(ctx.session)
        ctx.profileChanged.connect(self._profile_changed)

    @Slot(object)
    def _bind_session(self, _session: object) -> None:
        self._bound.rebind((self.ctx.connections_store.loaded, self._connections_changed))

    # -- page API --------------------------------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._loaded_once and getattr(self.ctx, "profile", None) is not None:
            self.refresh()

    def on_navigate(self, **kw: Any) -> None:
        if kw.get("integration"):
            self.select(kw["integration"])

    def focus_search(self) -> None:
        self.search.setFocus()

    @Slot()
    def refresh(self) -> None:
        self._loaded_once = True
        self._seq += 1
        seq = self._seq
        self.busy.start("Loading integrations…")

        def done(result: tuple[list[Any], dict[str, str]]) -> None:
            if seq == self._seq:
                self.busy.finish()
                self.integrations, self.auth_modes = result
                self._fill()

        def failed(exc: BaseException) -> None:
            if seq == self._seq:
                self.busy.finish()
                self.summary.setText(f"Could not load the integrations: {getattr(exc, 'title', exc)}")

        ops.load_integrations(self.ctx.session, on_done=done, on_error=failed)

    @Slot(object)
    def _connections_changed(self, _connections: object) -> None:
        if self.integrations:
            self._fill()

    @Slot(object)
    def _profile_changed(self, _profile: object) -> None:
        self.integrations, self.auth_modes = [], {}
        self._loaded_once = False
        self.model.removeRows(0, self.model.rowCount())
        self._show_detail(None, [])
        if self.isVisible():
            self.refresh()

    def _fill(self) -> None:
        current = self.current_key()
        connections = list(getattr(self.ctx, "connections", None) or [])
        total, broken = connection_counts(connections)
        self.model.removeRows(0, self.model.rowCount())
        for integ in self.integrations:
            created = (integ.created_at or "")[:10]
            count = total.get(integ.unique_key, 0) if connections else None
            bad = broken.get(integ.unique_key, 0) if connections else None
            cells = [
                (
                    f"{integ.label}\n{integ.unique_key}"
                    if integ.label != integ.unique_key
                    else integ.unique_key,
                    integ.label.casefold(),
                ),
                (integ.provider, integ.provider),
                (self.auth_modes.get(integ.provider, "") or "—", self.auth_modes.get(integ.provider, "")),
                ("—" if count is None else f"{count:,}", -1 if count is None else count),
                ("—" if bad is None else f"{bad:,}", -1 if bad is None else bad),
                (created or "—", integ.created_at or ""),
            ]
            items = []
            for text, key in cells:
                item = QStandardItem(text.split("\n")[0])
                item.setData(key, SORT_ROLE)
                item.setData(integ.unique_key, KEY_ROLE)
                items.append(item)
            logo = self._logos.get(integ.logo or "")
            items[0].setIcon(logo or logo_icon(integ.provider))
            items[0].setData("logo" if logo else "initials", LOGO_ROLE)
            items[0].setToolTip(f"{integ.label} ({integ.unique_key})\nlogo: {integ.logo or '—'}")
            if bad:
                items[4].setForeground(QColor(icons.STATUS_COLORS["error"]))
            self.model.appendRow(items)
        if self.model.rowCount():
            self.columns.fit(force=True)  # counts change width as connections arrive
        loaded = (
            f"{len(connections):,} connections loaded"
            if connections
            else "connection counts appear once the Connections page has loaded"
        )
        self.summary.setText(f"{len(self.integrations)} integrations · {loaded}")
        if current:
            self.select(current)
        self._fetch_logos()

    def _fetch_logos(self) -> None:
        missing = sorted({i.logo for i in self.integrations if i.logo} - self._logos_asked)
        if missing:
            self._logos_asked.update(missing)
            ops.load_logos(self.ctx, missing, on_done=self._logos_loaded)

    @Slot(object)
    def _logos_loaded(self, found: dict[str, bytes]) -> None:
        shown = False
        for url, data in found.items():
            pixmap = QPixmap()
            if pixmap.loadFromData(data) and _visible(pixmap):
                self._logos[url] = QIcon(pixmap)
                shown = True
        if not shown:
            return
        by_key = {i.unique_key: self._logos.get(i.logo or "") for i in self.integrations}
        for row in range(self.model.rowCount()):
            item = self.model.item(row, 0)
            icon = by_key.get(item.data(KEY_ROLE))
            if icon is not None:
                item.setIcon(icon)
                item.setData("logo", LOGO_ROLE)

    def current_key(self) -> str | None:
        index = self.view.currentIndex()
        return index.data(KEY_ROLE) if index.isValid() else None

    def select(self, key: str) -> bool:
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(KEY_ROLE) == key:
                self.view.selectRow(row)
                return True
        return False

    @Slot()
    def _selected(self, *_args: Any) -> None:
        key = self.current_key()
        self.connections_button.setEnabled(key is not None)
        if key is None:
            return
        self._seq += 1
        seq = self._seq
        self.detail_title.setText(key)
        self.functions.setPlainText("Loading…")
        ops.load_integration_detail(
            self.ctx.session,
            key,
            on_done=lambda result: self._show_detail(*result) if seq == self._seq else None,
            on_error=lambda exc: self._detail_failed(seq, exc),
        )

    def _detail_failed(self, seq: int, exc: BaseException) -> None:
        if seq == self._seq:
            self.functions.setPlainText(f"Could not load: {getattr(exc, 'title', exc)}")

    def _show_detail(self, detail: Any, functions: list[Any]) -> None:
        if detail is None:
            self.detail_title.setText("Select an integration")
            self.detail_info.setText("")
            self.functions.clear()
            return
        self.detail_title.setText(detail.label)
        lines = [
            f"Unique key: {detail.unique_key}",
            f"Provider: {detail.provider} · auth {self.auth_modes.get(detail.provider) or '—'}",
            f"Created {(detail.created_at or '—')[:19].replace('T', ' ')} · updated {(detail.updated_at or '—')[:19].replace('T', ' ')}",
        ]
        if detail.webhook_url:
            lines.append(f"Webhook URL: {detail.webhook_url}")
        if detail.forward_webhooks is not None:
            lines.append(f"Forwards webhooks: {'yes' if detail.forward_webhooks else 'no'}")
        self.detail_info.setText("\n".join(lines))
        rows = []
        for fn in functions:
            kind = fn.type or ("action" if fn.runs is None and not fn.model_names else "sync")
            extra = (
                f"models {', '.join(fn.model_names)} · {fn.runs}"
                if kind == "sync"
                else f"input {fn.input_name or '—'}"
            )
            rows.append(f"{kind:7} {fn.name}  ({extra})")
        self.functions.setPlainText("\n".join(rows) or "No functions deployed.")

    @Slot()
    def show_connections(self) -> None:
        key = self.current_key()
        if key:
            self.ctx.navigate("connections", filter={"clear": True, "integrations": [key]})


def icons_size() -> Any:
    from PySide6.QtCore import QSize

    return QSize(20, 20)
