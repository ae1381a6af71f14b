"""Pause the cyclic garbage collector while large API payloads are parsed (split out of services/api.py)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_gc_pause_lock = threading.Lock()
_gc_pause_depth = 0
_gc_pause_reenable = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (process-wide) while large API payloads are parsed.

    Reference counted, so overlapping pauses from several threads are safe: the collector is re-enabled
    when the last one ends, and only if it was enabled before the first began. Refcounting keeps freeing
    memory meanwhile; only reference cycles wait for the next collection.
    """
    global _gc_pause_depth, _gc_pause_reenable
    with _gc_pause_lock:
        if _gc_pause_depth == 0:
            _gc_pause_reenable = gc.isenabled()
            gc.disable()
        _gc_pause_depth += 1
    try:
        yield
    finally:
        with _gc_pause_lock:
            _gc_pause_depth -= 1
            if _gc_pause_depth == 0 and _gc_pause_reenable:
                gc.enable()
