"""ui/columns.py: columns fitted to content with a stretch column, squeezed (never off screen) when narrow,
and the column chooser remembered across restarts (window-state file in the config dir)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QTableView

from nango_desktop.ui.columns import SQUEEZE_FLOOR, ColumnLayout, header_of

HEADERS = ["Customer", "Email", "Integration", "Connection ID", "Created", "Status"]


class RowsModel(QAbstractTableModel):
    """Plain rows of text (QStandardItemModel's Python-made items are avoided: PySide may collect them)."""

    def __init__(self, rows: list[list[str]], parent=None) -> None:
        super().__init__(parent)
        self.rows = rows

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            return self.rows[index.row()][index.column()]
        return None


def make_view(qtbot, width: int = 1100) -> QTableView:
    view = QTableView()
    qtbot.addWidget(view)
    rows = [
        [
            f"Customer number {n}",
            f"someone.with.a.long.name{n}@example-company.com",
            "google-drive",
            f"3f2b1c4d-{n:04d}-4abc-9def-0123456789ab",
            "2026-12-05 05:56",
            "Auth error",
        ]
        for n in range(40)
    ]
    view.setModel(RowsModel(rows, view))  # owned by the view
    view.resize(width, 400)
    view.show()
    qtbot.waitExposed(view)
    return view


def visible_total(view: QTableView) -> int:
    header = header_of(view)
    return sum(header.sectionSize(c) for c in range(header.count()) if not header.isSectionHidden(c))


def test_columns_fit_their_content_and_the_stretch_column_takes_the_rest(qtbot, tmp_home):
    view = make_view(qtbot, 1500)
    layout = ColumnLayout(view, "t1", stretch=3)
    layout.fit()
    header = header_of(view)
    for column in (0, 1, 2, 4, 5):
        assert header.sectionSize(column) >= view.sizeHintForColumn(column)  # nothing cut
    assert visible_total(view) == view.viewport().width()  # no empty band, no scrolling


@pytest.mark.parametrize("width", [640, 900])
def test_a_narrow_view_squeezes_columns_instead_of_scrolling(qtbot, tmp_home, width):
    view = make_view(qtbot, 1500)
    layout = ColumnLayout(view, "t2", stretch=3, required=(0, 5))
    layout.fit()
    view.resize(width, 400)
    qtbot.waitUntil(lambda: view.viewport().width() < width)
    header = header_of(view)
    assert visible_total(view) <= view.viewport().width() + 1
    assert all(
        header.sectionSize(c) >= min(SQUEEZE_FLOOR, view.sizeHintForColumn(c)) for c in (0, 1, 2, 4, 5)
    )
    assert header.sectionSize(5) >= view.sizeHintForColumn(5)  # a required column is squeezed last
    view.resize(1500, 400)
    qtbot.waitUntil(lambda: view.viewport().width() > 1400)
    assert header.sectionSize(1) >= view.sizeHintForColumn(1)  # wide again: back to the content width


def test_column_chooser_hides_columns_and_remembers_them(qtbot, tmp_home):
    view = make_view(qtbot)
    layout = ColumnLayout(view, "connections", stretch=3, required=(0,))
    menu = layout.menu()
    actions = {a.text(): a for a in menu.actions() if a.isCheckable()}
    assert not actions["Customer"].isEnabled()  # required: cannot be hidden
    actions["Created"].setChecked(False)
    actions["Email"].setChecked(False)
    assert view.isColumnHidden(4) and view.isColumnHidden(1)
    assert layout.hidden_names() == ["Email", "Created"]

    again = make_view(qtbot)  # a new start: same table key
    ColumnLayout(again, "connections", stretch=3, required=(0,))
    assert again.isColumnHidden(1) and again.isColumnHidden(4) and not again.isColumnHidden(0)
    other = make_view(qtbot)
    ColumnLayout(other, "links", stretch=3)  # another table: its own choice
    assert not other.isColumnHidden(1)


def test_widths_set_by_the_user_are_remembered(qtbot, tmp_home):
    view = make_view(qtbot, 1500)
    layout = ColumnLayout(view, "t3", stretch=3)
    layout.fit()
    header_of(view).resizeSection(2, 222)  # the user drags a border
    layout.save()
    again = make_view(qtbot, 1500)
    layout2 = ColumnLayout(again, "t3", stretch=3)
    layout2.fit()
    assert header_of(again).sectionSize(2) == 222


def test_hidden_by_default_until_the_user_shows_it(qtbot, tmp_home):
    view = make_view(qtbot)
    layout = ColumnLayout(view, "t4", stretch=3, hidden_by_default=(4,))
    assert view.isColumnHidden(4)
    layout.set_column_visible(4, True)
    again = make_view(qtbot)
    ColumnLayout(again, "t4", stretch=3, hidden_by_default=(4,))
    assert not again.isColumnHidden(4)


def test_too_narrow_even_squeezed_drops_columns_in_order_and_brings_them_back(qtbot, tmp_home):
    """Issue 17: at 1024x700 with the detail pane open the Connections table scrolled sideways (every column at
    its squeeze floor was still wider than the view). Columns of ``drop_order`` are hidden for room, in order,
    shown again when the room is back, and never saved as hidden by the user."""
    view = make_view(qtbot, 1500)
    layout = ColumnLayout(view, "t-drop", stretch=3, required=(0, 5), drop_order=(4, 1, 2))
    layout.fit()
    header = header_of(view)
    assert layout.dropped == set()
    view.setColumnHidden(2, True)  # hidden by the user (chooser): stays hidden whatever the width
    layout.set_column_visible(2, False)
    view.resize(330, 400)
    qtbot.waitUntil(lambda: view.viewport().width() < 330)
    assert layout.dropped and layout.dropped <= {4, 1}
    assert not header.isSectionHidden(0) and not header.isSectionHidden(5)  # required columns stay
    assert visible_total(view) <= view.viewport().width() + 1  # no sideways scrolling
    assert 2 not in layout.dropped and "Integration" in layout.hidden_names()
    assert "Created" not in layout.hidden_names()  # dropped for room is not the user's choice
    if 1 in layout.dropped:
        assert 4 in layout.dropped  # dropped in order: Created before Email
    view.resize(1500, 400)
    qtbot.waitUntil(lambda: view.viewport().width() > 1400)
    assert layout.dropped == set()
    assert not header.isSectionHidden(4) and not header.isSectionHidden(1)
    assert header.isSectionHidden(2)  # the user's choice holds
