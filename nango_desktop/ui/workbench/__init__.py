"""The connection workbench (GUI): Records, Syncs (control), Actions and Proxy tabs in the connection detail,
and the Integrations page. ``install(detail)`` is the one line the connection detail calls; the tabs follow
the detail's ``connectionShown`` signal and load lazily when first shown."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Slot


class WorkbenchTabs(QObject):
    """Owns the four tabs of one ConnectionDetail and keeps them on the connection it shows."""

    def __init__(self, detail: Any, at: int | None = None) -> None:
        super().__init__(detail)
        from nango_desktop.ui.workbench.actions import ActionRunnerTab
        from nango_desktop.ui.workbench.proxy import ProxyConsoleTab
        from nango_desktop.ui.workbench.records import RecordsTab
        from nango_desktop.ui.workbench.syncs import SyncControlTab

        self.detail = detail
        ctx = detail.ctx
        self.syncs = SyncControlTab(ctx)
        self.records = RecordsTab(ctx)
        self.actions = ActionRunnerTab(ctx)
        self.proxy = ProxyConsoleTab(ctx)
        self._loaded: set[str] = set()
        tabs = detail.tabs
        index = tabs.insertTab(at if at is not None and at >= 0 else tabs.count(), self.syncs, "Syncs")
        tabs.insertTab(index + 1, self.records, "Records")
        tabs.insertTab(index + 2, self.actions, "Actions")
        tabs.insertTab(index + 3, self.proxy, "Proxy")
        self.syncs.syncsLoaded.connect(self._models_from_syncs)
        tabs.currentChanged.connect(self._on_tab)
        if hasattr(detail, "connectionShown"):
            detail.connectionShown.connect(self.set_connection)

    @Slot(object)
    def set_connection(self, conn: Any) -> None:
        cid = conn.connection_id if conn is not None else None
        iid = conn.provider_config_key if conn is not None else None
        if (cid, iid) == (self.syncs.connection_id, self.syncs.integration_id):
            return
        self._loaded.clear()
        for tab in (self.syncs, self.records, self.actions, self.proxy):
            tab.set_connection(cid, iid)
        self._on_tab(self.detail.tabs.currentIndex())

    @Slot(int)
    def _on_tab(self, index: int) -> None:
        page = self.detail.tabs.widget(index)
        if self.syncs.connection_id is None:
            return
        if page is self.syncs and "syncs" not in self._loaded:
            self._loaded.add("syncs")
            self.syncs.refresh()
        elif page is self.records and "records" not in self._loaded:
            self._loaded.add("records")
            if "syncs" not in self._loaded:
                self._loaded.add("syncs")
                self.syncs.refresh()  # its statuses name the models
        elif page is self.actions and "actions" not in self._loaded:
            self._loaded.add("actions")
            self.actions.load_actions()
        elif page is self.proxy and "proxy" not in self._loaded:
            self._loaded.add("proxy")
            self.proxy.load_history()

    @Slot(object)
    def _models_from_syncs(self, syncs: list[Any]) -> None:
        models: list[tuple[str, str | None, int | None]] = []
        for sync in syncs:
            for model, count in (sync.recordCount or {}).items():
                models.append((model, sync.variant, count if isinstance(count, int) else None))
        self.records.set_models(models)


def install(detail: Any, at: int | None = None) -> WorkbenchTabs:
    """Add the workbench tabs to a ConnectionDetail (its one registration line), from tab index ``at`` on
    (default: after the last tab)."""
    tabs = WorkbenchTabs(detail, at)
    detail.workbench = tabs
    return tabs
