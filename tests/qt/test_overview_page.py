"""The Overview page against FakeNango over real HTTP (loopback), a real webhook listener, real SQLite stores.

Expectations are computed here, independently, from ``FakeNango.connections`` (raw dicts).
"""

from __future__ import annotations

import struct
from collections import Counter
from datetime import datetime

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QImage

from nango_desktop.domain.links import LinkStatus
from nango_desktop.domain.models import Connection
from nango_desktop.services.secrets import SecretKind
from nango_desktop.settings import ListenerSettings, Profile, Settings
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.overview.charts import ChartCard
from nango_desktop.ui.overview.page import AttentionModel, OverviewPage
from tests.nango_server import FakeNango
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, post_webhook, sync_webhook

TIMEOUT = 15_000
SEEDED = 1500  # two pages of 1,000: the first figures show before the load is complete


@pytest.fixture
def nango_server():
    server = FakeNango(connections=SEEDED, seed=3).start()
    try:
        yield server
    finally:
        server.stop()


def expected(server: FakeNango) -> dict:
    per: dict[str, Counter] = {}
    weeks: Counter[str] = Counter()
    for row in server.connections:
        types = {e["type"] for e in row.get("errors") or []}
        status = "auth_error" if "auth" in types else "sync_error" if "sync" in types else "ok"
        per.setdefault(row["provider_config_key"], Counter())[status] += 1
        y, w, _ = datetime.strptime(row["created"][:10], "%Y-%m-%d").isocalendar()
        weeks[f"{y}-W{w:02d}"] += 1
    return {
        "per": {k: {s: c.get(s, 0) for s in ("ok", "auth_error", "sync_error")} for k, c in per.items()},
        "weeks": dict(weeks),
        "auth": sum(c["auth_error"] for c in per.values()),
        "sync": sum(c["sync_error"] for c in per.values()),
        "integrations": {i["unique_key"] for i in server.integrations} | set(per),
    }


@pytest.fixture
def page(qtbot, profile_ctx):
    widget = OverviewPage(profile_ctx)
    qtbot.addWidget(widget)
    widget.resize(1100, 720)
    return widget


def wait_complete(qtbot, page) -> None:
    qtbot.waitUntil(lambda: page.stats is not None and page.stats.complete, timeout=TIMEOUT)


def test_figures_and_charts_match_seeded_data(qtbot, page, profile_ctx, nango_server):
    seen = []
    page.statsChanged.connect(lambda s: seen.append((s.connections, s.complete)))
    page.show()  # nothing published yet: the page loads the connections itself, page by page
    wait_complete(qtbot, page)
    qtbot.waitUntil(lambda: page.figures["integrations"].value == len(expected(nango_server)["integrations"]),
                    timeout=TIMEOUT)  # fmt: skip
    exp = expected(nango_server)
    assert seen[0] == (1000, False)  # first figures after the first page
    assert seen[-1] == (SEEDED, True)
    stats = page.stats
    assert stats.per_integration == exp["per"]
    assert {w: n for w, n in stats.per_week.items() if n} == exp["weeks"]
    f = page.figures
    assert f["connections"].value == SEEDED
    assert (f["auth_errors"].value, f["sync_errors"].value) == (exp["auth"], exp["sync"])
    assert f["auth_errors"].text().startswith(f"{exp['auth']:,}\n")
    # the stacked bars show the same numbers, most connections first
    chart = page.integrations_chart
    assert chart.categories == sorted(exp["per"], key=lambda k: (-sum(exp["per"][k].values()), k))
    for series in chart.series:
        assert list(series.values) == [exp["per"][k][series.key] for k in chart.categories]
    weeks = page.weeks_chart
    assert {k: v for k, v in zip(weeks.categories, weeks.series[0].values, strict=True) if v} == exp["weeks"]
    # the full list was published for the other pages
    assert len(profile_ctx.connections) == SEEDED
    # tooltips name the category and its numbers
    top = chart.categories[0]
    tip = chart.tooltip_for(0)
    assert (
        top in tip
        and f"OK: {exp['per'][top]['ok']:,}" in tip
        and f"Total: {sum(exp['per'][top].values()):,}" in tip
    )


def test_published_connections_update_the_figures(qtbot, page, profile_ctx):
    rows = [
        {"id": n, "connection_id": f"c{n}", "provider": "slack", "provider_config_key": "slack",
         "created": "2026-01-05T10:00:00.000Z", "tags": {"end_user_id": f"u{n % 3}"},
         "errors": [{"type": "auth"}] if n % 2 else []}
        for n in range(10)
    ]  # fmt: skip
    with qtbot.waitSignal(page.statsChanged, timeout=TIMEOUT, check_params_cb=lambda s: s.connections == 10):
        profile_ctx.connections_store.set_connections([Connection.model_validate(r) for r in rows])
    assert page.stats.per_integration == {"slack": {"ok": 5, "auth_error": 5, "sync_error": 0}}
    assert page.stats.per_week == {"2026-W02": 10}
    assert page.figures["end_users"].value == 3


@pytest.mark.parametrize(
    ("figure", "statuses"),
    [("auth_errors", {"auth_error"}), ("sync_errors", {"sync_error"}), ("connections", None)],
)
def test_clicking_a_figure_opens_filtered_connections(
    qtbot, main_window, profile_ctx, nango_server, figure, statuses
):
    page = main_window.pages["overview"]
    connections = main_window.pages["connections"]
    qtbot.waitUntil(lambda: len(profile_ctx.connections) == SEEDED, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: connections.model.rowCount() == SEEDED, timeout=TIMEOUT)  # its own load, too
    main_window.show_page("overview")
    wait_complete(qtbot, page)
    connections.apply_filter(status="ok", search="zzz")  # filters left from before are cleared
    qtbot.mouseClick(page.figures[figure], Qt.MouseButton.LeftButton)
    assert main_window.current_page_key() == "connections"
    assert connections.proxy.statuses == (frozenset(statuses) if statuses else None)
    assert connections.search.text() == ""
    shown = connections.proxy.visible_connections()
    want = {"auth_errors": page.stats.auth_errors, "sync_errors": page.stats.sync_errors}.get(figure, SEEDED)
    assert len(shown) == want
    if statuses:
        assert {c.status for c in shown} == statuses


def test_clicking_a_bar_filters_by_integration_and_status(qtbot, main_window, profile_ctx):
    page = main_window.pages["overview"]
    main_window.show_page("overview")
    wait_complete(qtbot, page)
    chart = page.integrations_chart
    chart.repaint()  # lays out the plot
    top = chart.categories[0]
    band = chart._band
    plot = chart._plot
    ok_share = page.stats.per_integration[top]["ok"] / chart._max
    pos = QPoint(int(plot.left() + ok_share * plot.width() / 2), int(plot.top() + band / 2))
    assert chart.index_at(pos) == 0 and chart.series_at(pos) == "ok"
    # hover: the band is highlighted, the tooltip names it. Qt drops a move to where the cursor already is
    # (a previous test may have left it exactly there), so come from another point first.
    qtbot.mouseMove(chart, QPoint(0, 0))
    qtbot.mouseMove(chart, pos)
    qtbot.waitUntil(lambda: chart.hover == 0, timeout=TIMEOUT)
    assert chart.tooltip_at(pos).startswith(f"<b>{top}</b>")
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=pos)
    connections = main_window.pages["connections"]
    assert main_window.current_page_key() == "connections"
    assert connections.checked_integrations() == {top}
    assert connections.proxy.statuses == frozenset({"ok"})


def test_export_png_and_csv(qtbot, page, tmp_path, monkeypatch):
    page.show()
    wait_complete(qtbot, page)
    card = page.integrations_card
    target = {"png": tmp_path / "chart.png", "csv": tmp_path / "chart"}  # no suffix: .csv is added
    monkeypatch.setattr(ChartCard, "ask_path", classmethod(
        lambda cls, parent, title, suggested, filters: str(target["png" if "PNG" in filters else "csv"])
    ))  # fmt: skip
    notified = []
    page.ctx.notified.connect(lambda title, message: notified.append(message))
    card.findChild(QAction, "overviewIntegrationsChartExportPng").trigger()
    card.findChild(QAction, "overviewIntegrationsChartExportCsv").trigger()
    qtbot.waitUntil(lambda: len(notified) == 2, timeout=TIMEOUT)
    data = target["png"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    image = QImage(str(target["png"]))
    assert (image.width(), image.height()) == (width, height) and width >= card.width()
    text = (tmp_path / "chart.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "Integration,OK,Auth error,Sync error,Total"
    stats = page.stats
    expected_rows = [
        f"{k},{c['ok']},{c['auth_error']},{c['sync_error']},{sum(c.values())}"
        for k, c in stats.integration_rows()
    ]
    assert lines[1:] == expected_rows


@pytest.fixture
def listener_ctx(qtbot, secret_store, nango_server, tmp_path):
    profile = Profile(name="hooks", api_url=nango_server.url, listener=ListenerSettings(port=0))
    secret_store.set("hooks", SecretKind.API_KEY, nango_server.secret_key)
    secret_store.set("hooks", SecretKind.SIGNING_KEY, SIGNING_KEY)
    ctx = AppContext(Settings(profiles=[profile], current_profile="hooks"), secret_store,
                     settings_path=tmp_path / "profiles.json")  # fmt: skip
    ctx.cache_key("hooks", nango_server.secret_key)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


def test_events_chart_counts_stored_and_live_webhooks(qtbot, listener_ctx):
    store = listener_ctx.event_store
    from nango_desktop.services.signing import verify
    from tests.webhook_helpers import nango_headers, nango_json

    raw = nango_json(auth_webhook(connection_id="before", success=False))
    headers = nango_headers(raw)
    store.add(body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]))
    page = OverviewPage(listener_ctx)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.events_chart.overlay is not None and sum(page.events_chart.overlay.values) == 1,
                    timeout=TIMEOUT)  # fmt: skip

    listener = listener_ctx.listener
    with qtbot.waitSignal(listener.stateChanged, timeout=TIMEOUT):
        listener.start()
    assert listener.state == "listening"
    posted = [
        auth_webhook(connection_id="a1"),
        auth_webhook(connection_id="a2", success=False),
        sync_webhook(connection_id="s1"),
        sync_webhook(connection_id="s2", success=False),
        sync_webhook(connection_id="s3"),
    ]
    for body in posted:
        assert post_webhook(listener.url, body)[0] == 200
    assert post_webhook(listener.url, posted[0])[0] == 200  # a retry: a duplicate, not counted again

    def totals():
        chart = page.events_chart
        by = {s.key: sum(s.values) for s in chart.series}
        return by.get("auth", 0), by.get("sync", 0), sum(chart.overlay.values)

    qtbot.waitUntil(lambda: totals() == (3, 3, 3), timeout=TIMEOUT)
    assert page.events_card.subtitle.text() == "6 events, 3 failed"
    chart = page.events_chart
    csv_lines = chart.csv().splitlines()
    assert csv_lines[0] == "Minute,Auth,Sync,Failed,Total"
    listener.stop()


def test_needs_attention_order_and_one_click_reconnect(qtbot, page, profile_ctx, monkeypatch):
    def c(cid, user, errors=(), integration="github"):
        return Connection.model_validate({
            "id": hash(cid) % 10**6, "connection_id": cid, "provider": integration,
            "provider_config_key": integration, "created": "2026-02-02T00:00:00.000Z",
            "tags": {"end_user_id": user, "end_user_display_name": user.title()},
            "errors": [{"type": e} for e in errors],
        })  # fmt: skip

    data = [
        c("a1", "ann", ["auth"]),
        c("b1", "bob", ["auth"]), c("b2", "bob", ["auth"], "slack"), c("b3", "bob", ["sync"], "jira"),
        c("z1", "zed", ["auth"]), c("z2", "zed", ["auth"], "slack"), c("z3", "zed", ["auth"], "jira"),
        c("o1", "olga"), c("s1", "sam", ["sync"]),
    ]  # fmt: skip
    with qtbot.waitSignal(page.statsChanged, timeout=TIMEOUT):
        profile_ctx.connections_store.set_connections(data)
    model = page.attention_proxy
    names = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert names == ["Zed", "Bob", "Ann"]
    assert [model.index(r, 2).data() for r in range(3)] == ["3 of 3", "2 of 3", "1 of 1"]
    assert page.attention_count.text() == "3 end users, 6 broken connections · 2 sync errors not listed"
    requested = []
    monkeypatch.setattr(profile_ctx, "request_reconnect_links", lambda conns: requested.append(conns))
    page.show()
    cell = page.attention.visualRect(model.index(1, AttentionModel.ACTION))
    assert cell.isValid() and cell.width() > 40
    qtbot.mouseClick(page.attention.viewport(), Qt.MouseButton.LeftButton, pos=cell.center())
    assert [[x.connection_id for x in r] for r in requested] == [["b1", "b2"]]
    # filter, then the Reconnect button acts on the only row left
    page.focus_search()
    page.search.setText("ann")
    assert model.rowCount() == 1
    page.reconnect_button.click()
    assert [x.connection_id for x in requested[-1]] == ["a1"]


def test_links_chart_counts_issued_links(qtbot, page, profile_ctx):
    store = profile_ctx.link_store
    now = __import__("time").time()
    records = [
        store.add(profile="test", kind="reconnect", link="https://connect.example/", expires_at=now + 1800,
                  connection_id=f"c{n}")
        for n in range(6)
    ]  # fmt: skip
    store.add(
        profile="test", kind="new", link="https://connect.example/", expires_at=now - 5
    )  # expired unused
    store.add(profile="other", kind="new", link="https://connect.example/", expires_at=now + 60)
    for record, status in zip(records[1:], (LinkStatus.COMPLETED, LinkStatus.COMPLETED, LinkStatus.REVOKED,
                                             LinkStatus.FAILED), strict=False):  # fmt: skip
        store.set_status(record.id, status)
    want = {"pending": 2, "completed": 2, "expired": 1, "revoked": 1, "failed": 1}
    # (a count started when the page was built may still arrive first: wait for the one after the changes)
    with qtbot.waitSignal(page.linksChanged, timeout=TIMEOUT, check_params_cb=lambda counts: counts == want):
        page.load_links()
    assert page.link_counts == want
    chart = page.links_chart
    assert [chart.total(i) for i in range(len(chart.categories))] == [2, 2, 1, 1, 1]
    assert page.links_card.subtitle.text() == "7 issued"


def test_follows_dark_palette_and_profile_switch(qtbot, page, profile_ctx):
    from nango_desktop.ui import theme
    from nango_desktop.ui.overview.charts import is_dark_palette

    page.show()
    wait_complete(qtbot, page)
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance()
    before = qapp.palette()
    try:
        qapp.setPalette(theme.dark_palette())
        qtbot.waitUntil(lambda: is_dark_palette(page.integrations_chart.palette()), timeout=TIMEOUT)
        dark = page.integrations_card.render_image()
        qapp.setPalette(theme.light_palette())
        qtbot.waitUntil(lambda: not is_dark_palette(page.integrations_chart.palette()), timeout=TIMEOUT)
        light = page.integrations_card.render_image()
        center = dark.rect().center()
        assert dark.pixelColor(5, center.y()).lightness() < light.pixelColor(5, center.y()).lightness()
    finally:
        qapp.setPalette(before)
    profile_ctx.set_profile(None)
    assert page.stats is None and page.figures["connections"].value is None


def test_the_window_fetches_the_connection_list_once(qtbot, main_window, profile_ctx, nango_server):
    """The Overview (first page) follows the Connections page's load page by page instead of fetching the
    list a second time: the rate limit (200 requests a minute on Nango's free plan) is spent once."""
    page = main_window.pages["overview"]
    assert main_window.current_page_key() == "overview"
    seen = []
    page.statsChanged.connect(lambda s: seen.append((s.connections, s.complete)))
    qtbot.waitUntil(lambda: len(profile_ctx.connections) == SEEDED, timeout=TIMEOUT)
    wait_complete(qtbot, page)
    assert page.stats.connections == SEEDED
    assert (1000, False) in seen  # figures after the first page, before the load completed
    listings = nango_server.requests_to("/connections", "GET")
    assert len(listings) == 2  # two pages of 1,000, fetched once
