"""End users page and model: grouping from tags and legacy end_user, tree by organization, actions."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QWidget

from nango_desktop.domain.endusers import EndUser, Organization, build_directory
from nango_desktop.domain.models import Connection
from nango_desktop.ui.endusers.model import (
    BROKEN,
    CONNECTIONS,
    EMAIL,
    END_USER_ID,
    NAME,
    ORGANIZATION,
    EndUsersFilterProxy,
    EndUsersModel,
    SortKeyRole,
)
from nango_desktop.ui.endusers.page import EndUsersPage
from tests.qt.test_connections_page import make_ctx

TIMEOUT = 20_000
_next_id = iter(range(1, 100_000))


def conn(cid, *, tags=None, end_user=None, auth_error=False, integration="github") -> Connection:
    return Connection.model_validate(
        {
            "id": next(_next_id),
            "connection_id": cid,
            "provider": integration,
            "provider_config_key": integration,
            "created": "2026-01-02T03:04:05.000Z",
            "tags": tags or {},
            "end_user": end_user,
            "errors": [{"type": "auth", "log_id": "L"}] if auth_error else [],
        }
    )


SAMPLE = [
    conn(
        "ann-gh",
        tags={
            "end_user_id": "ann",
            "end_user_email": "ann@acme.com",
            "end_user_display_name": "Ann",
            "organization_id": "acme",
            "organization_display_name": "Acme",
        },
        auth_error=True,
    ),
    conn(
        "ann-slack",
        integration="slack",
        end_user={
            "id": "ann",
            "email": "ann@acme.com",
            "organization": {"id": "acme", "display_name": "Acme"},
        },
    ),
    conn(
        "bob-gh",
        end_user={"id": "bob", "display_name": "Bob", "organization": {"id": "acme"}},
        auth_error=True,
    ),
    conn("cy-gh", tags={"end_user_email": "cy@solo.dev"}),
    conn("orphan", tags={"project": "x"}),
]


@pytest.fixture
def model():
    m = EndUsersModel()
    m.set_directory(build_directory(SAMPLE))
    return m


def test_flat_model(qtmodeltester, model):
    assert model.rowCount() == 3 and model.columnCount() == 6
    rows = {model.index(r, NAME).data(): r for r in range(3)}
    assert set(rows) == {"Ann", "Bob", "cy@solo.dev"}
    ann = rows["Ann"]
    assert model.index(ann, CONNECTIONS).data() == "2" and model.index(ann, BROKEN).data() == "1"
    assert model.index(ann, BROKEN).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.index(rows["cy@solo.dev"], BROKEN).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.rowCount(model.index(0, 0)) == 0
    qtmodeltester.check(model)


def test_grouped_model_and_sorting(qtmodeltester, model):
    model.set_grouped(True)
    orgs = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert sorted(orgs) == ["(no organization)", "Acme"]
    acme = model.index(orgs.index("Acme"), 0)
    assert {model.index(r, 0, acme).data() for r in range(model.rowCount(acme))} == {"Ann", "Bob"}
    assert model.index(acme.row(), BROKEN).data() == "2"
    assert model.parent(model.index(0, 0, acme)) == acme
    qtmodeltester.check(model)
    model.sort(CONNECTIONS, Qt.SortOrder.DescendingOrder)
    keys = [model.index(r, CONNECTIONS).data(SortKeyRole) for r in range(model.rowCount())]
    assert keys == sorted(keys, reverse=True)
    model.set_grouped(False)
    model.sort(EMAIL, Qt.SortOrder.AscendingOrder)
    emails = [model.index(r, EMAIL).data(SortKeyRole) for r in range(model.rowCount())]
    assert emails == sorted(emails)
    qtmodeltester.check(model)


def test_proxy_filters_recursively(qtmodeltester, model):
    proxy = EndUsersFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_text("ACME")
    assert {proxy.index(r, 0).data() for r in range(proxy.rowCount())} == {"Ann", "Bob"}
    model.set_grouped(True)
    assert proxy.rowCount() == 1 and proxy.index(0, 0).data() == "Acme"
    assert proxy.rowCount(proxy.index(0, 0)) == 2
    proxy.set_text("bob")
    assert proxy.rowCount(proxy.index(0, 0)) == 1
    proxy.set_text("")
    proxy.set_broken_only(True)
    assert proxy.rowCount() == 1  # only Acme has users with broken connections
    qtmodeltester.check(proxy)
    proxy.sort(NAME, Qt.SortOrder.DescendingOrder)
    names = [proxy.index(r, 0, proxy.index(0, 0)).data() for r in range(proxy.rowCount(proxy.index(0, 0)))]
    assert names == ["Bob", "Ann"]


def test_sort_keeps_persistent_indexes(model):
    from PySide6.QtCore import QPersistentModelIndex

    model.set_grouped(True)
    acme_row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "Acme")
    child = QPersistentModelIndex(model.index(0, EMAIL, model.index(acme_row, 0)))
    user = model.item(child)
    model.sort(NAME, Qt.SortOrder.DescendingOrder)
    model.sort(NAME, Qt.SortOrder.AscendingOrder)
    assert child.isValid() and model.item(child) is user and child.column() == EMAIL


@pytest.fixture
def ctx(qapp, nango_server, secret_store):
    ctx = make_ctx(nango_server, secret_store)
    window = QWidget()
    ctx.attach_window(window)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


@pytest.fixture
def page(qtbot, ctx):
    page = EndUsersPage(ctx)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    return page


def wait_directory(qtbot, page, users: int) -> None:
    qtbot.waitUntil(lambda: len(page.model.directory.users) == users, timeout=TIMEOUT)


def test_page_builds_directory_from_published_connections(qtbot, page, ctx, monkeypatch):
    assert page.objectName() == "endUsersPage" and page.tree.objectName() == "endUsersTree"
    assert "No connections loaded" in page.summary.text()
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    assert page.summary.text().startswith("3 end users (2 with broken connections) in 1 organizations")
    assert "1 connections without an end user" in page.summary.text()

    assert page.select("id:ann")
    assert page.connections_model.rowCount() == 2
    assert {c.connection_id for c in page.connections_model.connections()} == {"ann-gh", "ann-slack"}
    assert page.reconnect_button.isEnabled() and "1 broken" in page.reconnect_button.text()

    calls = []
    monkeypatch.setattr(
        ctx, "request_reconnect_links", lambda conns: calls.append([c.connection_id for c in conns])
    )
    monkeypatch.setattr(ctx, "request_new_link", lambda prefill=None: calls.append(prefill))
    monkeypatch.setattr(ctx, "navigate", lambda page_name, **kw: calls.append((page_name, kw)))
    page.reconnect_button.click()
    assert calls[-1] == ["ann-gh"]
    page.new_link_button.click()
    prefill = calls[-1]
    assert prefill["end_user_id"] == "ann" and prefill["email"] == "ann@acme.com"
    assert prefill["organization_id"] == "acme"
    # the user's integrations are shown as connected, not pre-ticked: a new link is for another one
    assert prefill["existing_integrations"] == ["github", "slack"] and "integration_ids" not in prefill
    page.show_button.click()
    assert calls[-1] == ("connections", {"filter": {"clear": True, "tags": {"end_user_id": "ann"}}})
    page.connections_view.doubleClicked.emit(page.connections_proxy.index(0, 0))
    assert calls[-1][0] == "connections" and calls[-1][1]["connection_id"] in {"ann-gh", "ann-slack"}


def test_organization_reconnect_all_broken(qtbot, page, ctx, monkeypatch):
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    page.group_toggle.setChecked(True)
    assert page.tree.rootIsDecorated()
    acme = next(o for o in page.model.directory.organizations if o.key == "id:acme")
    assert page.select(acme.key, organization=True)
    assert isinstance(page.current_item(), Organization)
    assert {c.connection_id for c in page.connections_model.connections()} == {
        "ann-gh",
        "ann-slack",
        "bob-gh",
    }
    calls = []
    monkeypatch.setattr(
        ctx, "request_reconnect_links", lambda conns: calls.append(sorted(c.connection_id for c in conns))
    )
    page.reconnect_button.click()
    assert calls == [["ann-gh", "bob-gh"]]
    assert not page.new_link_button.isEnabled()


def test_selection_survives_rebuild_and_grouping(qtbot, page, ctx):
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    page.select("id:bob")
    page.group_toggle.setChecked(True)
    assert isinstance(page.current_item(), EndUser) and page.current_item().key == "id:bob"
    ctx.connections_store.set_connections(
        [*SAMPLE, conn("bob-slack", integration="slack", end_user={"id": "bob"})]
    )
    qtbot.waitUntil(lambda: page.connections_model.rowCount() == 2, timeout=TIMEOUT)
    assert page.current_item().key == "id:bob"


def test_search_and_broken_only(qtbot, page, ctx):
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    page.search.setText("solo")
    assert page.proxy.rowCount() == 1 and page.proxy.index(0, 0).data() == "cy@solo.dev"
    page.search.setText("")
    page.broken_only.setChecked(True)
    assert {page.proxy.index(r, 0).data() for r in range(page.proxy.rowCount())} == {"Ann", "Bob"}


def test_with_fake_nango_tags_and_legacy(qtbot, page, ctx, nango_server, qtmodeltester):
    with qtbot.waitSignal(ctx.connections_store.loaded, timeout=TIMEOUT):
        page.refresh()
    conns = ctx.connections
    assert len(conns) == 50
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=TIMEOUT)
    directory = page.model.directory
    by_key = {u.key: u for u in directory.users}
    legacy = next(c for c in conns if c.end_user is not None and not c.tags)
    tagged = next(c for c in conns if c.tags.get("end_user_id"))
    assert legacy in by_key[f"id:{legacy.end_user.id}"].connections
    assert tagged in by_key[f"id:{tagged.tags['end_user_id']}"].connections
    assert sum(len(u.connections) for u in directory.users) + len(directory.unassigned) == 50
    page.group_toggle.setChecked(True)
    qtmodeltester.check(page.proxy)


def test_profile_change_clears(qtbot, page, ctx):
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    page.select("id:ann")
    ctx.profileChanged.emit(None)
    assert page.model.rowCount() == 0 and page.connections_model.rowCount() == 0
    assert page.tree.currentIndex() == QModelIndex()


def test_tree_click_selects(qtbot, page, ctx):
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    index = page.proxy.index(0, 0)
    page.tree.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert page.current_item() is page.proxy.item(index)
    assert page.connections_model.rowCount() == len(page.current_item().connections)


def test_names_sort_naturally():
    users = [
        conn(f"c{n}", tags={"end_user_id": f"u{n}", "end_user_display_name": f"User {n}"}) for n in (10, 2, 1)
    ]
    m = EndUsersModel()
    m.set_directory(build_directory(users))
    m.sort(NAME, Qt.SortOrder.AscendingOrder)
    assert [m.index(r, NAME).data() for r in range(3)] == ["User 1", "User 2", "User 10"]


def test_grouped_rows_put_organization_ids_under_organization_not_end_user_id(model):
    model.set_grouped(True)
    orgs = [model.index(r, NAME).data() for r in range(model.rowCount())]
    acme = orgs.index("Acme")
    assert model.index(acme, END_USER_ID).data() == ""
    assert model.index(acme, ORGANIZATION).data() == "acme"
    assert model.index(acme, EMAIL).data() == "2 end users"


def test_rows_as_tall_as_connections_and_columns_fit(qtbot, page, ctx):
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    row = page.tree.visualRect(page.proxy.index(0, 0)).height()
    assert row >= page.fontMetrics().height() + 8
    header = page.tree.header()
    for column in (NAME, ORGANIZATION, END_USER_ID, CONNECTIONS, BROKEN):
        assert header.sectionSize(column) >= page.tree.sizeHintForColumn(column)  # nothing cut
    total = sum(header.sectionSize(c) for c in range(header.count()))
    assert total <= page.tree.viewport().width() + 1  # every column on screen at 1280


def test_collapsed_organizations_stay_collapsed_after_a_refresh(qtbot, page, ctx):
    ctx.connections_store.set_connections(SAMPLE)
    wait_directory(qtbot, page, 3)
    page.group_toggle.setChecked(True)
    assert page.is_expanded("id:acme")
    acme = page.proxy.mapFromSource(page.model.index_of("id:acme", organization=True))
    page.tree.collapse(acme)
    assert not page.is_expanded("id:acme")
    more = [*SAMPLE, conn("dan-gh", tags={"end_user_id": "dan", "organization_id": "acme"})]
    ctx.connections_store.set_connections(more)
    wait_directory(qtbot, page, 4)
    assert not page.is_expanded("id:acme")  # the user's choice survives the rebuild
    others = [o.key for o in page.model.directory.organizations if o.key != "id:acme"]
    assert all(page.is_expanded(k) for k in others)
