"""Cyclic garbage collection on the GUI thread only.

Python runs its cyclic collector in whichever thread happens to allocate when a threshold is crossed: a
loading worker, a listener thread, an operation on the pool. A reference cycle that holds a Qt object (a widget
of a closed dialog, a page's bound slot, a finished Task) is then destroyed on that thread, and Qt objects may
only be destroyed on the thread they live in: the suite crashed once with a segmentation fault in a worker, in
the middle of pure-Python code (httpcore building a generator: the moment the collector runs). So the GUI turns
the automatic collector off and runs the same generational collections from a timer on the GUI thread (the
pattern of pyqtgraph's and qutebrowser's garbage collectors). Refcounting still frees everything that is not
in a cycle at once, on any thread; the CLI (no Qt) keeps the automatic collector.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QCoreApplication, QObject, QTimer

log = logging.getLogger(__name__)

INTERVAL_MS = 500  # how often the GUI thread checks whether a generation is due


class GuiThreadCollector(QObject):
    """Disables the automatic collector and collects, from a timer on this object's (the GUI) thread, each
    generation whose count passed its threshold, as the automatic collector would."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    def collect_due(self) -> int | None:
        """What ``gc`` does on its own once the young generation passed its threshold: collect the oldest
        generation whose count passed its own (the number of collections of the next younger one). Returns
        the number of unreachable objects found, or None when nothing was due."""
        counts = gc.get_count()
        if counts[0] <= self._thresholds[0]:
            return None
        generation = 2 if counts[2] > self._thresholds[2] else 1 if counts[1] > self._thresholds[1] else 0
        return gc.collect(generation)


def collect_on_gui_thread(app: QCoreApplication) -> GuiThreadCollector:
    """Install the collector on ``app`` once (later calls return the same one)."""
    existing = app.findChild(GuiThreadCollector)
    if existing is not None:
        return existing
    collector = GuiThreadCollector(app)
    log.debug("cyclic garbage collection moved to the GUI thread (every %d ms)", INTERVAL_MS)
    return collector
