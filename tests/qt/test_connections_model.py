"""ConnectionsModel + ConnectionsFilterProxy against FakeNango (real HTTP on loopback, or its data alone)."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QTableView

from nango_desktop.domain.models import Connection
from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import InvalidKeyError, ServerError
from nango_desktop.ui.connections.model import (
    COLUMNS,
    CONNECTION_ID,
    CREATED,
    CUSTOMER,
    EMAIL,
    INTEGRATION,
    STATUS,
    ConnectionRole,
    ConnectionsModel,
    Key,
    KeyRole,
    SortKeyRole,
    key_of,
)
from nango_desktop.ui.connections.proxy import ConnectionsFilterProxy
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
    assert "Authorization error" in status.data(Qt.ItemDataRole.ToolTipRole)  # the type in words
    created = model.index(row, CREATED)
    assert created.data(Qt.ItemDataRole.ToolTipRole) == created.data()  # whole when a narrow column elides it
    assert model.index(rows["ok"], STATUS).data() == "OK"


def test_rows_arrive_page_by_page_and_gui_keeps_running(qtbot):
    with FakeNango(connections=25_000, seed=3) as server:
        gate = server.hold("/connections", after=5)  # the load stops after 5 of its 25 pages, in flight
        with NangoClient(server.url, server.secret_key) as big:
            model = ConnectionsModel(lambda: big)
            ticks = []
            timer = QTimer()
            timer.setInterval(5)
            timer.timeout.connect(lambda: ticks.append(model.rowCount()))
            inserted = []
            model.rowsInserted.connect(lambda _p, first, last: inserted.append(last - first + 1))
            model.load()
            # The first pages are on screen while the rest is still loading...
            qtbot.waitUntil(lambda: model.rowCount() == 5000 and gate.held == 1, timeout=60_000)
            assert model.is_loading and inserted == [1000] * 5
            # ...and the GUI thread is free meanwhile: its timers fire.
            timer.start()
            qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=10_000)
            timer.stop()
            assert set(ticks) == {5000}
            with qtbot.waitSignal(model.loadFinished, timeout=120_000):
                gate.release()
    assert model.rowCount() == 25_000
    assert inserted == [1000] * 25  # one beginInsertRows per page


def test_stale_pages_of_a_replaced_load_are_ignored(qtbot, nango_server, client):
    # the whole-list load gets its first page, then its second page is held while a search replaces it
    gate = nango_server.hold("/connections", after=1, match=lambda r: r.param("search") is None)
    model = ConnectionsModel(lambda: client, page_size=5)
    first = model.load()
    qtbot.waitUntil(lambda: model.rowCount() == 5 and gate.held == 1, timeout=20_000)
    with qtbot.waitSignal(model.loadFinished, timeout=20_000) as blocker:
        model.load(search="zzz-no-match")
    assert blocker.args == [True]
    assert model.rowCount() == 0 and model.search == "zzz-no-match"
    inserted = []
    model.rowsInserted.connect(lambda *_: inserted.append(1))
    finished = []
    model.loadFinished.connect(finished.append)
    with qtbot.waitSignal(first.signals.done, timeout=20_000):
        gate.release()  # the replaced load's page 2 (and whatever follows) comes back now
    assert inserted == [] and finished == [] and model.rowCount() == 0 and model.is_complete
    searches = [r.param("search") for r in nango_server.requests_to("/connections", "GET")]
    assert searches[:3] == [None, None, "zzz-no-match"]


def test_server_side_search_reload(qtbot, nango_server, client):
    target = nango_server.connections[10]["connection_id"]
    model = ConnectionsModel(lambda: client)
    with qtbot.waitSignal(model.loadFinished, timeout=20_000):
        model.load(search=target)
    assert [c.connection_id for c in model.connections()] == [target]


def test_cancel_keeps_loaded_rows(qtbot, nango_server, client):
    gate = nango_server.hold("/connections", after=2)  # two pages arrive, the third is held
    model = ConnectionsModel(lambda: client, page_size=5)
    model.load()
    qtbot.waitUntil(lambda: model.rowCount() == 10 and gate.held == 1, timeout=20_000)
    assert model.is_loading
    model.cancel()
    with qtbot.waitSignal(model.loadFinished, timeout=20_000) as blocker:
        gate.release()
    assert blocker.args == [False]
    assert 10 <= model.rowCount() < 50 and not model.is_complete and not model.is_loading


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
    gate = nango_server.hold("/connections")
    model = ConnectionsModel(lambda: client, page_size=5)
    task = model.load()
    qtbot.waitUntil(lambda: gate.held == 1, timeout=20_000)
    model.set_connections([])
    assert not model.is_loading
    with qtbot.waitSignal(task.signals.done, timeout=20_000):
        gate.release()
    assert model.rowCount() == 0 and model.is_complete


# -- ConnectionsFilterProxy: list-of-rows proxy (filter and sort without per-row C++ -> Python calls) --------


def static_model(n: int, seed: int = 11) -> ConnectionsModel:
    """A model with ``n`` FakeNango connections, no HTTP (the server is not started)."""
    server = FakeNango(connections=n, seed=seed)
    model = ConnectionsModel()
    model.set_connections([Connection.model_validate(c) for c in server.connections])
    return model


def brute_force(model: ConnectionsModel, terms, integrations, statuses, tags) -> set[Key]:
    """The rows the filters accept, computed the slow and obvious way."""
    out = set()
    for row in model.rows():
        if statuses is not None and row.status not in statuses:
            continue
        if integrations is not None and row.key[1] not in integrations:
            continue
        if not all(t in row.haystack for t in terms):
            continue
        if any(k not in row.tag_map or (v and row.tag_map[k] != v) for k, v in tags.items()):
            continue
        out.add(row.key)
    return out


def view_keys(proxy: ConnectionsFilterProxy) -> list[Key]:
    return [proxy.index(r, 0).data(KeyRole) for r in range(proxy.rowCount())]


def assert_sorted_view(proxy: ConnectionsFilterProxy) -> None:
    column, order = proxy.sort_column, proxy.sort_order
    if column < 0:
        rows = proxy.source_rows()
        assert rows == sorted(rows)  # the source order
        return
    keys = [proxy.index(r, column).data(SortKeyRole) for r in range(proxy.rowCount())]
    assert keys == sorted(keys, reverse=order == Qt.SortOrder.DescendingOrder)


def test_proxy_matches_a_brute_force_filter_through_random_edits(qtbot, qtmodeltester):
    """Typing on (narrowing), deleting (cached results), other filters and sorts, in a random order: the
    view always holds exactly the accepted rows, in sort order, with the counter and the mappings right."""
    model = static_model(400)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)  # checks every signal the proxy emits from here on
    rng = random.Random(5)
    haystacks = [r.haystack for r in model.rows()]
    integrations = sorted({r.key[1] for r in model.rows()})
    tagged = [r.tag_map for r in model.rows() if r.tag_map]
    text = ""
    for step in range(160):
        op = rng.choice(
            ["type", "type", "type", "delete", "delete", "word", "status", "integ", "tag", "sort"]
        )
        if op == "type":  # the next letter of a haystack that contains the last word: the text narrows
            words = text.split()
            last = words[-1] if words and not text.endswith(" ") else ""
            hay = rng.choice([h for h in haystacks if last in h] or haystacks)
            at = hay.find(last) if last else rng.randrange(len(hay))
            letter = hay[at + len(last) : at + len(last) + 1]
            if letter and letter not in "\x1f ":
                text += letter
        elif op == "delete":
            text = text[:-1]
        elif op == "word":
            text = (text + " " + rng.choice(["a", "er", "io", "github", "ok", "=", "z"])).strip()
        elif op == "status":
            proxy.set_statuses(rng.choice([None, {"ok"}, {"auth_error"}, {"auth_error", "sync_error"}]))
        elif op == "integ":
            proxy.set_integrations(rng.choice([None, set(rng.sample(integrations, 2)), {integrations[0]}]))
        elif op == "tag":
            tags = rng.choice(tagged)
            key = rng.choice(sorted(tags))
            proxy.set_tag_filters(rng.choice([{}, {key: ""}, {key: tags[key]}, {key: tags[key][:-1]}]))
        else:
            proxy.sort(rng.randrange(-1, len(COLUMNS)), rng.choice(list(Qt.SortOrder)))
        proxy.set_text(text)
        expected = brute_force(
            model, tuple(text.lower().split()), proxy.integrations, proxy.statuses, proxy.tag_filters
        )
        keys = view_keys(proxy)
        assert len(keys) == len(set(keys)) and set(keys) == expected, (step, op, text)
        assert_sorted_view(proxy)
        errored = sum(1 for r in range(proxy.rowCount()) if proxy.connection(r).status != "ok")
        assert proxy.counts() == (len(expected), errored)
        for r in range(0, proxy.rowCount(), 7):
            source = proxy.mapToSource(proxy.index(r, CUSTOMER))
            assert source.column() == CUSTOMER and proxy.mapFromSource(source).row() == r
        assert proxy.is_filtering() == bool(
            text.split() or proxy.integrations is not None or proxy.statuses is not None or proxy.tag_filters
        )


def test_sort_is_stable_like_qsortfilterproxymodel(qtbot):
    model = static_model(300)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(CUSTOMER)
    proxy.sort(STATUS)  # by status, then by customer inside each status
    pairs = [
        (proxy.index(r, STATUS).data(SortKeyRole), proxy.index(r, CUSTOMER).data(SortKeyRole))
        for r in range(300)
    ]
    assert pairs == sorted(pairs)
    # sorting a filtered view sorts the shown rows; the full order catches up when the filter widens
    proxy.set_statuses({"ok"})
    proxy.sort(INTEGRATION, Qt.SortOrder.DescendingOrder)
    shown = view_keys(proxy)
    proxy.set_statuses(None)
    assert_sorted_view(proxy)
    full = view_keys(proxy)
    assert [k for k in full if k in set(shown)] == shown  # the filtered view was a slice of the full one
    triples = [
        tuple(proxy.index(r, c).data(SortKeyRole) for c in (INTEGRATION, STATUS, CUSTOMER))
        for r in range(300)
    ]
    # descending on integration, ties by status then customer (the earlier sorts)
    for a, b in zip(triples, triples[1:], strict=False):
        assert a[0] > b[0] or (a[0] == b[0] and a[1:] <= b[1:])
    proxy.sort(-1)
    assert proxy.source_rows() == list(range(300))


def test_selection_follows_sort_filter_and_source_changes(qtbot, qtmodeltester):
    model = static_model(200)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    selection = view.selectionModel()
    rows = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    selection.setCurrentIndex(proxy.index(120, CONNECTION_ID), rows)
    conn = proxy.connection(120)
    persistent = QPersistentModelIndex(proxy.index(120, CONNECTION_ID))

    def selected() -> list[Key]:
        return [i.data(KeyRole) for i in selection.selectedRows()]

    for column in range(len(COLUMNS)):
        proxy.sort(column, Qt.SortOrder.DescendingOrder)
        assert proxy.connection(persistent.row()) is conn and persistent.column() == CONNECTION_ID
        assert view.currentIndex().data(ConnectionRole) is conn and selected() == [key_of(conn)]
    proxy.set_text(conn.connection_id[: len(conn.connection_id) // 2])  # still shown
    proxy.set_text(conn.connection_id)
    assert proxy.connection(persistent.row()) is conn and selected() == [key_of(conn)]
    proxy.set_text("zz-no-such-connection")  # hidden: the persistent index and the selection go
    assert not persistent.isValid() and selected() == [] and proxy.rowCount() == 0
    proxy.set_text("")
    assert proxy.rowCount() == 200

    # source changes: a row of the view is renamed (moves in the sort), one above it is removed,
    # an unknown one is added on top of the source; the current row stays on its connection
    proxy.sort(CUSTOMER, Qt.SortOrder.AscendingOrder)
    current = QPersistentModelIndex(proxy.index(100, 0))
    kept = proxy.connection(100)
    other = proxy.connection(150)
    renamed = other.model_copy(update={"tags": {**other.tags, "end_user_display_name": "!First Renamed"}})
    renamed.__dict__.pop("customer", None)
    renamed.__dict__.pop("all_tags", None)
    model.update_connection(renamed)
    assert proxy.index(0, CUSTOMER).data() == "!First Renamed"
    assert proxy.connection(current.row()) is kept
    gone = proxy.connection(3)
    assert model.remove_connection(*key_of(gone))
    assert proxy.rowCount() == 199 and proxy.connection(current.row()) is kept
    assert key_of(gone) not in view_keys(proxy)
    newcomer = renamed.model_copy(update={"connection_id": "brand-new-zzz"})
    newcomer.__dict__.pop("customer", None)
    model.update_connection(newcomer)  # unknown: inserted at source row 0
    assert model.connection(0) is newcomer and proxy.rowCount() == 200
    assert proxy.connection(current.row()) is kept
    assert_sorted_view(proxy)
    # under a filter, an update that stops matching leaves the view, one that starts matching joins it
    proxy.set_text("!first renamed")
    assert {k[0] for k in view_keys(proxy)} == {other.connection_id, "brand-new-zzz"}
    back = other.model_copy()
    back.__dict__.pop("customer", None)
    model.update_connection(back)
    assert [k[0] for k in view_keys(proxy)] == ["brand-new-zzz"]
    proxy.set_text("")
    # the source reorders itself (ConnectionsModel.sort): the proxy keeps its own order and the selection
    proxy.sort(-1)
    current = QPersistentModelIndex(proxy.index(42, 0))
    kept = proxy.connection(42)
    model.sort(EMAIL, Qt.SortOrder.DescendingOrder)
    assert proxy.connection(current.row()) is kept and proxy.source_rows() == list(range(200))
    assert [proxy.connection(r) for r in range(200)] == model.connections()


def test_pages_are_inserted_at_the_end_when_they_fit_the_sort(qtbot, qtmodeltester, nango_server, client):
    """Sorted by Created, newest first (the page's default): pages arrive in that order, so each one is a
    plain rowsInserted at the end, never a re-layout."""
    model = ConnectionsModel(lambda: client, page_size=7)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    proxy.sort(CREATED, Qt.SortOrder.DescendingOrder)
    inserted, layouts = [], []
    proxy.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    proxy.layoutChanged.connect(lambda *a: layouts.append(a))
    with qtbot.waitSignal(model.loadFinished, timeout=20_000):
        model.load()
    assert len(inserted) == 8 and inserted[0] == (0, 6) and layouts == []
    assert [c.connection_id for c in proxy.visible_connections()] == api_order(nango_server)


def test_pages_sorted_by_another_column_and_filtered(qtbot, qtmodeltester, nango_server, client):
    model = ConnectionsModel(lambda: client, page_size=6)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    proxy.sort(CUSTOMER, Qt.SortOrder.AscendingOrder)
    proxy.set_statuses({"ok", "sync_error"})
    seen = []
    proxy.rowsInserted.connect(lambda *a: seen.append(proxy.rowCount()))
    with qtbot.waitSignal(model.loadFinished, timeout=20_000):
        model.load()
    assert seen and seen[0] < proxy.rowCount()  # rows showed up page by page
    assert_sorted_view(proxy)  # re-sorted when the load finished, without waiting for the timer
    expected = brute_force(model, (), None, frozenset({"ok", "sync_error"}), {})
    assert set(view_keys(proxy)) == expected and len(expected) == proxy.rowCount()
    proxy.set_statuses(None)
    assert proxy.rowCount() == 50
    assert_sorted_view(proxy)


def test_proxy_basics(qtbot, qtmodeltester):
    proxy = ConnectionsFilterProxy()
    assert proxy.rowCount() == 0 and proxy.columnCount() == 0 and proxy.connection(0) is None
    assert proxy.visible_connections() == [] and proxy.counts() == (0, 0)
    proxy.set_text("x")  # no source: remembered
    model = static_model(30)
    proxy.setSourceModel(model)
    assert proxy.text == "x" and proxy.rowCount() == len(brute_force(model, ("x",), None, None, {}))
    proxy.set_text("")
    qtmodeltester.check(proxy)
    assert proxy.headerData(STATUS, Qt.Orientation.Horizontal) == "Status"
    assert proxy.headerData(0, Qt.Orientation.Vertical) is None
    index = proxy.index(0, STATUS)
    assert index.data() == model.index(0, STATUS).data()
    assert index.data(Qt.ItemDataRole.ToolTipRole) == model.index(0, STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert not proxy.index(30, 0).isValid() and not proxy.index(0, len(COLUMNS)).isValid()
    assert not proxy.parent(index).isValid() and proxy.rowCount(index) == 0
    assert proxy.mapFromSource(QModelIndex()) == QModelIndex()
    with pytest.raises(TypeError):
        proxy.setSourceModel(QStandardItemModel())
    parent = QObject()
    owned = ConnectionsFilterProxy(parent)
    assert owned.parent() is parent  # QObject.parent() still works
    model.set_connections([])
    assert proxy.rowCount() == 0 and proxy.counts() == (0, 0)


def test_own_load_builds_pages_only_a_little_ahead_of_the_gui(qtbot, nango_server, client, monkeypatch):
    """Issue 16: a server-search load hands its pages over with back-pressure too: while the GUI thread is busy
    with the first page, the worker builds at most two more (one handed over, one waiting), never the rest."""
    import threading

    from nango_desktop.ui.connections import model as model_module

    built: list[int] = []
    fourth = threading.Event()
    real = model_module.page_rows

    def spy(page):
        rows = real(page)
        built.append(len(rows))
        if len(built) >= 4:
            fourth.set()
        return rows

    monkeypatch.setattr(model_module, "page_rows", spy)
    model = ConnectionsModel(lambda: client, page_size=5)  # ten pages
    busy: list[bool] = []
    model.pageLoaded.connect(lambda rows: busy.append(fourth.wait(0.5)) if not busy else None)
    with qtbot.waitSignal(model.loadFinished, timeout=20_000) as finished:
        model.load()
    assert finished.args == [True] and busy == [False] and built == [5] * 10
    assert [c.connection_id for c in model.rows()] == api_order(nango_server)
