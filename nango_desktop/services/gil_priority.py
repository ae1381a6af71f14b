"""The GUI thread before loading workers during a repaint (issue 16: the longest stall while loading).

A table's repaint enters Python once per cell and role (``data()``: ~1,100 calls for one screen of the
Connections table), and each entry needs the GIL. While a loading worker builds rows it took the GIL back
between those calls, so every one of them waited for it: a repaint of 7 ms took 30-40 ms, and the longest GUI
stall while loading 100,000 connections from a fast server was 60-100 ms. Around such a burst the GUI thread
holds :func:`gui_first`; a worker reaching one of its yield points (:func:`yield_to_gui`, every 50 rows or
objects) then waits until the burst ends, at most ``MAX_PAUSE``, instead of taking the GIL back.

Qt-free: the loading workers (``services/raw_page.py``) call :func:`yield_to_gui`; the views that paint rows
fed by those workers wrap their paint in :func:`gui_first` (``ui/widgets.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MAX_PAUSE = 0.05  # seconds a worker waits at one yield point, whatever the GUI thread does

_idle = threading.Event()  # set unless the GUI thread is inside gui_first()
_idle.set()
_depth = 0  # nesting of gui_first() (GUI thread only)


@contextmanager
def gui_first() -> Iterator[None]:
    """GUI thread: loading workers wait at their next yield point until this block ends (re-entrant)."""
    global _depth
    _depth += 1
    _idle.clear()
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _idle.set()


def gui_busy() -> bool:
    """Whether the GUI thread is inside :func:`gui_first` now."""
    return not _idle.is_set()


def yield_to_gui() -> None:
    """Worker: let the GUI thread run. Releases the GIL (a waiting GUI thread takes it now, not after the
    switch interval of 5 ms); while the GUI thread is inside :func:`gui_first`, waits for its end."""
    if _idle.is_set():
        time.sleep(0)
    else:
        _idle.wait(MAX_PAUSE)
