"""EventBridge: carry objects from any thread (listener threads, callbacks) to the GUI thread.

Create it in the GUI thread; call ``post(obj)`` from any thread; connect ``received`` to a bound
``@Slot(object)`` of a GUI-thread QObject. Emitting from another thread queues the call to the
receiver's thread (STYLE.md §7).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class EventBridge(QObject):
    received = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)

    def post(self, item: object) -> None:
        """Thread-safe: deliver ``item`` through ``received`` (queued to receivers in other threads)."""
        self.received.emit(item)

    __call__ = post
