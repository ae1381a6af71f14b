"""OverviewPage: is anything broken, and for whom? Figures, charts and the "needs attention" list.

Data and threads:
- Connections: the session's ``ConnectionsStore`` (``ctx.connections_store``) is the only loader. While it
  loads, each page is folded into a ``ConnectionAggregator`` and a snapshot is shown (the first at once, then
  a few per second); its complete list (``loaded``) and each changed row are aggregated on a worker
  (``domain.overview.aggregate``). When the page is shown and nothing loaded the list yet, it asks the store.
- Webhook events per minute: one GROUP BY over the profile's event store on a worker, then live from
  ``ctx.listener.eventsReceived`` (O(1) per event on the GUI thread; the chart is redrawn by a coalescing
  QTimer, at most every ``LIVE_MS``).
- Issued links by status: ``ctx.link_store`` read on a worker, again when the link tracker reports a change.

Every figure is a button opening the filtered Connections (or End users) page; clicking a bar of the
integrations chart opens the connections of that integration and status.

objectNames: overviewPage, overviewStatus, overviewConnections, overviewEndUsers, overviewOrganizations,
overviewIntegrations, overviewAuthErrors, overviewSyncErrors, overviewIntegrationsChart,
overviewWeeksChart, overviewEventsChart, overviewLinksChart (each in a ``<name>Card`` with ``<name>Export``,
``<name>ExportPng``, ``<name>ExportCsv``), overviewEventsWindow, overviewSearch, overviewAttention,
overviewReconnect, overviewAttentionCount.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.overview import (
    EVENT_TYPES,
    LINK_STATUSES,
    STATUS_LABELS,
    STATUSES,
    ConnectionAggregator,
    ConnectionStats,
    EventBuckets,
    aggregate,
    attention_summary,
    link_status_counts,
    week_monday,
)
from nango_desktop.session import operations
from nango_desktop.session.binding import SignalTracker
from nango_desktop.ui import icons
from nango_desktop.ui.overview.attention import AttentionModel
from nango_desktop.ui.overview.attention_panel import AttentionPanel
from nango_desktop.ui.overview.charts import (
    ChartCard,
    ChartWidget,
    Series,
)
from nango_desktop.ui.overview.events_feed import EventsFeed
from nango_desktop.ui.overview.figures import FigureButton

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

__all__ = ["AttentionModel", "OverviewPage"]

EVENT_WINDOWS = ((60, "Last hour"), (180, "Last 3 hours"), (360, "Last 6 hours"))
MAX_EVENT_MINUTES = max(m for m, _ in EVENT_WINDOWS)
EVENT_TYPE_LABELS = {
    "auth": "Auth",
    "sync": "Sync",
    "async_action": "Async action",
    "forward": "Forward",
    "other": "Other",
}
LINK_LABELS = {s: s.capitalize() for s in LINK_STATUSES}
SNAPSHOT_EVERY = 0.2  # seconds between two snapshots shown while connections load (the first at once)
ATTENTION_EVERY = 1.0  # seconds between two refills of the needs-attention list while loading


class OverviewPage(QWidget):
    """See the module docstring."""

    statsChanged = Signal(object)  # ConnectionStats shown (tests, automation)
    eventsChanged = Signal()  # the events chart was redrawn with new data
    linksChanged = Signal(object)  # dict status -> count

    ROLL_MS = 30_000  # move the events window forward, re-check link expiry
    LINKS_MS = 500

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("overviewPage")
        self.ctx = ctx
        self.stats: ConnectionStats | None = None
        self.configured: set[str] = set()
        self.link_counts: dict[str, int] = {}
        self.events = EventsFeed(ctx, MAX_EVENT_MINUTES, self)  # per-minute counts, live from the listener
        self.events.changed.connect(self._redraw_events)
        self._generation = 0
        self._follow: ConnectionAggregator | None = None  # aggregating the store's load page by page
        self._follow_shown_at = 0.0
        self._tracker: Any = None
        self._attention_shown_at = 0.0

        self._build_figures()
        self._build_charts()
        self._build_attention()
        self._build_layout()
        self._wire()

    # -- construction ------------------------------------------------------------------------------------
    def _build_figures(self) -> None:
        self.figures = {
            "connections": FigureButton("overviewConnections", "Connections", "Open every connection", self),
            "end_users": FigureButton("overviewEndUsers", "End users", "Open the end users directory", self),
            "organizations": FigureButton(
                "overviewOrganizations", "Organizations", "Open the end users directory", self
            ),
            "integrations": FigureButton(
                "overviewIntegrations",
                "Integrations",
                "Open every connection (filter by integration there)",
                self,
            ),
            "auth_errors": FigureButton(
                "overviewAuthErrors", "Auth errors", "Open the connections with an auth error", self
            ),
            "sync_errors": FigureButton(
                "overviewSyncErrors", "Sync errors", "Open the connections with a sync error", self
            ),
        }
        for key, button in self.figures.items():
            button.clicked.connect(getattr(self, f"_open_{key}"))
        self.status = QLabel("", self)
        self.status.setObjectName("overviewStatus")
        self.status.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setObjectName("overviewRefresh")
        self.refresh_button.setIcon(icons.icon("refresh"))
        self.refresh_button.setToolTip("Reload every figure (F5)")
        self.refresh_button.clicked.connect(self.refresh)

    def _build_charts(self) -> None:
        run, notify = self.ctx.run, self.ctx.notify
        self.integrations_chart = ChartWidget(
            horizontal=True, empty_text="No connections yet", category_name="Integration"
        )
        self.integrations_chart.barClicked.connect(self._on_integration_clicked)
        self.integrations_chart.setToolTip("")
        self.integrations_card = ChartCard(
            "Connections per integration", self.integrations_chart, name="overviewIntegrationsChart",
            run=run, notify=notify, parent=self,
        )  # fmt: skip
        self.weeks_chart = ChartWidget(empty_text="No connections yet", category_name="Week")
        self.weeks_card = ChartCard(
            "Connections created per week", self.weeks_chart, name="overviewWeeksChart",
            run=run, notify=notify, parent=self,
        )  # fmt: skip
        self.events_chart = ChartWidget(empty_text="No webhook events in this window", category_name="Minute")
        self.events_card = ChartCard(
            "Webhook events per minute", self.events_chart, name="overviewEventsChart",
            run=run, notify=notify, parent=self,
        )  # fmt: skip
        self.events_window = QComboBox(self.events_card)
        self.events_window.setObjectName("overviewEventsWindow")
        for minutes, label in EVENT_WINDOWS:
            self.events_window.addItem(label, minutes)
        self.events_window.currentIndexChanged.connect(self._redraw_events)
        self.events_card.add_header_widget(self.events_window)
        self.links_chart = ChartWidget(
            horizontal=True, empty_text="No links issued yet", category_name="Status", legend=False
        )
        self.links_card = ChartCard(
            "Issued links by status", self.links_chart, name="overviewLinksChart",
            run=run, notify=notify, parent=self,
        )  # fmt: skip
        self.cards = [self.integrations_card, self.weeks_card, self.events_card, self.links_card]

    def _build_attention(self) -> None:
        self.attention_panel = AttentionPanel(self.ctx, self)
        panel = self.attention_panel  # the names tests and automation use
        self.attention, self.attention_model, self.attention_proxy = panel.table, panel.model, panel.proxy
        self.attention_count, self.search, self.reconnect_button = panel.count, panel.search, panel.reconnect_button

    def _build_layout(self) -> None:
        figures = QHBoxLayout()
        figures.setSpacing(8)
        for button in self.figures.values():
            figures.addWidget(button)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh_button)
        grid_widget = QWidget(self)
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        grid.addWidget(self.integrations_card, 0, 0)
        grid.addWidget(self.weeks_card, 0, 1)
        grid.addWidget(self.events_card, 1, 0)
        grid.addWidget(self.links_card, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("overviewSplitter")
        self.splitter.addWidget(grid_widget)
        self.splitter.addWidget(self.attention_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([700, 400])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(figures)
        layout.addWidget(self.splitter, 1)

    def _wire(self) -> None:
        self._roll_timer = QTimer(self)
        self._roll_timer.setInterval(self.ROLL_MS)
        self._roll_timer.timeout.connect(self._roll)
        self._roll_timer.start()
        self._links_timer = QTimer(self)
        self._links_timer.setSingleShot(True)
        self._links_timer.setInterval(self.LINKS_MS)
        self._links_timer.timeout.connect(self.load_links)
        ctx = self.ctx
        self._store_bound = SignalTracker()  # bindings to the session's connections store
        ctx.sessionChanged.connect(self._bind_session)
        self._bind_session(ctx.session)
        ctx.profileChanged.connect(self._on_profile_changed)
        self._attach_tracker()
        self._show_stats(None)
        self._redraw_events()
        self._show_links({})
        self._on_profile_changed(ctx.profile)

    # -- page API ---------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload everything: connections (page by page), integrations, webhook counts, links."""
        if self.ctx.profile is None:
            return
        self.load_connections()
        self.load_integrations()
        self.load_events()
        self.load_links()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # Decide once the events already queued ran: the Connections page may be about to start its load.
        QTimer.singleShot(0, self._load_if_nobody_does)

    def _load_if_nobody_does(self) -> None:
        if (
            self.isVisible()
            and self.ctx.profile is not None
            and self.stats is None
            and not self.ctx.connections_store.is_loading  # we follow its pages
            and not self.ctx.connections_store.is_complete  # its aggregation is on the way
        ):
            self.load_connections()  # shown before anything loaded the list: ask the store

    # -- profile ----------------------------------------------------------------------------------------
    @Slot(object)
    def _bind_session(self, _session: object) -> None:
        """A session opened: the figures follow its connections store (the only loader of the list)."""
        store = self.ctx.connections_store
        self._store_bound.rebind(
            (store.loadStarted, self._on_follow_started),
            (store.pageLoaded, self._on_follow_page),
            (store.loaded, self._on_connections_loaded),
            (store.loadFailed, self._on_store_failed),
            (store.connectionUpdated, self._on_row_changed),
            (store.connectionRemoved, self._on_row_changed),
        )

    @Slot(object)
    def _on_profile_changed(self, profile: Any) -> None:
        self._generation += 1
        self._follow = None
        self.stats = None
        self.configured = set()
        self.events.reset()
        self._show_stats(None)
        self._redraw_events()
        if profile is None:
            self.status.setText("No profile: create one with File → New profile.")
            self._show_links({})
            return
        self.status.setText("")
        self._follow = None
        if self.ctx.connections:
            self._on_connections_loaded(self.ctx.connections)
        elif self.isVisible():
            QTimer.singleShot(0, self._load_if_nobody_does)
        self.load_integrations()
        self.load_events()
        self.load_links()

    # -- connections ------------------------------------------------------------------------------------
    def load_connections(self) -> Any:
        """(Re)load every connection through the session's store; the figures follow its pages."""
        if self.ctx.profile is None:
            return None
        return self.ctx.connections_store.load()

    @Slot(object)
    def _on_store_failed(self, exc: object) -> None:
        self._follow = None
        self.status.setText(f"Could not load the connections: {getattr(exc, 'title', exc)}")

    def _on_row_changed(self, *_args: object) -> None:
        """One connection changed: aggregate the store's list again (on a worker)."""
        if self.ctx.connections_store.is_complete:
            self._on_connections_loaded(self.ctx.connections_store.connections())

    @Slot(object)
    @Slot()
    def _on_follow_started(self, _task: object = None) -> None:
        """The store loads the whole list: aggregate its pages as they arrive."""
        self._generation += 1
        self._follow = ConnectionAggregator(self.configured)
        self._follow_shown_at = 0.0
        self.status.setText("Loading connections…")

    @Slot(object)
    def _on_follow_page(self, connections: object) -> None:
        if self._follow is None:
            return
        self._follow.add(connections)  # type: ignore[arg-type]
        now = time.monotonic()
        if now - self._follow_shown_at >= SNAPSHOT_EVERY:  # the first page at once, then a few per second
            self._follow_shown_at = now
            stats = self._follow.snapshot(complete=False)
            self._show_stats(stats)
            self.status.setText(f"Loading connections… {stats.connections:,} so far")

    def _on_connections_loaded(self, connections: object) -> None:
        """The store has the full list: aggregate it on a worker."""
        self._follow = None
        self._generation += 1
        generation = self._generation
        configured = set(self.configured)
        self.ctx.run(
            aggregate,
            list(connections),  # type: ignore[call-overload]
            configured,
            on_done=lambda stats: self._on_aggregated(generation, stats),
        )

    def _on_aggregated(self, generation: int, stats: ConnectionStats) -> None:
        if generation == self._generation:
            self._show_stats(stats)

    def load_integrations(self) -> None:
        generation = self._generation
        operations.list_integrations(self.ctx.session, parent=self).success(
            lambda integrations: self._on_integrations(generation, [i.unique_key for i in integrations])
        ).failure(lambda exc: log.info("Integrations not listed: %s", exc)).run()

    def _on_integrations(self, _generation: int, keys: list[str]) -> None:
        self.configured = set(keys)
        if self.stats is not None:
            self._show_stats(self.stats)

    # -- figures and charts -------------------------------------------------------------------------------
    def integration_total(self) -> int:
        if self.stats is None:
            return len(self.configured)
        return len(self.configured | set(self.stats.per_integration))

    def _show_stats(self, stats: ConnectionStats | None) -> None:
        self.stats = stats
        f = self.figures
        if stats is None:
            for button in f.values():
                button.set_value(None)
            self.integrations_chart.set_data([], [])
            self.weeks_chart.set_data([], [])
            self.attention_panel.set_items([])
            self.integrations_card.subtitle.setText("")
            self.weeks_card.subtitle.setText("")
            return
        f["connections"].set_value(stats.connections)
        f["end_users"].set_value(stats.end_users)
        f["organizations"].set_value(stats.organizations)
        f["integrations"].set_value(self.integration_total())
        f["auth_errors"].set_value(stats.auth_errors, alert=True)
        f["sync_errors"].set_value(stats.sync_errors, alert=True)

        rows = stats.integration_rows()
        self.integrations_chart.set_data(
            [k for k, _ in rows],
            [Series(s, STATUS_LABELS[s], [c[s] for _, c in rows]) for s in STATUSES],
        )
        self.integrations_card.subtitle.setText(f"{len(rows)} in use")
        weeks = list(stats.per_week)
        self.weeks_chart.set_data(
            weeks,
            [Series("created", "Created", [stats.per_week[w] for w in weeks])],
            labels=[_week_label(w) for w in weeks],
        )
        self.weeks_card.subtitle.setText(f"{weeks[0]} – {weeks[-1]}" if weeks else "")
        now = time.monotonic()
        if stats.complete or now - self._attention_shown_at >= ATTENTION_EVERY:
            self._attention_shown_at = now  # while loading: at most once a second (a reset of many rows)
            self.attention_panel.model.set_items(stats.attention)
        self.attention_panel.count.setText(attention_summary(stats))
        if stats.complete:
            self.status.setText(
                f"{stats.connections:,} connections · updated {datetime.now().strftime('%H:%M:%S')}"
            )
        self.statsChanged.emit(stats)

    # -- navigation -------------------------------------------------------------------------------------
    def _open_connections(self) -> None:
        self.ctx.navigate("connections", filter={"clear": True})

    def _open_integrations(self) -> None:
        self.ctx.navigate("connections", filter={"clear": True})

    def _open_auth_errors(self) -> None:
        self.ctx.navigate("connections", filter={"clear": True, "status": "auth_error"})

    def _open_sync_errors(self) -> None:
        self.ctx.navigate("connections", filter={"clear": True, "status": "sync_error"})

    def _open_end_users(self) -> None:
        self.ctx.navigate("endusers", search="")

    def _open_organizations(self) -> None:
        self.ctx.navigate("endusers", search="")

    @Slot(str, str)
    def _on_integration_clicked(self, integration: str, status: str) -> None:
        flt: dict[str, Any] = {"clear": True, "integrations": [integration]}
        if status:
            flt["status"] = status
        self.ctx.navigate("connections", filter=flt)

    # -- webhook events ---------------------------------------------------------------------------------
    @property
    def buckets(self) -> EventBuckets:
        return self.events.buckets

    def load_events(self) -> Any:
        return self.events.load()

    def event_minutes(self) -> int:
        return int(self.events_window.currentData() or EVENT_WINDOWS[0][0])

    @Slot()
    def _redraw_events(self, *_args: object) -> None:
        series = self.buckets.series(minutes=self.event_minutes())
        labels = [datetime.fromtimestamp(m * 60).strftime("%H:%M") for m in series.minutes]  # local time
        used = [t for t in EVENT_TYPES if any(series.by_type[t])] or ["auth", "sync"]
        self.events_chart.set_data(
            [str(m) for m in series.minutes],
            [Series(t, EVENT_TYPE_LABELS[t], series.by_type[t]) for t in used],
            labels=labels,
            overlay=Series("failed", "Failed", series.failed),
        )
        self.events_card.subtitle.setText(
            f"{series.total:,} event{'' if series.total == 1 else 's'}, {series.total_failed:,} failed"
        )
        self.eventsChanged.emit()

    @Slot()
    def _roll(self) -> None:
        self.events.prune()
        self._redraw_events()
        if self.link_counts.get("pending"):
            self.load_links()  # pending links may have expired

    # -- links ------------------------------------------------------------------------------------------
    def _attach_tracker(self) -> None:
        self._tracker = self.ctx.link_tracker()
        self._tracker.linkChanged.connect(self._schedule_links)

    @Slot(object)
    def _schedule_links(self, *_args: object) -> None:
        if not self._links_timer.isActive():
            self._links_timer.start()

    def load_links(self) -> Any:
        profile = self.ctx.profile
        store = self.ctx.link_store if profile is not None else None
        if store is None or profile is None:
            return None
        name = profile.name
        return self.ctx.run(
            lambda: link_status_counts(store.list(name, limit=1_000_000)),
            on_done=self._show_links,
            on_error=lambda exc: log.warning("Links not counted: %s", exc),
        )

    def _show_links(self, counts: dict[str, int]) -> None:
        self.link_counts = dict(counts)
        statuses = list(LINK_STATUSES)
        self.links_chart.set_data(
            statuses,
            [
                Series(s, LINK_LABELS[s], [counts.get(s, 0) if c == s else 0 for c in statuses])
                for s in statuses
            ],
            labels=[LINK_LABELS[s] for s in statuses],
        )
        total = sum(counts.values())
        self.links_card.subtitle.setText(f"{total:,} issued" if total else "")
        self.linksChanged.emit(self.link_counts)


def _week_label(week: str) -> str:
    """``"2026-W10"`` -> ``"Mar 2"`` (its Monday), short enough for an axis."""
    monday = week_monday(week)
    return f"{monday.strftime('%b')} {monday.day}"
