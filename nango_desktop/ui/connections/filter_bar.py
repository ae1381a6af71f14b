"""The filter bar of the Connections page (a mixin of ``ConnectionsPage``): search (in the list, or on the
server), integrations menu, status, tag filters (``key=value``), clear; ``apply_filter`` for navigation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
)

from nango_desktop.domain.natsort import natural_key
from nango_desktop.ui import icons
from nango_desktop.ui.forms import StayOpenMenu, elide_to, steady_width
from nango_desktop.ui.widgets import SearchLineEdit

if TYPE_CHECKING:
    pass


STATUS_CHOICES: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("All statuses", None),
    ("With errors", frozenset({"auth_error", "sync_error"})),
    ("Auth errors", frozenset({"auth_error"})),
    ("Sync errors", frozenset({"sync_error"})),
    ("OK", frozenset({"ok"})),
)
# navigate(filter={"status": ...}) aliases
STATUS_ALIASES = {
    "all": None,
    "errors": frozenset({"auth_error", "sync_error"}),
    "error": frozenset({"auth_error", "sync_error"}),
    "broken": frozenset({"auth_error"}),
    "auth_error": frozenset({"auth_error"}),
    "sync_error": frozenset({"sync_error"}),
    "ok": frozenset({"ok"}),
}

if TYPE_CHECKING:
    from nango_desktop.ui.connections.proxy import ConnectionsFilterProxy

    _Base = QWidget
else:
    _Base = object


def parse_tag_filter(text: str) -> tuple[dict[str, str], list[str]]:
    """``"plan=pro, region=eu, vip"`` -> ({"plan": "pro", "region": "eu", "vip": ""}, problems)."""
    tags: dict[str, str] = {}
    problems: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, _sep, value = part.partition("=")
        if not key.strip():
            problems.append(f"“{part}” has no tag key")
            continue
        tags[key.strip()] = value.strip()
    return tags, problems


def format_tag_filter(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" if v else k for k, v in tags.items())


class FilterBar(_Base):
    """Filters of the Connections page (``ConnectionsPage`` provides ``ctx``, ``model``, ``proxy``, ...)."""

    proxy: ConnectionsFilterProxy
    _integrations: dict[str, str]  # unique_key -> label

    if TYPE_CHECKING:

        def _tool(self, name: str, icon_name: str, tip: str) -> QToolButton: ...
        def refresh(self) -> None: ...
        def _on_server_search(self, _text: str) -> None: ...
        def _on_server_search_toggled(self, on: bool) -> None: ...
        def export_view(self, fmt: str = "csv", path: str | None = None) -> Any: ...

    def _build_filter_bar(self) -> None:
        self.search = SearchLineEdit(
            self, placeholder="Filter: customer, email, organization, id, tag=value…"
        )
        self.search.setObjectName("connectionsSearch")
        self.search.textChanged.connect(self.proxy.set_text)
        self.search.searchChanged.connect(self._on_server_search)
        self.server_search = QToolButton(self)
        self.server_search.setObjectName("connectionsServerSearch")
        self.server_search.setText("Server search")
        self.server_search.setCheckable(True)
        self.server_search.setToolTip(
            "Also ask Nango to search (reloads the list with ?search=). Nango only matches connection ids and "
            "legacy end-user names/emails; the local filter also covers tags."
        )
        self.server_search.toggled.connect(self._on_server_search_toggled)

        self.integration_button = QToolButton(self)
        self.integration_button.setObjectName("connectionsFilterIntegration")
        self.integration_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.integration_button.setIcon(icons.icon("filter"))
        self.integration_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.integration_menu = StayOpenMenu(self.integration_button)  # tick several without reopening
        self.integration_menu.setObjectName("connectionsIntegrationMenu")
        self.integration_button.setMenu(self.integration_menu)
        steady_width(self.integration_button, ["All integrations", "99 integrations"])
        self._rebuild_integration_menu()

        self.status_combo = QComboBox(self)
        self.status_combo.setObjectName("connectionsFilterStatus")
        for label, statuses in STATUS_CHOICES:
            self.status_combo.addItem(label, statuses)
        self.status_combo.currentIndexChanged.connect(self._on_status_changed)

        self.tag_edit = QLineEdit(self)
        self.tag_edit.setObjectName("connectionsFilterTag")
        self.tag_edit.setPlaceholderText("tag=value, …")
        self.tag_edit.setClearButtonEnabled(True)
        self.tag_edit.setToolTip("Only connections with these tags (key=value; a key alone: has the tag)")
        self.tag_edit.textChanged.connect(self._on_tag_filter_changed)

        self.clear_filters_button = self._tool("connectionsClearFilters", "close", "Clear all filters")
        self.clear_filters_button.clicked.connect(self.clear_filters)
        self.refresh_button = self._tool("connectionsRefresh", "refresh", "Reload every connection (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button = self._tool("connectionsExport", "export", "Export the current view")
        self.export_button.setText("Export")
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        for fmt, name in (("csv", "connectionsExportCsv"), ("json", "connectionsExportJson")):
            action = export_menu.addAction(f"Export view as {fmt.upper()}…")
            action.setObjectName(name)
            action.setData(fmt)
            action.triggered.connect(partial(self.export_view, fmt))
        self.export_button.setMenu(export_menu)

    def apply_filter(self, **kw: Any) -> None:
        """Set filters, e.g. ``status="auth_error"``, ``integrations=["github"]``, ``tags={"k": "v"}``,
        ``search="acme"``. Unnamed filters are left as they are; ``clear=True`` clears them first."""
        if kw.get("clear"):
            self.clear_filters()
        if "status" in kw:
            self.set_status_filter(kw["status"])
        for name in ("integration", "integrations"):
            if name in kw:
                value = kw[name]
                self.set_integration_filter([value] if isinstance(value, str) else value)
        for name in ("tag", "tags"):
            if name in kw:
                value = kw[name]
                self.tag_edit.setText(value if isinstance(value, str) else format_tag_filter(value or {}))
        if "search" in kw:
            self.search.setText(kw["search"] or "")

    def clear_filters(self) -> None:
        self.search.setText("")
        self.status_combo.setCurrentIndex(0)
        self.tag_edit.setText("")
        self.set_integration_filter(None)

    def set_status_filter(self, status: str | Iterable[str] | None) -> None:
        if status is None or isinstance(status, str):
            wanted = STATUS_ALIASES.get((status or "all").lower(), frozenset({status or ""}))
        else:
            wanted = frozenset(status)
        index = next((i for i, (_l, s) in enumerate(STATUS_CHOICES) if s == wanted), None)
        if index is None:  # a combination the combo does not offer
            self.status_combo.blockSignals(True)
            self.status_combo.setCurrentIndex(-1)
            self.status_combo.blockSignals(False)
            self.proxy.set_statuses(wanted)
        else:
            self.status_combo.setCurrentIndex(index)
            self._on_status_changed(index)

    def set_integration_filter(self, integrations: Iterable[str] | None) -> None:
        wanted = set(integrations) if integrations else set()
        for key in wanted - self._integrations.keys():
            self._integrations[key] = key
        self._rebuild_integration_menu(checked=wanted)
        self._apply_integration_menu()

    # -- filters ----------------------------------------------------------------------------------------
    def _rebuild_integration_menu(self, checked: set[str] | None = None) -> None:
        if checked is None:
            checked = {a.data() for a in self.integration_menu.actions() if a.isCheckable() and a.isChecked()}
        self.integration_menu.clear()
        everything = self.integration_menu.addAction("All integrations")
        everything.setObjectName("connectionsIntegrationAll")
        everything.triggered.connect(lambda: self.set_integration_filter(None))
        self.integration_menu.addSeparator()
        for key, label in sorted(self._integrations.items(), key=lambda kv: natural_key(kv[1])):
            action = self.integration_menu.addAction(label if label == key else f"{label} ({key})")
            action.setObjectName(f"connectionsIntegration_{key}")
            action.setCheckable(True)
            action.setChecked(key in checked)
            action.setData(key)
            action.toggled.connect(self._apply_integration_menu)
        self._update_integration_label(checked)

    def checked_integrations(self) -> set[str]:
        return {a.data() for a in self.integration_menu.actions() if a.isCheckable() and a.isChecked()}

    @Slot()
    def _apply_integration_menu(self) -> None:
        checked = self.checked_integrations()
        self.proxy.set_integrations(checked or None)
        self._update_integration_label(checked)

    def _update_integration_label(self, checked: set[str]) -> None:
        if not checked:
            text = "All integrations"
        elif len(checked) == 1:
            text = self._integrations.get(next(iter(checked)), next(iter(checked)))
        else:
            text = f"{len(checked)} integrations"
        names = sorted((self._integrations.get(k, k) for k in checked), key=natural_key)
        self.integration_button.setToolTip("Integrations shown: " + (", ".join(names) if names else "all"))
        self.integration_button.setText(elide_to(self.integration_button, text))

    @Slot(int)
    def _on_status_changed(self, index: int) -> None:
        if index >= 0:
            self.proxy.set_statuses(STATUS_CHOICES[index][1])

    @Slot(str)
    def _on_tag_filter_changed(self, text: str) -> None:
        tags, problems = parse_tag_filter(text)
        self.tag_edit.setToolTip("\n".join(problems) or "Only connections with these tags (key=value)")
        self.proxy.set_tag_filters(tags)
