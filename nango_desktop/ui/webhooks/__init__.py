"""Webhook inspector GUI: ListenerController (controller.py), EventsModel (model.py), WebhooksPage and
RecentEventsWidget (page.py), EventDetail (detail.py).

PySide6 6.12.0 on CPython < 3.12: ``SignalInstance.emit()`` returns ``True`` without a new reference, so
every emit called from Python drops one reference to ``True``. After a few thousand emits (a webhook burst
emits several per event) the interpreter aborts with "Fatal Python error: bool_dealloc". Until PySide is
fixed, :func:`guard_emit_refcount` (called on import, idempotent) probes for the bug and, only if it is
present, wraps ``emit`` to give the reference back. It belongs in ``qtutil`` for the whole app; it lives
here until it is moved (see the webhooks GUI report).
"""

from __future__ import annotations

import ctypes
import sys

_GUARDED = False


def guard_emit_refcount() -> bool:
    """Patch ``SignalInstance.emit`` if it leaks references to ``True``/``False``. Returns True if patched."""
    global _GUARDED
    if _GUARDED:
        return True
    from PySide6.QtCore import QObject, Signal, SignalInstance

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(4):
        probe.ping.emit()
    leaked = before - sys.getrefcount(True)
    if leaked <= 0:
        return False
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None
    incref(True)  # give back what the probe took
    for _ in range(leaked - 1):
        incref(True)
    original = SignalInstance.emit

    def emit(self, *args):  # type: ignore[no-untyped-def]
        result = original(self, *args)
        if result is True or result is False:
            incref(result)
        return result

    SignalInstance.emit = emit  # type: ignore[method-assign]
    _GUARDED = True
    return True


guard_emit_refcount()
