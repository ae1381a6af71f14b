"""Reference cycles are collected on the GUI thread, never on a worker that allocates (qtutil/collector.py)."""

from __future__ import annotations

import gc
import threading
import weakref

from nango_desktop.qtutil.collector import collect_on_gui_thread


class _Node:
    pass


def test_a_cycle_made_and_dropped_on_a_worker_is_collected_on_the_gui_thread(qtbot, qapp):
    collector = collect_on_gui_thread(qapp)
    assert collect_on_gui_thread(qapp) is collector  # installed once
    assert not gc.isenabled()
    collected_on: list[int] = []
    kept: list[list[int]] = []

    def worker() -> None:
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
        weakref.finalize(a, lambda: collected_on.append(threading.get_ident()))
        del a, b
        # allocations far past the young generation's threshold: the automatic collector would run here
        kept.extend([i] for i in range(20 * gc.get_threshold()[0]))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert collected_on == []  # the worker's allocations did not collect
    qtbot.waitUntil(lambda: bool(collected_on), timeout=10_000)  # the GUI thread's timer did
    assert collected_on == [threading.get_ident()]


def test_nothing_is_collected_until_the_young_generation_is_due(qapp):
    collector = collect_on_gui_thread(qapp)
    gc.collect()
    assert collector.collect_due() is None
    kept = [[i] for i in range(2 * gc.get_threshold()[0])]
    assert collector.collect_due() is not None
    assert gc.get_count()[0] < gc.get_threshold()[0]
    del kept
