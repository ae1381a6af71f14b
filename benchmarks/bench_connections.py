"""Connections browser figures, against FakeNango over loopback HTTP.

For each size (default 25,000 and 100,000 connections) it prints: time to the first rows in the table and
to every connection loaded (ConnectionsModel, pages of 1,000, a QTableView attached), the longest GUI-thread
stall seen by a 5 ms QTimer during the load, then, on the largest size, the local filter latency per
keystroke (proxy re-filter + counter), sort time per column, and the peak RSS of this process.

FakeNango runs in a child process, so the RSS and the GIL are the app's alone (generating the fake data is
not timed). Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_connections.py [--sizes 25000 100000] [--page-size 1000]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def serve(n: int, conn) -> None:  # child process
    from tests.nango_server import FakeNango

    server = FakeNango(connections=n, seed=7).start()
    conn.send((server.url, server.secret_key))
    conn.recv()  # until the parent is done
    server.stop()


def start_server(n: int):
    parent, child = mp.Pipe()
    proc = mp.Process(target=serve, args=(n, child), daemon=True)
    proc.start()
    url, key = parent.recv()
    return proc, parent, url, key


def load(app, url: str, key: str, page_size: int):
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QTableView

    from nango_desktop.services.api import NangoClient
    from nango_desktop.ui.connections.model import ConnectionsFilterProxy, ConnectionsModel

    client = NangoClient(url, key)
    model = ConnectionsModel(lambda: client, page_size=page_size)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    view.resize(1200, 700)
    view.show()
    first: list[float] = []
    stall = {"max": 0.0, "last": None}
    clock = QElapsedTimer()
    tick = QTimer()
    tick.setInterval(5)

    def on_tick() -> None:
        now = clock.nsecsElapsed() / 1e9
        if stall["last"] is not None:
            stall["max"] = max(stall["max"], now - stall["last"])
        stall["last"] = now

    tick.timeout.connect(on_tick)
    gc_times: list[float] = []
    gc_start: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            gc_start.append(time.perf_counter())
        elif gc_start:
            gc_times.append(time.perf_counter() - gc_start.pop())

    gc.callbacks.append(on_gc)
    model.rowsInserted.connect(lambda *a: first or first.append(time.perf_counter()))
    model.loadFinished.connect(lambda _ok: app.quit())
    clock.start()
    tick.start()
    t0 = time.perf_counter()
    model.load()
    app.exec()
    total = time.perf_counter() - t0
    tick.stop()
    gc.callbacks.remove(on_gc)
    full_gc = (len(gc_times), max(gc_times, default=0.0))
    return model, proxy, view, client, first[0] - t0, total, stall["max"], full_gc


def measure_filters(app, model, proxy) -> list[tuple[str, float, int]]:
    conn = next(c for c in model.connections() if c.customer.display_name)
    word = conn.customer.display_name.split()[0].lower()
    results = []
    for i in range(1, len(word) + 1):
        text = word[:i]
        t0 = time.perf_counter()
        proxy.set_text(text)
        proxy.rowCount()
        shown, _errored = proxy.counts()
        app.processEvents()
        results.append((text, time.perf_counter() - t0, shown))
    proxy.set_text("")
    return results


def measure_sorts(app, proxy) -> list[tuple[str, float]]:
    from PySide6.QtCore import Qt

    from nango_desktop.ui.connections.model import COLUMNS

    results = []
    for column, name in enumerate(COLUMNS):
        t0 = time.perf_counter()
        proxy.sort(column, Qt.SortOrder.AscendingOrder)
        proxy.index(0, 0).data()
        app.processEvents()
        results.append((name, time.perf_counter() - t0))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000])
    ap.add_argument("--page-size", type=int, default=1000)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    print(f"connections browser benchmark — page size {args.page_size}, FakeNango in a child process")
    last = None
    for n in args.sizes:
        proc, pipe, url, key = start_server(n)
        try:
            model, proxy, view, client, first, total, stall, full_gc = load(app, url, key, args.page_size)
        finally:
            pipe.send("stop")
            proc.join(10)
        assert model.rowCount() == n, (model.rowCount(), n)
        print(
            f"{n:>7,} connections: first rows after {first * 1000:.0f} ms, all loaded in {total:.2f} s "
            f"({n / total:,.0f} rows/s); longest GUI stall during the load {stall * 1000:.0f} ms; "
            f"{full_gc[0]} full GC passes (longest {full_gc[1] * 1000:.0f} ms)"
        )
        if last is not None:
            last[2].close()
            last[3].close()
        last = (model, proxy, view, client)

    model, proxy, view, client = last
    filters = measure_filters(app, model, proxy)
    print(f"filter per keystroke at {model.rowCount():,} rows (proxy re-filter + counter):")
    for text, seconds, shown in filters:
        print(f"  {text!r:>12}: {seconds * 1000:6.1f} ms ({shown:,} rows match)")
    times = [s for _t, s, _n in filters]
    print(f"  median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
    print(f"sort at {model.rowCount():,} rows:")
    for name, seconds in measure_sorts(app, proxy):
        print(f"  {name:<14} {seconds * 1000:6.1f} ms")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS of the app process: {peak_kb / 1024:.0f} MiB")
    view.close()
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
