"""ConnectionsModel + ConnectionsFilterProxy against FakeNango (real HTTP on loopback)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer

from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import InvalidKeyError, ServerError
from nango_desktop.ui.connections.model import (
    COLUMNS,
    CONNECTION_ID,
    CREATED,
    CUSTOMER,
    STATUS,
    ConnectionRole,
    ConnectionsFilterProxy,
    ConnectionsModel,
    KeyRole,
    SortKeyRole,
)
from tests.nango_server import FakeNango


@pytest.fixture
def client(nango_server):
    with NangoClient(nango_server.url, nango_server.secret_key, max_retries=0) as c:
        yield c


def loaded_model(qtbot, client, **kw) -> ConnectionsModel:
    model = ConnectionsModel(lambda: client, **kw)
    with qtbot.waitSignal(model.loadFinished, timeout=20_000) as blocker:
        model.load()
    assert blocker.args == [True]
    return model


def api_order(server: FakeNango) -> list[str]:
    ordered = sorted(server.connections, key=lambda c: (c["created"], c["id"]), reverse=True)
    return [c["connection_id"] for c in ordered]


def test_loads_every_page_in_api_order(qtbot, qtmodeltester, nango_server, client):
    model = loaded_model(qtbot, client, page_size=7)  # 50 connections -> 8 pages
    assert model.rowCount() == 50 and model.columnCount() == len(COLUMNS) and model.is_complete
    assert [c.connection_id for c in model.connections()] == api_order(nango_server)
    assert len(nango_server.requests_to("/connections", "GET")) == 8
    qtmodeltester.check(model)
    conn = model.connection(0)
    index = model.index(0, CUSTOMER)
    assert index.data(ConnectionRole) is conn
    assert index.data(KeyRole) == (conn.connection_id, conn.provider_config_key)
    assert index.data() == (conn.customer.customer or conn.connection_id)
    assert model.index(0, CONNECTION_ID).data() == conn.connection_id
    assert model.headerData(STATUS, Qt.Orientation.Horizontal) == "Status"


def test_status_column_shows_errors(qtbot, nango_server, client):
    model = loaded_model(qtbot, client)
    rows = {model.connection(r).status: r for r in range(model.rowCount())}
    assert {"auth_error", "ok"} <= set(rows)
    row = rows["auth_error"]
    status = model.index(row, STATUS)
    assert status.data() == "Auth error"
    assert not status.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert status.data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.connection(row).auth_error_log_id in status.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(rows["ok"], STATUS).data() == "OK"


def test_rows_arrive_page_by_page_and_gui_keeps_running(qtbot):
    with FakeNango(connections=25_000, seed=3) as server:
        with NangoClient(server.url, server.secret_key) as big:
            model = ConnectionsModel(lambda: big)
            ticks = []
            timer = QTimer()
            timer.setInterval(5)
            timer.timeout.connect(lambda: ticks.append(model.rowCount()))
            inserted = []
            model.rowsInserted.connect(lambda _p, first, last: inserted.append(last - first + 1))
            timer.start()
            with qtbot.waitSignal(model.loadFinished, timeout=120_000):
                model.load()
            timer.stop()
    assert model.rowCount() == 25_000
    assert inserted == [1000] * 25  # one beginInsertRows per page
    # The timer kept firing while rows were arriving: the GUI thread was never blocked for the load.
    assert len(ticks) > 0
    assert any(0 < n < 25_000 for n in ticks)


def test_stale_pages_of_a_replaced_load_are_ignored(qtbot, nango_server, client):
    nango_server.set_delay(0.05)
    model = ConnectionsModel(lambda: client, page_size=5)
    model.load()
    with qtbot.waitSignal(model.loadFinished, timeout=20_000) as blocker:
        model.load(search="zzz-no-match")
    assert blocker.args == [True]
    assert model.rowCount() == 0 and model.search == "zzz-no-match"
    searches = [r.param("search") for r in nango_server.requests_to("/connections", "GET")]
    assert searches[-1] == "zzz-no-match"


def test_server_side_search_reload(qtbot, nango_server, client):
    target = nango_server.connections[10]["connection_id"]
    model = ConnectionsModel(lambda: client)
    with qtbot.waitSignal(model.loadFinished, timeout=20_000):
        model.load(search=target)
    assert [c.connection_id for c in model.connections()] == [target]


def test_cancel_keeps_loaded_rows(qtbot, nango_server, client):
    nango_server.set_delay(0.05)
    model = ConnectionsModel(lambda: client, page_size=5)
    with qtbot.waitSignal(model.rowsInserted, timeout=20_000):
        model.load()
    with qtbot.waitSignal(model.loadFinished, timeout=20_000) as blocker:
        model.cancel()
    assert blocker.args == [False]
    assert 0 < model.rowCount() < 50 and not model.is_complete and not model.is_loading


@pytest.mark.parametrize(("status", "error"), [(401, InvalidKeyError), (503, ServerError)])
def test_load_failure_is_reported(qtbot, nango_server, client, status, error):
    nango_server.fail_next(status, times=5, path_prefix="/connections")
    model = ConnectionsModel(lambda: client)
    failures = []
    model.loadFailed.connect(failures.append)
    with qtbot.waitSignal(model.loadFinished, timeout=20_000) as blocker:
        model.load()
    assert blocker.args == [False]
    assert len(failures) == 1 and isinstance(failures[0], error)


def test_refresh_keeps_rows_until_the_new_list_is_complete(qtbot, nango_server, client):
    model = loaded_model(qtbot, client, page_size=10)
    nango_server.add_connection("github", "brand-new")
    inserted, reset = [], []
    model.rowsInserted.connect(lambda *a: inserted.append(a))
    model.modelReset.connect(lambda: reset.append(model.rowCount()))
    with qtbot.waitSignal(model.loadFinished, timeout=20_000):
        model.load(keep_rows=True)
    assert inserted == [] and reset == [51]
    assert model.row_of("brand-new", "github") is not None


def test_sort_by_every_column_uses_precomputed_keys(qtbot, qtmodeltester, nango_server, client):
    model = loaded_model(qtbot, client)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    for column in range(len(COLUMNS)):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            proxy.sort(column, order)
            keys = [proxy.index(r, column).data(SortKeyRole) for r in range(proxy.rowCount())]
            assert keys == sorted(keys, reverse=order == Qt.SortOrder.DescendingOrder)
    # created sorts by date, not by the displayed text
    proxy.sort(CREATED, Qt.SortOrder.AscendingOrder)
    created = [proxy.index(r, 0).data(ConnectionRole).created_at_datetime for r in range(proxy.rowCount())]
    assert created == sorted(created)
    proxy.sort(-1)
    assert [c.connection_id for c in model.connections()] == api_order(nango_server)
    qtmodeltester.check(proxy)


def test_sort_keeps_persistent_indexes(qtbot, nango_server, client):
    model = loaded_model(qtbot, client)
    conn = model.connection(7)
    persistent = QPersistentModelIndex(model.index(7, CONNECTION_ID))
    model.sort(CUSTOMER, Qt.SortOrder.DescendingOrder)
    assert persistent.isValid() and model.connection(persistent.row()) is conn
    assert persistent.column() == CONNECTION_ID


def test_sort_applies_to_rows_arriving_later(qtbot, nango_server, client):
    model = ConnectionsModel(lambda: client, page_size=9)
    model.sort(CUSTOMER, Qt.SortOrder.AscendingOrder)
    with qtbot.waitSignal(model.loadFinished, timeout=20_000):
        model.load()
    keys = [model.index(r, CUSTOMER).data(SortKeyRole) for r in range(model.rowCount())]
    assert len(keys) == 50 and keys == sorted(keys)


def test_filters(qtbot, qtmodeltester, nango_server, client):
    model = loaded_model(qtbot, client)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    conns = model.connections()

    def visible():
        return {c.connection_id for c in proxy.visible_connections()}

    someone = next(c for c in conns if c.customer.email)
    term = someone.customer.email.split("@")[0].upper()  # case-insensitive
    proxy.set_text(term)
    assert visible() == {
        c.connection_id
        for c in conns
        if term.lower() in (c.customer.email or "").lower()
        or term.lower() in c.connection_id.lower()
        or term.lower() in (c.customer.customer or "").lower()
        or any(term.lower() in f"{k}={v}".lower() for k, v in c.all_tags.items())
    }
    assert someone.connection_id in visible()
    proxy.set_text(f"{someone.provider_config_key} {someone.connection_id}")  # every term must match
    assert visible() == {someone.connection_id}
    proxy.set_text("")

    proxy.set_integrations({"github", "slack"})
    assert visible() == {c.connection_id for c in conns if c.provider_config_key in ("github", "slack")}
    proxy.set_integrations(None)

    proxy.set_statuses({"auth_error"})
    assert visible() == {c.connection_id for c in conns if c.has_auth_error}
    total, errored = proxy.counts()
    assert total == errored == len(visible()) > 0
    proxy.set_statuses({"sync_error", "auth_error"})
    assert visible() == {c.connection_id for c in conns if c.status != "ok"}
    proxy.set_statuses(None)

    tagged = next(c for c in conns if c.tags.get("end_user_id"))
    proxy.set_tag_filters({"END_USER_ID": tagged.tags["end_user_id"]})
    assert visible() == {
        c.connection_id for c in conns if c.all_tags.get("end_user_id") == tagged.tags["end_user_id"]
    }
    # legacy end users count through their derived tags
    legacy = next(c for c in conns if c.end_user is not None and c.end_user.id)
    proxy.set_tag_filters({"end_user_id": legacy.end_user.id})
    assert legacy.connection_id in visible()
    proxy.set_tag_filters({"organization_id": ""})  # key present, any value
    assert visible() == {c.connection_id for c in conns if "organization_id" in c.all_tags}
    proxy.set_tag_filters({})
    assert proxy.rowCount() == 50 and not proxy.is_filtering()
    assert proxy.counts() == (50, sum(1 for c in conns if c.status != "ok"))
    qtmodeltester.check(proxy)


def test_filter_follows_rows_arriving_during_the_load(qtbot, nango_server, client):
    model = ConnectionsModel(lambda: client, page_size=6)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_statuses({"ok"})
    with qtbot.waitSignal(model.loadFinished, timeout=20_000):
        model.load()
    assert all(c.status == "ok" for c in proxy.visible_connections())
    assert proxy.rowCount() == sum(1 for c in model.connections() if c.status == "ok")


def test_update_and_remove_rows(qtbot, qtmodeltester, nango_server, client):
    model = loaded_model(qtbot, client)
    first = model.connection(3)
    changed = first.model_copy(update={"tags": {"end_user_display_name": "Renamed Person"}})
    changed.__dict__.pop("customer", None)
    spy = []
    model.dataChanged.connect(lambda a, b: spy.append((a.row(), b.row())))
    model.update_connection(changed)
    assert spy == [(3, 3)] and model.index(3, CUSTOMER).data() == "Renamed Person"
    assert model.remove_connection(first.connection_id, first.provider_config_key)
    assert model.rowCount() == 49 and model.row_of(first.connection_id, first.provider_config_key) is None
    assert not model.remove_connection("nope", "github")
    qtmodeltester.check(model)


def test_set_connections_static_list(qtbot, qtmodeltester, client):
    model = ConnectionsModel()
    conns = client.list_connections(limit=5)
    model.set_connections(conns)
    assert model.rowCount() == 5 and model.is_complete and not model.is_loading
    assert model.rowCount(model.index(0, 0)) == 0 and model.data(QModelIndex()) is None
    qtmodeltester.check(model)


def test_load_in_flight_when_list_is_replaced(qtbot, nango_server, client):
    nango_server.set_delay(0.05)
    model = ConnectionsModel(lambda: client, page_size=5)
    task = model.load()
    model.set_connections([])
    assert not model.is_loading
    done = threading.Event()
    task.signals.done.connect(done.set)
    qtbot.waitUntil(done.is_set, timeout=20_000)
    assert model.rowCount() == 0
