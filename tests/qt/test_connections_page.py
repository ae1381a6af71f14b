"""ConnectionsPage against FakeNango through a real AppContext (loopback HTTP, offscreen Qt)."""

from __future__ import annotations

import csv
import json
from functools import partial

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from nango_desktop.services.api import NangoClient
from nango_desktop.services.secrets import SecretKind
from nango_desktop.settings import Profile, Settings
from nango_desktop.ui.connections.model import CUSTOMER, STATUS, KeyRole, SortKeyRole, key_of
from nango_desktop.ui.connections.page import ConnectionsPage, parse_tag_filter
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.widgets import DestructiveConfirmDialog

LOAD_TIMEOUT = 30_000


def make_ctx(server, secret_store, *, production: bool = False) -> AppContext:
    """An AppContext on ``server`` whose client does not retry (errors surface at once)."""
    profile = Profile(name="test", api_url=server.url, production=production)
    secret_store.set(profile.name, SecretKind.API_KEY, server.secret_key)
    ctx = AppContext(
        Settings(profiles=[profile], current_profile=profile.name),
        secret_store,
        client_factory=partial(NangoClient, max_retries=0),
    )
    ctx.cache_key(profile.name, server.secret_key)
    return ctx


@pytest.fixture
def ctx(qapp, nango_server, secret_store):
    ctx = make_ctx(nango_server, secret_store)
    errors: list[tuple[str, str]] = []
    ctx.errorRaised.connect(lambda title, detail: errors.append((title, detail)))
    ctx.errors = errors
    window = QWidget()  # stands in for the main window: errors are emitted as errorRaised
    ctx.attach_window(window)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


def open_page(qtbot, ctx) -> ConnectionsPage:
    with qtbot.waitSignal(ctx.connections_store.loaded, timeout=LOAD_TIMEOUT):
        page = ConnectionsPage(ctx)
        qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    return page


@pytest.fixture
def page(qtbot, ctx):
    return open_page(qtbot, ctx)


def visible_ids(page) -> list[str]:
    return [c.connection_id for c in page.proxy.visible_connections()]


def select_row(page, row: int) -> None:
    index = page.proxy.index(row, 0)
    page.table.selectionModel().setCurrentIndex(
        index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    )


def test_loads_everything_publishes_and_counts(qtbot, qtmodeltester, page, ctx, nango_server):
    assert page.objectName() == "connectionsPage"
    for name in (
        "connectionsTable",
        "connectionsSearch",
        "connectionsFilterIntegration",
        "connectionsFilterStatus",
        "connectionsFilterTag",
        "connectionsCounter",
        "connectionsExport",
        "connectionDetail",
        "connectionsServerSearch",
        "connectionsRefresh",
        "connectionsBusy",
    ):
        assert page.findChildren(object, name), name
    assert page.model.rowCount() == 50 and len(ctx.connections) == 50
    errored = sum(1 for c in nango_server.connections if c["errors"])
    qtbot.waitUntil(lambda: page.counter.text() == f"50 connections ({errored} with errors)")
    # newest first, as the API lists them, with the sort indicator on Created
    created = [c.created_at_datetime for c in page.proxy.visible_connections()]
    assert created == sorted(created, reverse=True)
    qtmodeltester.check(page.proxy)


def test_local_filters_and_counter(qtbot, page, nango_server):
    conns = page.model.connections()
    page.status_combo.setCurrentIndex(page.status_combo.findText("Auth errors"))
    assert set(visible_ids(page)) == {c.connection_id for c in conns if c.has_auth_error}
    n = len(visible_ids(page))
    qtbot.waitUntil(lambda: page.counter.text() == f"{n} of 50 connections ({n} with errors)")

    page.apply_filter(status="all", integrations=["github"])
    qtbot.waitUntil(lambda: page.integration_button.text() == "GitHub")  # label from GET /integrations
    assert set(visible_ids(page)) == {c.connection_id for c in conns if c.provider_config_key == "github"}
    assert page.checked_integrations() == {"github"}

    page.set_integration_filter(None)
    someone = next(c for c in conns if c.tags.get("end_user_id"))
    page.tag_edit.setText(f"end_user_id={someone.tags['end_user_id']}")
    assert someone.connection_id in visible_ids(page)
    assert all(
        c.all_tags.get("end_user_id") == someone.tags["end_user_id"] for c in page.proxy.visible_connections()
    )

    page.clear_filters()
    page.search.setText(someone.connection_id[:12])  # instant, before the debounce fires
    assert someone.connection_id in visible_ids(page) and len(visible_ids(page)) < 50
    page.search.setText("")
    assert len(visible_ids(page)) == 50


def test_integration_menu_lists_integrations(qtbot, page, nango_server):
    qtbot.waitUntil(lambda: len(page.integration_menu.actions()) >= 2 + len(nango_server.integrations))
    action = next(a for a in page.integration_menu.actions() if a.data() == "slack")
    action.setChecked(True)
    assert set(c.provider_config_key for c in page.proxy.visible_connections()) == {"slack"}
    next(
        a for a in page.integration_menu.actions() if a.objectName() == "connectionsIntegrationAll"
    ).trigger()
    assert page.proxy.rowCount() == 50 and page.integration_button.text() == "All integrations"


def test_integration_menu_stays_open_while_ticking_and_the_button_keeps_its_width(qtbot, page, nango_server):
    qtbot.waitUntil(lambda: len(page.integration_menu.actions()) >= 2 + len(nango_server.integrations))
    page.show()
    qtbot.waitExposed(page)
    width = page.integration_button.width()
    row_before = page.status_combo.mapTo(page, page.status_combo.rect().topLeft())
    menu = page.integration_menu
    menu.popup(page.integration_button.mapToGlobal(page.integration_button.rect().bottomLeft()))
    qtbot.waitUntil(menu.isVisible)
    picks = [a for a in menu.actions() if a.isCheckable()][:2]
    for action in picks:
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
        assert menu.isVisible() and action.isChecked()  # still open: tick the next one
    assert page.checked_integrations() == {a.data() for a in picks}
    assert page.integration_button.text() == "2 integrations"
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(picks[0]).center())
    assert not picks[0].isChecked()  # a second click unticks
    assert page.integration_button.width() == width
    assert page.status_combo.mapTo(page, page.status_combo.rect().topLeft()) == row_before
    menu.close()


def test_server_search_reloads_with_search_param(qtbot, page, nango_server):
    target = nango_server.connections[5]["connection_id"]
    page.search.set_debounce(0)
    page.server_search.setChecked(True)
    qtbot.waitUntil(lambda: not page.model.is_loading, timeout=LOAD_TIMEOUT)
    with qtbot.waitSignal(page.model.loadFinished, timeout=LOAD_TIMEOUT):
        page.search.setText(target)
    assert page.model.search == target
    assert [c.connection_id for c in page.model.connections()] == [target]
    assert nango_server.requests_to("/connections", "GET")[-1].param("search") == target
    with qtbot.waitSignal(page.model.loadFinished, timeout=LOAD_TIMEOUT):
        page.server_search.setChecked(False)
    assert page.model.rowCount() == 50 and page.model.search is None


def test_sort_by_header_click(qtbot, page):
    page.table.horizontalHeader().setSortIndicator(CUSTOMER, Qt.SortOrder.AscendingOrder)
    names = [page.proxy.index(r, CUSTOMER).data().casefold() for r in range(page.proxy.rowCount())]
    assert names == sorted(names)


def test_refresh_keeps_selection_and_scroll(qtbot, page, nango_server):
    page.resize(900, 300)
    select_row(page, 30)
    page.table.scrollTo(page.proxy.index(30, 0))
    key = page.proxy.index(30, 0).data(KeyRole)
    top_before = page.table.rowAt(0)
    top_key = page.proxy.index(top_before, 0).data(KeyRole)
    assert top_before > 0
    nango_server.add_connection("slack", "fresh-one")  # newest: arrives on top after the refresh
    with qtbot.waitSignal(page.model.loadFinished, timeout=LOAD_TIMEOUT):
        page.refresh()
    assert page.model.rowCount() == 51
    assert [i.data(KeyRole) for i in page.table.selectionModel().selectedRows()] == [key]
    assert page.table.currentIndex().data(KeyRole) == key
    assert page.proxy.index(page.table.rowAt(0), 0).data(KeyRole) == top_key
    assert page.detail.connection is not None and key_of(page.detail.connection) == key


def test_copy_ids_and_context_menu(qtbot, page, monkeypatch):
    select_row(page, 2)
    page.table.selectionModel().select(
        page.proxy.index(4, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    page.copy_ids()
    expected = [page.proxy.connection(2).connection_id, page.proxy.connection(4).connection_id]
    assert QGuiApplication.clipboard().text() == "\n".join(expected)
    menu = page.context_menu()
    names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
    assert names == [
        "connectionsCopyId",
        "connectionsOpenDetail",
        "connectionsReconnect",
        "connectionsNewLink",
        "connectionsFilterCustomer",
        "connectionsDelete",
    ]
    assert page.action_reconnect.text() == "Create 2 reconnect links…"

    requested = []
    monkeypatch.setattr(page.ctx, "request_reconnect_links", lambda conns: requested.append(list(conns)))
    monkeypatch.setattr(page.ctx, "request_new_link", lambda prefill=None: requested.append(prefill))
    page.action_reconnect.trigger()
    assert [c.connection_id for c in requested[0]] == expected
    conn = page.current_connection()
    page.action_new_link.trigger()
    prefill = requested[1]
    assert prefill["existing_integrations"] == [conn.provider_config_key] and "integration_ids" not in prefill
    if conn.customer.end_user_id:
        assert prefill["end_user_id"] == conn.customer.end_user_id


def test_filter_by_customer(qtbot, page):
    conns = page.model.connections()
    row = next(r for r in range(page.proxy.rowCount()) if page.proxy.connection(r).customer.end_user_id)
    select_row(page, row)
    end_user = page.proxy.connection(row).customer.end_user_id
    page.action_filter_customer.trigger()
    assert page.tag_edit.text() == f"end_user_id={end_user}"
    assert set(visible_ids(page)) == {c.connection_id for c in conns if c.customer.end_user_id == end_user}


def test_delete_from_context_menu(qtbot, page, ctx, nango_server, monkeypatch):
    asked = []
    monkeypatch.setattr(
        DestructiveConfirmDialog, "ask", classmethod(lambda cls, parent, **kw: asked.append(kw) or True)
    )
    select_row(page, 0)
    conn = page.current_connection()
    with qtbot.waitSignal(ctx.connectionChanged, timeout=LOAD_TIMEOUT):
        page.action_delete.trigger()
    assert asked[0]["connection_id"] == conn.connection_id and asked[0]["production"] is False
    assert nango_server.find(conn.connection_id, conn.provider_config_key) is None
    qtbot.waitUntil(lambda: page.model.row_of(*key_of(conn)) is None, timeout=LOAD_TIMEOUT)
    assert page.model.rowCount() == 49
    qtbot.waitUntil(lambda: len(ctx.connections) == 49, timeout=LOAD_TIMEOUT)


def test_delete_cancelled_by_the_user(qtbot, page, nango_server, monkeypatch):
    monkeypatch.setattr(DestructiveConfirmDialog, "ask", classmethod(lambda cls, parent, **kw: False))
    select_row(page, 0)
    conn = page.current_connection()
    page.action_delete.trigger()
    assert nango_server.find(conn.connection_id, conn.provider_config_key) is not None


def test_connection_changed_refreshes_one_row(qtbot, page, ctx, nango_server):
    conn = page.model.connection(3)
    stored = nango_server.find(conn.connection_id, conn.provider_config_key)
    stored["tags"] = {"end_user_id": "changed", "end_user_display_name": "Someone Else"}
    stored["end_user"] = None
    nango_server.invalidate()
    with qtbot.waitSignal(page.model.dataChanged, timeout=LOAD_TIMEOUT):
        ctx.connectionChanged.emit(conn.connection_id, conn.provider_config_key)
    row = page.model.row_of(*key_of(conn))
    assert page.model.index(row, CUSTOMER).data() == "Someone Else"
    assert page.model.rowCount() == 50


def test_export_view_csv_and_json(qtbot, page, tmp_path, monkeypatch):
    page.apply_filter(status="auth_error")
    expected = visible_ids(page)
    out = tmp_path / "exports"
    out.mkdir()
    with qtbot.waitSignal(page.ctx.notified, timeout=LOAD_TIMEOUT):
        page.export_view("csv", str(out / "view.csv"))
    with (out / "view.csv").open(newline="", encoding="utf-8") as fh:
        assert [r["connection_id"] for r in csv.DictReader(fh)] == expected
    monkeypatch.setattr(
        ConnectionsPage, "ask_export_path", classmethod(lambda cls, parent, fmt: str(out / "v"))
    )
    with qtbot.waitSignal(page.ctx.notified, timeout=LOAD_TIMEOUT) as blocker:
        next(
            a for a in page.export_button.menu().actions() if a.objectName() == "connectionsExportJson"
        ).trigger()
    assert "view.csv" not in blocker.args[1] and f"{len(expected)} connections" in blocker.args[1]
    data = json.loads((out / "v.json").read_text(encoding="utf-8"))
    assert [d["connection_id"] for d in data] == expected


def test_navigate_filter_and_pending_selection(qtbot, ctx, nango_server):
    gate = nango_server.hold("/connections", after=1)  # the first page arrives, the rest waits
    target = nango_server.connections[0]  # oldest: arrives in the last page
    page = ConnectionsPage(ctx)
    qtbot.addWidget(page)
    ctx.connections_store._page_size = 10  # the session store loads the list
    qtbot.waitUntil(lambda: page.model.rowCount() == 10 and gate.held == 1, timeout=LOAD_TIMEOUT)
    page.on_navigate(
        filter={"status": "errors"},
        connection_id=target["connection_id"],
        integration_id=target["provider_config_key"],
    )
    assert page.model.is_loading and page.detail.connection is None  # not loaded yet: pending
    gate.release()
    qtbot.waitUntil(lambda: page.detail.connection is not None, timeout=LOAD_TIMEOUT)
    assert page.detail.connection.connection_id == target["connection_id"]
    qtbot.waitUntil(lambda: not page.model.is_loading, timeout=LOAD_TIMEOUT)
    if not target["errors"]:  # hidden by the status filter: selecting it cleared the filters
        assert page.status_combo.currentIndex() == 0
    assert page.current_connection().connection_id == target["connection_id"]


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (401, "The API key was rejected"),
        (403, "The API key lacks"),
        (429, "rate limit"),
        (500, "The Nango server had an error"),
        (503, "The Nango server had an error"),
    ],
)
def test_load_errors_are_shown(qtbot, ctx, nango_server, status, title):
    nango_server.fail_next(status, path_prefix="/connections")
    with qtbot.waitSignal(ctx.errorRaised, timeout=LOAD_TIMEOUT) as blocker:
        page = ConnectionsPage(ctx)
        qtbot.addWidget(page)
    assert title in blocker.args[0]
    assert str(status) in blocker.args[1]
    qtbot.waitUntil(lambda: not page.model.is_loading, timeout=LOAD_TIMEOUT)
    assert "incomplete" in page.counter.text() or page.model.rowCount() == 0
    # the page keeps working: a refresh loads everything
    with qtbot.waitSignal(page.model.loadFinished, timeout=LOAD_TIMEOUT) as done:
        page.refresh()
    assert done.args == [True] and page.model.rowCount() == 50


def test_profile_change_reloads(qtbot, page, ctx, nango_server):
    with qtbot.waitSignal(page.model.loadFinished, timeout=LOAD_TIMEOUT):
        ctx.profileChanged.emit(ctx.profile)
    assert page.model.rowCount() == 50 and page.detail.connection is None


def test_parse_tag_filter():
    assert parse_tag_filter(" plan=pro , region = eu, vip ,") == (
        {"plan": "pro", "region": "eu", "vip": ""},
        [],
    )
    assert parse_tag_filter("=x")[1] == ["“=x” has no tag key"]


def test_selection_and_counter_follow_sort_and_local_filter(qtbot, page):
    select_row(page, 10)
    key = page.proxy.index(10, 0).data(KeyRole)
    header = page.table.horizontalHeader()
    for column, order in ((CUSTOMER, Qt.SortOrder.AscendingOrder), (STATUS, Qt.SortOrder.DescendingOrder)):
        header.setSortIndicator(column, order)
        assert page.table.currentIndex().data(KeyRole) == key
        assert [i.data(KeyRole) for i in page.table.selectionModel().selectedRows()] == [key]
    page.search.setText(key[0][:6])  # typing: narrows letter by letter, the selected row stays
    page.search.setText(key[0])
    assert key[0] in visible_ids(page) and page.table.currentIndex().data(KeyRole) == key
    shown = page.proxy.rowCount()
    qtbot.waitUntil(lambda: page.counter.text().startswith(f"{shown} of 50 connections ("))
    assert page.detail.connection is not None and key_of(page.detail.connection) == key
    page.search.setText("zz-no-such-connection")
    assert page.proxy.rowCount() == 0 and page.table.selectionModel().selectedRows() == []
    qtbot.waitUntil(lambda: page.counter.text() == "0 of 50 connections (0 with errors)")
    page.search.setText("")
    assert page.proxy.rowCount() == 50
    statuses = [page.proxy.index(r, STATUS).data(SortKeyRole) for r in range(50)]
    assert statuses == sorted(statuses, reverse=True)


def test_refresh_while_sorted_keeps_sort_and_selection(qtbot, page, nango_server):
    page.table.horizontalHeader().setSortIndicator(CUSTOMER, Qt.SortOrder.AscendingOrder)
    select_row(page, 20)
    key = page.proxy.index(20, 0).data(KeyRole)
    nango_server.add_connection("slack", "fresh-sorted-one")
    with qtbot.waitSignal(page.model.loadFinished, timeout=LOAD_TIMEOUT):
        page.refresh()
    assert page.proxy.rowCount() == 51
    names = [page.proxy.index(r, CUSTOMER).data(SortKeyRole) for r in range(51)]
    assert names == sorted(names)
    assert page.table.currentIndex().data(KeyRole) == key
    assert [i.data(KeyRole) for i in page.table.selectionModel().selectedRows()] == [key]


def test_pending_selection_while_sorted_and_loading(qtbot, ctx, nango_server):
    gate = nango_server.hold("/connections", after=1)  # the first page arrives, the rest waits
    target = nango_server.connections[0]  # oldest: arrives in the last page
    page = ConnectionsPage(ctx)
    qtbot.addWidget(page)
    ctx.connections_store._page_size = 10  # the session store loads the list
    page.table.horizontalHeader().setSortIndicator(CUSTOMER, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: page.model.rowCount() == 10 and gate.held == 1, timeout=LOAD_TIMEOUT)
    assert not page.select_connection(target["connection_id"], target["provider_config_key"])  # pending
    assert page.model.is_loading and page.detail.connection is None
    gate.release()
    qtbot.waitUntil(lambda: page.detail.connection is not None, timeout=LOAD_TIMEOUT)
    qtbot.waitUntil(lambda: not page.model.is_loading, timeout=LOAD_TIMEOUT)
    assert page.current_connection().connection_id == target["connection_id"]
    names = [page.proxy.index(r, CUSTOMER).data(SortKeyRole) for r in range(page.proxy.rowCount())]
    assert len(names) == 50 and names == sorted(names, reverse=True)


def test_successful_refresh_credentials_updates_the_row(qtbot, page, ctx, nango_server):
    """The issue: after "Refresh credentials" succeeded the row still said Auth error until a reload."""
    broken = next(
        c
        for c in page.model.connections()
        if c.has_auth_error
        and not nango_server.find(c.connection_id, c.provider_config_key).get("_refresh_exhausted")
    )
    assert page.select_connection(broken.connection_id, broken.provider_config_key)
    row = page.proxy.mapFromSource(page.model.index(page.model.row_of(*key_of(broken)), STATUS)).row()
    assert page.proxy.index(row, STATUS).data() == "Auth error"
    with qtbot.waitSignal(ctx.connectionChanged, timeout=LOAD_TIMEOUT):
        page.detail.refresh_credentials_button.click()

    def row_status() -> str:
        index = page.model.index(page.model.row_of(*key_of(broken)), STATUS)
        return index.data()

    qtbot.waitUntil(lambda: row_status() != "Auth error", timeout=LOAD_TIMEOUT)
    assert not page.detail.connection.has_auth_error  # the detail's errors box follows too
    assert page.detail.errors.texts() == [t for t in page.detail.errors.texts() if "Authorization" not in t]


def test_the_table_repaints_before_the_loading_worker(qtbot, page, monkeypatch):
    """Every data() call of a repaint of the Connections table runs inside gil_priority.gui_first(): a loading
    worker waits at its next yield point instead of taking the GIL back between those calls (issue 16)."""
    from nango_desktop.services import gil_priority
    from nango_desktop.ui.connections import proxy as proxy_module

    seen: list[bool] = []
    real_cell_data = proxy_module.cell_data

    def recording_cell_data(row, column, role):
        seen.append(gil_priority.gui_busy())
        return real_cell_data(row, column, role)

    monkeypatch.setattr(proxy_module, "cell_data", recording_cell_data)  # what the proxy's data() returns
    qtbot.waitExposed(page)
    page.table.viewport().grab()  # one repaint of the visible rows
    assert seen and all(seen), f"{seen.count(False)} of {len(seen)} data() calls outside gui_first()"
    assert not gil_priority.gui_busy()
