"""GUI stall and peak RSS while the session's ConnectionsStore loads 100,000 connections (issue 16).

The real GUI path: ``ConnectionsStore`` (the session's only loader, worker thread) feeding a
``ConnectionsModel.follow(store)`` behind ``ConnectionsFilterProxy`` and a sorted ``QTableView`` shown at
1200x700. FakeNango runs in a child process (its RSS and GIL are not the app's), warmed first (its pages then
come as fast as loopback allows: the worst case for the GUI thread; ``--cold`` skips that). Prints per run: time to all
rows, the longest GUI-thread stall seen by a 5 ms QTimer during the load, the longest single call of the
model's page handler / resort on the GUI thread, and the process's peak RSS. Run several times (``--runs``),
each in a fresh process, and report the range. Exits 1 when a target (stall <= 50 ms, RSS <= 300 MiB) is missed.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_store_load.py [--connections 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, ROOT)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STALL_TARGET_MS = 50
RSS_TARGET_MIB = 300


def one_run(n: int, page_size: int, warm: bool = True) -> dict:
    from benchmarks.bench_connections import peak_rss_mib, start_server, store_table, warm_server

    proc, pipe, url, key = start_server(n)
    if warm:
        warm_server(url, key, page_size)
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from nango_desktop.services.api import NangoClient
    from nango_desktop.session.connections import ConnectionsStore
    from nango_desktop.ui.connections.model import ConnectionsModel
    from nango_desktop.ui.connections.proxy import ConnectionsFilterProxy

    slowest: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                slowest[name] = max(slowest.get(name, 0.0), time.perf_counter() - t)

        return wrapper

    # the GUI-thread slots of the load, timed (patched on the classes before any signal is connected)
    for cls, names in (
        (ConnectionsStore, ("_on_page", "_on_done")),
        (ConnectionsModel, ("_on_page", "_finish", "_resort", "_on_store_started")),
        (
            ConnectionsFilterProxy,
            ("_on_rows_inserted", "_resort", "_flush_resort", "_on_reset", "_on_layout_changed"),
        ),
    ):
        for name in names:
            setattr(cls, name, timed(f"{cls.__name__[11:] or 'store'}.{name}", getattr(cls, name)))

    gc_passes: dict[str, float] = {"start": 0.0, "longest_ms": 0.0, "gen": -1}

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_passes["start"] = time.perf_counter()
        else:
            ms = (time.perf_counter() - gc_passes["start"]) * 1000
            if ms > gc_passes["longest_ms"]:
                gc_passes.update(longest_ms=ms, gen=info["generation"])

    gc.callbacks.append(on_gc)
    app = QApplication.instance() or QApplication([])

    client = NangoClient(url, key)
    store, model, proxy, view = store_table(app, client, page_size)
    app.processEvents()

    stall = {"max": 0.0, "last": None}
    clock = QElapsedTimer()
    tick = QTimer()
    tick.setInterval(5)

    def on_tick():
        now = clock.elapsed()
        if stall["last"] is not None:
            if now - stall["last"] > stall["max"]:
                stall.update(max=now - stall["last"], at=now, rows=model.rowCount())
        stall["last"] = now

    tick.timeout.connect(on_tick)
    loop = QEventLoop()
    clock.start()
    tick.start()
    QTimer.singleShot(2000, loop.quit)  # the idle noise floor of this machine, same meter, same window
    loop.exec()
    idle = stall["max"]
    stall.update(max=0.0, last=None)
    load_start = clock.elapsed()
    done = {"at": None}

    def finished(_ok: bool) -> None:
        done["at"] = time.perf_counter()
        QTimer.singleShot(300, loop.quit)  # the resort after the load and the repaint

    store.loadFinished.connect(finished)
    t0 = time.perf_counter()
    store.load()
    loop.exec()
    tick.stop()
    rows = model.rowCount()
    pipe.send("stop")
    proc.join(5)
    return {
        "rows": rows,
        "total_s": done["at"] - t0,
        "stall_ms": stall["max"],
        "idle_ms": idle,
        "stall_at": f"{stall.get('at', 0) - load_start} ms into the load, {stall.get('rows', 0):,} rows shown",
        "gc": f"longest GC pass {gc_passes['longest_ms']:.0f} ms (generation {gc_passes['gen']})",
        "slowest_ms": {k: round(v * 1000, 1) for k, v in slowest.items()},
        "rss_mib": peak_rss_mib(),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--connections", type=int, default=100_000)
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cold", action="store_true", help="do not warm FakeNango's cache first (slower pages)")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(one_run(a.connections, a.page_size, warm=not a.cold)))
        return 0
    results = []
    for i in range(a.runs):
        out = (
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    "--connections",
                    str(a.connections),
                    "--page-size",
                    str(a.page_size),
                    *(["--cold"] if a.cold else []),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        results.append(r)
        print(
            f"run {i + 1}: {r['rows']:,} rows in {r['total_s']:.2f} s; longest GUI stall {r['stall_ms']:.0f} ms "
            f"(at {r['stall_at']}; idle floor {r['idle_ms']:.0f} ms; {r['gc']}) "
            f"(slowest GUI calls {r['slowest_ms']}); peak RSS {r['rss_mib']:.0f} MiB"
        )
    stalls = [r["stall_ms"] for r in results]
    rss = [r["rss_mib"] for r in results]
    print(f"longest GUI stall: {min(stalls):.0f}-{max(stalls):.0f} ms (target <= {STALL_TARGET_MS} ms)")
    print(f"peak RSS: {min(rss):.0f}-{max(rss):.0f} MiB (target <= {RSS_TARGET_MIB} MiB)")
    return 0 if max(stalls) <= STALL_TARGET_MS and max(rss) <= RSS_TARGET_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
