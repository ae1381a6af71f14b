"""The session's ConnectionsStore: the only loader of the connection list; every page follows it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from nango_desktop.services.secrets import SecretKind
from nango_desktop.session.binding import SignalTracker
from nango_desktop.session.connections import key_of
from nango_desktop.ui.connections.page import ConnectionsPage
from nango_desktop.ui.endusers.page import EndUsersPage
from nango_desktop.ui.overview.page import OverviewPage
from tests.qt.test_connections_page import make_ctx

TIMEOUT = 30_000


@pytest.fixture
def ctx(qapp, nango_server, secret_store):
    ctx = make_ctx(nango_server, secret_store)
    ctx.attach_window(QWidget())
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


def list_loads(server) -> int:
    """GET /connections requests that list connections (not the one-row re-reads by connectionId)."""
    return sum(1 for r in server.requests_to("/connections", "GET") if r.param("connectionId") is None)


def open_connections(qtbot, ctx) -> ConnectionsPage:
    with qtbot.waitSignal(ctx.connections_store.loaded, timeout=TIMEOUT):
        page = ConnectionsPage(ctx)
        qtbot.addWidget(page)
    return page


@pytest.mark.parametrize("refresher", ["endusers", "overview"])
def test_refresh_elsewhere_updates_the_connections_page(qtbot, ctx, nango_server, refresher):
    """Issue 14 item 7: after Refresh on End users or Overview the Connections page showed the old list."""
    page = open_connections(qtbot, ctx)
    assert page.model.rowCount() == 50
    other = EndUsersPage(ctx) if refresher == "endusers" else OverviewPage(ctx)
    qtbot.addWidget(other)
    gone = nango_server.connections[0]
    nango_server.connections.remove(gone)
    added = nango_server.add_connection("github", "fresh-connection")
    with qtbot.waitSignal(ctx.connections_store.loaded, timeout=TIMEOUT):
        other.refresh()
    qtbot.waitUntil(lambda: not page.model.is_loading, timeout=TIMEOUT)
    shown = {key_of(c) for c in page.model.connections()}
    assert (added["connection_id"], "github") in shown
    assert (gone["connection_id"], gone["provider_config_key"]) not in shown
    assert page.model.rowCount() == 50 == len(ctx.connections)


def test_three_pages_one_load(qtbot, ctx, nango_server):
    overview = OverviewPage(ctx)
    qtbot.addWidget(overview)
    endusers = EndUsersPage(ctx)
    qtbot.addWidget(endusers)
    overview.show()
    page = open_connections(qtbot, ctx)
    qtbot.waitUntil(lambda: overview.stats is not None and overview.stats.complete, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: endusers.model.rowCount() > 0, timeout=TIMEOUT)
    assert page.model.rowCount() == 50 and overview.stats.connections == 50
    assert list_loads(nango_server) == 1


def test_one_connection_refreshed_updates_one_row_everywhere(qtbot, ctx, nango_server):
    page = open_connections(qtbot, ctx)
    store = ctx.connections_store
    loaded = []
    store.loaded.connect(loaded.append)
    target = nango_server.connections[3]
    key = (target["connection_id"], target["provider_config_key"])
    target["tags"] = {**(target.get("tags") or {}), "plan": "enterprise"}
    with qtbot.waitSignal(store.connectionUpdated, timeout=TIMEOUT) as updated:
        ctx.connectionChanged.emit(*key)
    assert key_of(updated.args[0]) == key
    assert store.get(*key).tags.get("plan") == "enterprise"
    row = page.model.row_of(*key)
    assert page.model.connection(row).tags.get("plan") == "enterprise"
    assert loaded == []  # the list is not republished
    assert list_loads(nango_server) == 1
    nango_server.connections.remove(target)
    with qtbot.waitSignal(store.connectionRemoved, timeout=TIMEOUT):
        ctx.connectionChanged.emit(*key)
    assert store.get(*key) is None and page.model.row_of(*key) is None and len(store) == 49


def test_profile_switch_drops_the_list_and_ignores_late_pages(qtbot, ctx, nango_server):
    store = ctx.connections_store
    gate = nango_server.hold("/connections")
    task = store.load()
    qtbot.waitUntil(lambda: gate.held == 1, timeout=TIMEOUT)
    pages = []
    store.pageLoaded.connect(pages.append)
    store.reset()
    assert task.cancelled and not store.is_loading and store.connections() == []
    gate.release()
    assert task.wait(10)
    qtbot.waitUntil(lambda: task.delivered, timeout=TIMEOUT)
    assert pages == [] and store.connections() == [] and not store.is_complete


class _Emitter(QObject):
    fired = Signal(int)


def test_signal_tracker_drops_every_tracked_connection(qtbot):
    a, b = _Emitter(), _Emitter()
    got: list[tuple[str, int]] = []
    tracker = SignalTracker()
    tracker.track(a.fired, lambda v: got.append(("a", v)))
    tracker.track(b.fired, lambda v: got.append(("b", v)))
    a.fired.emit(1)
    b.fired.emit(2)
    assert len(tracker) == 2
    tracker.disconnect_all()
    a.fired.emit(3)
    b.fired.emit(4)
    assert got == [("a", 1), ("b", 2)] and len(tracker) == 0
    tracker.disconnect_all()  # twice is harmless


def test_signal_tracker_follows_one_object_at_a_time(qtbot):
    a, b = _Emitter(), _Emitter()
    got: list[tuple[str, int]] = []
    tracker = SignalTracker()

    def pairs(name):
        return lambda emitter: [(emitter.fired, lambda v: got.append((name, v)))]

    assert tracker.follow(a, pairs("a")) and tracker.target is a
    assert not tracker.follow(a, pairs("again"))  # already followed: no second connection
    a.fired.emit(1)
    assert tracker.follow(b, pairs("b"))  # the previous object is dropped
    a.fired.emit(2)
    b.fired.emit(3)
    assert tracker.follow(None, pairs("none")) and len(tracker) == 0
    b.fired.emit(4)
    assert got == [("a", 1), ("b", 3)]


def test_delete_operation_removes_the_row_everywhere(qtbot, ctx, nango_server):
    from nango_desktop.session import operations

    page = open_connections(qtbot, ctx)
    conn = page.model.connection(0)
    key = key_of(conn)
    done = []
    op = operations.delete_connection(ctx, conn).success(done.append)
    with qtbot.waitSignal(ctx.connections_store.connectionRemoved, timeout=TIMEOUT) as removed:
        op.run()
    assert tuple(removed.args) == key and done == [None]
    assert nango_server.find(*key) is None and page.model.row_of(*key) is None
    assert ctx.connections_store.get(*key) is None


def test_failed_operation_reports_and_already_gone_still_updates(qtbot, ctx, nango_server):
    from nango_desktop.session import operations

    page = open_connections(qtbot, ctx)
    conn = page.model.connection(1)
    key = key_of(conn)
    nango_server.connections.remove(nango_server.find(*key))  # deleted elsewhere meanwhile
    errors = []
    ctx.errorRaised.connect(lambda title, detail: errors.append(title))
    with qtbot.waitSignal(ctx.connections_store.connectionRemoved, timeout=TIMEOUT):
        operations.delete_connection(ctx, conn).run()
    qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT)
    assert page.model.row_of(*key) is None
    failures = []
    op = operations.list_integrations(ctx).failure(failures.append)
    nango_server.revoke_key()
    op.run()
    qtbot.waitUntil(lambda: bool(failures), timeout=TIMEOUT)
    assert len(errors) == 1  # a failure handler replaces the default banner


def test_table_rows_are_built_on_the_loading_worker(qtbot, ctx, nango_server, monkeypatch):
    """Issue 16: the table's display rows of each page are built off the GUI thread (they stalled it ~200 ms per
    page at 100,000 connections), and they are the rows the GUI thread would have built from the models."""
    import threading

    from nango_desktop.session import connections as store_module
    from nango_desktop.ui.connections.model import ConnectionsModel, _Row

    store = ctx.connections_store
    store._page_size = 20  # three pages for 50 connections
    model = ConnectionsModel()
    model.follow(store)
    threads: list[threading.Thread] = []
    real = store_module.page_rows  # the store's pages are the table's rows (compact rows, issue 16)

    def spy(page):
        threads.append(threading.current_thread())
        return real(page)

    monkeypatch.setattr(store_module, "page_rows", spy)
    with qtbot.waitSignal(store.loaded, timeout=TIMEOUT):
        store.load()
    qtbot.waitUntil(lambda: not model.is_loading, timeout=TIMEOUT)
    assert len(threads) == 3 and threading.main_thread() not in threads
    assert [key_of(c) for c in model.connections()] == [key_of(c) for c in store.connections()]
    expected = [_Row.build(c) for c in store.connections()]
    assert [(r.key, r.cells, r.sort_keys, r.haystack, r.tag_map) for r in model.rows()] == [
        (r.key, r.cells, r.sort_keys, r.haystack, r.tag_map) for r in expected
    ]


def test_a_preparer_registered_mid_load_covers_every_page(qtbot, ctx, nango_server):
    store = ctx.connections_store
    store._page_size = 20
    gate = nango_server.hold("/connections")
    prepared: list[int] = []
    pages: list[int] = []
    store.pageLoaded.connect(lambda page: pages.append(len(page)))
    store.pagePrepared.connect(lambda page, n: prepared.append(n))
    store.load()
    qtbot.waitUntil(lambda: gate.held == 1, timeout=TIMEOUT)
    store.set_page_preparer(len)  # registered while the first page is in flight
    with qtbot.waitSignal(store.loaded, timeout=TIMEOUT):
        gate.release()
    assert pages == prepared == [20, 20, 10]


def test_each_session_has_its_own_store_and_views_follow_the_current_one(qtbot, ctx, nango_server):
    """Issue 13: the connection list belongs to the profile's session; a switch opens a new store and every
    view binds to it, so nothing the previous store still emits reaches them."""
    from nango_desktop.settings import Profile

    page = open_connections(qtbot, ctx)
    overview, endusers = OverviewPage(ctx), EndUsersPage(ctx)
    qtbot.addWidget(overview)
    qtbot.addWidget(endusers)
    first = ctx.connections_store
    assert first is ctx.session.connections and page.model.rowCount() == 50
    ctx.secrets.set("other", SecretKind.API_KEY, nango_server.secret_key)
    ctx.cache_key("other", nango_server.secret_key)
    with qtbot.waitSignal(ctx.sessionChanged, timeout=TIMEOUT):
        ctx.upsert_profile(Profile(name="other", api_url=nango_server.url))
    second = ctx.connections_store
    assert second is ctx.session.connections and second is not first
    with qtbot.waitSignal(second.loaded, timeout=TIMEOUT):
        second.load()
    qtbot.waitUntil(lambda: not page.model.is_loading and endusers.model.rowCount() > 0, timeout=TIMEOUT)
    shown = [key_of(c) for c in page.model.connections()]
    late = page.model.connection(0).model_copy(update={"connection_id": "late-from-the-previous-profile"})
    first.set_connections([late])  # the old store emits loaded and connectionUpdated: nobody listens
    first.connectionUpdated.emit(late)
    first.connectionRemoved.emit(*shown[0])
    assert [key_of(c) for c in page.model.connections()] == shown and len(shown) == 50
    assert second.get(*shown[0]) is not None and ctx.connections == second.connections()
    updated = second.get(*shown[1]).model_copy(update={"tags": {"plan": "moved"}})
    with qtbot.waitSignal(second.connectionUpdated, timeout=TIMEOUT):
        second.connectionUpdated.emit(updated)  # the current store still reaches the table
    assert page.model.connection(page.model.row_of(*shown[1])).tags == {"plan": "moved"}


def test_the_worker_hands_over_a_page_only_once_the_gui_took_the_previous_one(
    qtbot, ctx, nango_server, monkeypatch
):
    """Issue 16: pages handed over faster than the GUI thread takes them were delivered in one batch of events
    (no timer, no repaint between them: a long stall). With the GUI thread busy on the first page, the worker
    builds at most the next one and waits; the load then completes with every page in order."""
    import threading

    from nango_desktop.session import connections as store_module

    store = ctx.connections_store
    store._page_size = 5  # ten pages for 50 connections
    built: list[int] = []
    third = threading.Event()
    real = store_module.page_rows

    def spy(page):
        rows = real(page)
        built.append(len(rows))
        if len(built) >= 3:
            third.set()
        return rows

    monkeypatch.setattr(store_module, "page_rows", spy)
    seen_while_busy: list[bool] = []

    def busy_on_first_page(page):
        if not seen_while_busy:  # the GUI thread busy with page 1: no page 3 may be built meanwhile
            seen_while_busy.append(third.wait(0.5))

    store.pageLoaded.connect(busy_on_first_page)
    with qtbot.waitSignal(store.loaded, timeout=TIMEOUT):
        store.load()
    assert seen_while_busy == [False]
    assert built == [5] * 10 and [key_of(c) for c in store.connections()] == [
        (c["connection_id"], c["provider_config_key"])
        for c in sorted(nango_server.connections, key=lambda c: (c["created"], c["id"]), reverse=True)
    ]


def test_a_load_cancelled_while_its_worker_waits_for_the_gui_ends(qtbot, ctx, nango_server):
    store = ctx.connections_store
    store._page_size = 5
    first = []

    def cancel_on_first_page(page):
        if not first:
            first.append(len(page))
            store.cancel()  # the worker has the next page ready and waits for the GUI to take this one

    store.pageLoaded.connect(cancel_on_first_page)
    with qtbot.waitSignal(store.loadFinished, timeout=TIMEOUT) as finished:
        task = store.load()
    assert finished.args == [False] and first == [5]
    assert task.wait(10.0) and not store.is_loading and len(store.arrived()) == 0


def test_integration_counts_of_the_stores_rows_build_no_model(monkeypatch):
    """Issue 16: the Integrations page counts the broken connections of the store's rows without building their
    full models (reading ``errors`` of every row decoded a page per row: 2.6 s on the GUI thread at 100,000)."""
    import json

    from nango_desktop.domain.connection_rows import ConnectionRow
    from nango_desktop.services.raw_page import connection_rows, raw_connections
    from nango_desktop.ui.workbench.integrations import connection_counts
    from tests.nango_server import make_connections

    rows = connection_rows(raw_connections(json.dumps({"connections": make_connections(300, 3)}).encode()))
    expected = connection_counts([r.connection() for r in rows])
    assert sum(expected[1].values()) > 0  # some rows have errors

    def no_model(self):
        raise AssertionError("a full model was built")

    monkeypatch.setattr(ConnectionRow, "connection", no_model)
    assert connection_counts(rows) == expected
