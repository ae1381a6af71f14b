"""Item views for rows that a loading worker feeds while they are shown (the connection list).

Their repaint runs with the loading workers paused at their next yield point
(:func:`nango_desktop.services.gil_priority.gui_first`): a repaint enters Python once per cell and role, and
while a worker built rows each of those entries waited for the GIL (a 7 ms repaint took 30-40 ms).
"""

from __future__ import annotations

from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QTableView, QTreeView

from nango_desktop.services.gil_priority import gui_first


class PriorityTableView(QTableView):
    """A QTableView whose repaint goes before the loading workers."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's API
        with gui_first():
            super().paintEvent(event)


class PriorityTreeView(QTreeView):
    """A QTreeView whose repaint goes before the loading workers."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's API
        with gui_first():
            super().paintEvent(event)
