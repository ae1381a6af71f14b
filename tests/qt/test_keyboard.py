"""Keyboard (issue 17): Down from a search box moves into its results; Tab goes search -> filters -> table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from nango_desktop.ui.endusers.page import EndUsersPage
from nango_desktop.ui.links.page import LinksPage
from tests.qt.test_connections_page import ctx, open_page  # noqa: F401 - fixtures
from tests.qt.test_endusers import SAMPLE


def focus_order(start: QWidget, stop: QWidget, limit: int = 40) -> list[QWidget]:
    """The widgets Tab visits from ``start`` up to ``stop`` (focusable ones only), as Qt chains them."""
    order, widget = [], start
    for _ in range(limit):
        widget = widget.nextInFocusChain()
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isEnabled():
            order.append(widget)
        if widget is stop:
            return order
    raise AssertionError(f"{stop.objectName()} is not reached by Tab from {start.objectName()}")


def activate(qtbot, widget: QWidget) -> None:
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)


def test_connections_down_from_search_selects_the_first_result(qtbot, ctx):  # noqa: F811
    page = open_page(qtbot, ctx)
    activate(qtbot, page)
    page.search.setFocus()
    qtbot.waitUntil(page.search.hasFocus)
    qtbot.keyClick(page.search, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is page.table
    assert page.table.currentIndex().row() == 0
    assert page.table.selectionModel().isRowSelected(0)


def test_connections_tab_order_search_filters_table(qtbot, ctx):  # noqa: F811
    page = open_page(qtbot, ctx)
    order = focus_order(page.search, page.table)
    names = [w.objectName() for w in order]
    filters = ["connectionsServerSearch", "connectionsFilterIntegration", "connectionsFilterStatus"]
    assert [n for n in names if n in filters] == filters
    assert names[-1] == "connectionsTable"
    assert len(order) <= 10  # straight there: no detour through the detail pane


def test_end_users_and_links_keyboard(qtbot, ctx):  # noqa: F811
    users = EndUsersPage(ctx)
    qtbot.addWidget(users)
    activate(qtbot, users)
    ctx.connections_store.set_connections(SAMPLE)
    qtbot.waitUntil(lambda: users.proxy.rowCount() == 3, timeout=10_000)
    users.search.setFocus()
    qtbot.waitUntil(users.search.hasFocus)
    qtbot.keyClick(users.search, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is users.tree and users.tree.currentIndex().row() == 0
    assert focus_order(users.search, users.tree)[-1] is users.tree

    links = LinksPage(ctx)
    qtbot.addWidget(links)
    order = focus_order(links.search, links.table)
    assert order[0] is links.status_filter and order[-1] is links.table


def test_down_on_an_empty_list_stays_in_the_search_box(qtbot, ctx):  # noqa: F811
    links = LinksPage(ctx)
    qtbot.addWidget(links)
    activate(qtbot, links)
    links.search.setFocus()
    qtbot.waitUntil(links.search.hasFocus)
    assert links.model.rowCount() == 0
    qtbot.keyClick(links.search, Qt.Key.Key_Down)
    assert links.search.hasFocus()
