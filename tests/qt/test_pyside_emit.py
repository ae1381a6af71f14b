"""PySide6 6.12.0 drops a reference to True on every Python-side emit (CPython < 3.12) and the interpreter
aborts after a few hundred emits; pyproject excludes that release. This guards the installed one."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(object)


def test_signal_emit_keeps_bool_refcounts(qapp):
    emitter = _Emitter()
    received = []
    emitter.ping.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(200):
        emitter.ping.emit(i)
    assert received == list(range(200))
    assert sys.getrefcount(True) - before >= 0
