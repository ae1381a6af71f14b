"""BulkReconnectDialog against FakeNango: 200 links under a 200/min rate limit, 429s, cancel, CSV export."""

from __future__ import annotations

import csv

import httpx
import pytest
from PySide6.QtCore import Qt

from nango_desktop.domain.links import LinkStatus, token_of
from nango_desktop.domain.models import Connection
from nango_desktop.services.api import NangoClient
from nango_desktop.services.links import CSV_HEADER
from nango_desktop.session.link_tracker import tracker_for
from nango_desktop.settings import Profile, Settings
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.links import actions
from nango_desktop.ui.links.bulk import BulkReconnectDialog
from tests.nango_server import FakeNango, ManualClock, list_item

RECONNECT = "/connect/sessions/reconnect"


def connections_of(server: FakeNango) -> list[Connection]:
    return [Connection.model_validate(list_item(c)) for c in server.connections]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limited_server(clock):
    server = FakeNango(connections=200, rate_limit=200, clock=clock).start()
    yield server
    server.stop()


@pytest.fixture
def limited_ctx(qapp, limited_server, secret_store, clock):
    """An AppContext whose client sleeps on the fake clock (rate-limit waits take no real time)."""
    profile = Profile(name="limited", api_url=limited_server.url)

    def factory(url: str, key: str, **kw) -> NangoClient:
        return NangoClient(url, key, sleep=clock.advance, **kw)

    ctx = AppContext(
        Settings(profiles=[profile], current_profile=profile.name), secret_store, client_factory=factory
    )
    ctx.cache_key(profile.name, limited_server.secret_key)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


def open_bulk(qtbot, ctx, connections) -> BulkReconnectDialog:
    dialog = actions.reconnect_links(ctx, None, connections)
    assert isinstance(dialog, BulkReconnectDialog)
    qtbot.addWidget(dialog)
    return dialog


def test_200_links_under_200_per_minute_none_lost(qtbot, limited_ctx, limited_server, clock, tmp_path):
    # Someone else already spent 50 of this minute's 200 requests: the run must wait for the window to reset.
    with httpx.Client(
        base_url=limited_server.url, headers={"Authorization": f"Bearer {limited_server.secret_key}"}
    ) as other:
        for _ in range(50):
            other.get("/integrations")
    # And Nango answers 429 five times in a row (more than the client's own retries).
    limited_server.fail_next(429, times=5, headers={"Retry-After": "0"}, path_prefix=RECONNECT)
    statuses: list[int | None] = []
    limited_ctx.apiCall.connect(lambda info: statuses.append(info.status))
    started = clock()

    connections = connections_of(limited_server)
    dialog = open_bulk(qtbot, limited_ctx, connections)
    assert dialog.model.rowCount() == 200
    with qtbot.waitSignal(dialog.finishedGenerating, timeout=120_000) as blocker:
        dialog.generate_button.click()
    assert blocker.args == [200, 200]

    items = dialog.model.items
    assert all(i.state == "ok" for i in items)
    tokens = [token_of(i.link) for i in items]
    assert len(set(tokens)) == 200 and set(tokens) == set(limited_server.sessions)
    by_token = limited_server.sessions
    assert [by_token[t]["connection_id"] for t in tokens] == [c.connection_id for c in connections]
    # every reconnect session carries its connection's current tags
    assert all(by_token[t]["tags"] == c.tags for t, c in zip(tokens, connections, strict=True))
    qtbot.waitUntil(lambda: statuses.count(201) == 200)
    assert statuses.count(429) >= 5  # the injected ones (and any the server's own window gave)
    posts = limited_server.requests_to(RECONNECT, "POST")
    assert len(posts) == 200 + statuses.count(429)  # each 429 was retried, nothing else was sent twice
    assert clock() - started >= 50  # it waited for Nango's window to reset instead of failing
    assert dialog.progress.value() == 200 and "200 of 200" in dialog.status.text()

    tracker = tracker_for(limited_ctx)
    assert len(tracker.pending()) == 200
    assert len(tracker.store.list("limited", status=LinkStatus.PENDING)) == 200

    path = tmp_path / "links.csv"
    dialog.export_csv(path)
    qtbot.waitUntil(lambda: dialog.status.text() == "Exported 200 links.", timeout=10_000)
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == list(CSV_HEADER)
    assert len(rows) == 201
    first = connections[0]
    assert rows[1][:4] == [first.customer.end_user_id or "", first.customer.email or "", first.provider_config_key,
                           first.connection_id]  # fmt: skip
    assert rows[1][4] == items[0].link and rows[1][5].endswith("Z")


def test_cancel_then_continue_generates_each_link_once(qtbot, profile_ctx, nango_server):
    gate = nango_server.hold(RECONNECT, method="POST", after=2)  # two links, then the third request waits
    connections = connections_of(nango_server)[:20]
    dialog = open_bulk(qtbot, profile_ctx, connections)
    dialog.generate_button.click()
    qtbot.waitUntil(lambda: len(dialog.model.generated()) == 2 and gate.held == 1, timeout=10_000)
    dialog.cancel_button.click()
    assert dialog.status.text() == "Cancelling after the current request…"
    with qtbot.waitSignal(dialog.finishedGenerating, timeout=10_000) as blocker:
        gate.release()  # the request in flight ends; no other starts
    generated, total = blocker.args
    assert (generated, total) == (3, 20)
    assert "Cancelled" in dialog.status.text()
    assert dialog.generate_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert len(nango_server.sessions) == generated

    with qtbot.waitSignal(dialog.finishedGenerating, timeout=30_000) as blocker:
        dialog.generate_button.click()
    assert blocker.args == [20, 20]
    assert len(nango_server.sessions) == 20  # nothing generated twice
    assert sorted(s["connection_id"] for s in nango_server.sessions.values()) == sorted(
        c.connection_id for c in connections
    )


def test_failures_are_reported_per_row(qtbot, profile_ctx, nango_server):
    connections = connections_of(nango_server)[:3]
    nango_server.connections.remove(
        nango_server.find(connections[1].connection_id, connections[1].provider_config_key)
    )
    nango_server.invalidate()
    dialog = open_bulk(qtbot, profile_ctx, connections)
    with qtbot.waitSignal(dialog.finishedGenerating, timeout=10_000) as blocker:
        dialog.generate_button.click()
    assert blocker.args == [2, 3]
    assert [i.state for i in dialog.model.items] == ["ok", "failed", "ok"]
    assert "does not exist" in dialog.model.items[1].error
    assert "1 failed" in dialog.status.text()


def test_bulk_model(qtbot, qtmodeltester, profile_ctx, nango_server):
    dialog = open_bulk(qtbot, profile_ctx, connections_of(nango_server)[:5])
    qtmodeltester.check(dialog.model)


def test_only_broken_connections(qtbot, profile_ctx, nango_server):
    connections = connections_of(nango_server)
    broken = [c for c in connections if c.has_auth_error]
    assert broken and len(broken) < len(connections)
    dialog = open_bulk(qtbot, profile_ctx, connections)
    assert dialog.only_broken.isEnabled()
    dialog.only_broken.setChecked(True)
    assert [i.connection_id for i in dialog.model.items] == [c.connection_id for c in broken]


def test_customers_are_shown_by_name_not_by_id(qtbot, profile_ctx, nango_server):
    connections = [c for c in connections_of(nango_server) if c.customer.display_name][:5]
    assert connections
    dialog = open_bulk(qtbot, profile_ctx, connections)
    model = dialog.model
    for row, conn in enumerate(connections):
        assert model.index(row, 0).data() == conn.customer.display_name
        if conn.customer.end_user_id:
            assert conn.customer.end_user_id in model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
