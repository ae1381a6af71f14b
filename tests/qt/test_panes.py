"""The Connections detail pane (issue 17): collapsible, resizable, remembered across restarts; the table
gets the width back when it is closed; opening a connection opens it again."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSplitter

from nango_desktop.ui.panes import SidePane
from tests.qt.test_connections_page import ctx, open_page, select_row  # noqa: F401 - fixture


def make_splitter(qtbot, width: int = 1200) -> QSplitter:
    splitter = QSplitter()
    qtbot.addWidget(splitter)
    splitter.addWidget(QLabel("table"))
    splitter.addWidget(QLabel("detail"))
    splitter.resize(width, 400)
    splitter.show()
    qtbot.waitExposed(splitter)
    return splitter


def test_pane_collapses_restores_and_is_remembered(qtbot, tmp_home):
    splitter = make_splitter(qtbot)
    pane = SidePane(splitter, 1, "t", default_width=400, min_width=300)
    assert pane.is_open() and splitter.sizes()[1] == 400
    pane.toggle.trigger()  # the Details button / F9
    assert not pane.is_open() and splitter.sizes()[1] == 0 and splitter.sizes()[0] > 1100
    pane.toggle.trigger()
    assert pane.is_open() and splitter.sizes()[1] == 400  # back at its width
    splitter.moveSplitter(700, 1)  # the user drags the handle: a wider pane
    qtbot.waitUntil(lambda: abs(pane.width - splitter.sizes()[1]) <= 1 and pane.width > 450)
    width = pane.width
    pane.save()

    again = make_splitter(qtbot)
    restored = SidePane(again, 1, "t", default_width=400, min_width=300)
    assert restored.is_open() and abs(again.sizes()[1] - width) <= 1  # the width survives a restart
    restored.set_open(False)
    third = make_splitter(qtbot)
    assert not SidePane(third, 1, "t", default_width=400, min_width=300).is_open()  # so does "closed"


def test_pane_dragged_shut_counts_as_closed(qtbot, tmp_home):
    splitter = make_splitter(qtbot)
    pane = SidePane(splitter, 1, "drag", default_width=400, min_width=300)
    splitter.moveSplitter(splitter.width(), 1)
    qtbot.waitUntil(lambda: not pane.toggle.isChecked())
    assert splitter.sizes()[1] == 0


def test_first_start_default_closed_on_a_narrow_screen(qtbot, tmp_home):
    splitter = make_splitter(qtbot, 1000)
    pane = SidePane(splitter, 1, "narrow", default_open=False)
    assert not pane.is_open()


def test_connections_details_button_and_opening_a_connection(qtbot, ctx, tmp_home):  # noqa: F811
    page = open_page(qtbot, ctx)
    page.detail_pane.set_open(False)
    table_width = page.table.width()
    assert page.splitter.sizes()[1] == 0
    select_row(page, 2)
    page.table.doubleClicked.emit(page.proxy.index(2, 0))  # opening a connection opens the pane
    assert page.detail_pane.is_open() and page.detail_toggle.isChecked()
    assert page.table.width() < table_width
    page.detail_toggle.click()
    assert not page.detail_pane.is_open()
