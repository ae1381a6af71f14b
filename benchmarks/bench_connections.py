"""Connections browser figures, against FakeNango over loopback HTTP.

For each size (default 25,000 and 100,000 connections) it prints: time to the first rows in the table and
to every connection loaded (ConnectionsModel + ConnectionsFilterProxy, pages of 1,000, a QTableView
attached and sorted by Created as the page is), the longest GUI-thread stall seen by a 5 ms QTimer during
the load, then, on the largest size:

- filter latency per keystroke (proxy re-filter + counter + pending events, i.e. the repaint): several
  words typed letter by letter (narrowing) then deleted letter by letter (widening), each word a different
  one so that no result is reused from a previous word; then each word pasted whole and deleted letter by
  letter with the proxy's cache of recent results emptied (when it has one); medians and maximum;
- integration / status filter changes, and the tag filter typed letter by letter;
- sort time per column, ascending and descending (median of several runs, each from the API order), and
  with a text filter and a selected row, and with every row selected;
- the peak RSS of this process.

FakeNango runs in a child process, so the RSS and the GIL are the app's alone (generating the fake data is
not timed). The machine may be shared: every figure that can be repeated is a median. ``--tree DIR``
imports ``nango_desktop`` from another checkout (before/after comparisons in the same conditions). Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_connections.py [--sizes 25000 100000] [--page-size 1000]
        [--words 5] [--sort-runs 3] [--tree DIR]
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

ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, ROOT)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def serve(n: int, conn) -> None:  # child process (always the FakeNango of this checkout)
    sys.path.insert(0, ROOT)
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


def warm_server(url: str, key: str, page_size: int) -> None:
    """Fetch every page once from another process (its memory is not ours): FakeNango sorts and caches its JSON
    on first request, then sends pages as fast as loopback allows (the worst case for the GUI thread)."""
    import subprocess

    subprocess.run(
        [sys.executable, "-c", "import sys; from benchmarks.raw_transfer import fetch_all; "
         "fetch_all(sys.argv[1], sys.argv[2], int(sys.argv[3]))", url, key, str(page_size)],
        cwd=ROOT, check=True,
    )  # fmt: skip


def peak_rss_mib() -> float:
    """This process's peak RSS. Linux: VmHWM of its own memory since exec. ``ru_maxrss`` is not used there: it
    keeps the high-water mark of the process it was forked from (a child of benchmarks.run, whose parent held the
    listing's 100,000 models, reported 484 MiB before loading anything)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_table(app, client, page_size: int):
    """The app's real path for the list: the GUI-thread collector installed as the app does, the session's
    ``ConnectionsStore`` (the only loader, on a worker) feeding ``ConnectionsModel.follow`` behind the filter
    proxy and the Connections page's table class, sorted by Created as the page is, 1200x700, shown.
    Returns (store, model, proxy, view)."""
    from PySide6.QtCore import Qt

    from nango_desktop.qtutil.collector import collect_on_gui_thread
    from nango_desktop.session.connections import ConnectionsStore
    from nango_desktop.ui.connections.model import ConnectionsModel
    from nango_desktop.ui.connections.proxy import ConnectionsFilterProxy
    from nango_desktop.ui.views import PriorityTableView

    collect_on_gui_thread(app)  # as the app: reference cycles collected on the GUI thread only
    store = ConnectionsStore(lambda: client, page_size=page_size)
    model = ConnectionsModel()
    model.follow(store)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    view = PriorityTableView()
    view.setModel(proxy)
    view.resize(1200, 700)
    view.setSortingEnabled(True)  # as ConnectionsPage: the API's order, newest first
    view.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    view.show()
    return store, model, proxy, view


def load(app, url: str, key: str, page_size: int):
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtWidgets import QTableView

    from nango_desktop.services.api import NangoClient
    from nango_desktop.ui.connections.model import ConnectionsModel

    try:
        from nango_desktop.ui.connections.proxy import ConnectionsFilterProxy
    except ImportError:  # --tree: a checkout from before the split
        from nango_desktop.ui.connections.model import ConnectionsFilterProxy  # type: ignore[attr-defined,no-redef]

    client = NangoClient(url, key)
    model = ConnectionsModel(lambda: client, page_size=page_size)
    proxy = ConnectionsFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    view.resize(1200, 700)
    view.setSortingEnabled(True)  # as ConnectionsPage: the API's order, newest first
    view.sortByColumn(5, Qt.SortOrder.DescendingOrder)
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


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed(app, action) -> float:
    """Run ``action`` and the events it posted (repaint included); seconds."""
    t0 = time.perf_counter()
    action()
    app.processEvents()
    return time.perf_counter() - t0


def keystroke(app, proxy, text: str) -> tuple[float, int]:
    def step() -> None:
        proxy.set_text(text)
        proxy.rowCount()
        proxy.counts()

    seconds = timed(app, step)
    return seconds, proxy.rowCount()


def pick_words(model, count: int) -> list[str]:
    """First words of display names, each starting with a different letter (no reuse between words)."""
    words: dict[str, str] = {}
    try:  # the rows' own display text: model.connections() would build 100,000 full models (~350 MiB)
        from nango_desktop.domain.connection_rows import CUSTOMER

        names = (row[CUSTOMER] for row in model.rows())
    except (ImportError, AttributeError):  # --tree: a checkout from before compact rows
        names = (conn.customer.display_name for conn in model.connections())
    for name in names:
        word = name.split()[0].lower() if name else ""
        if len(word) >= 5 and word[0] not in words:
            words[word[0]] = word
            if len(words) == count:
                break
    return list(words.values())


def measure_filters(app, model, proxy, words: list[str]) -> None:
    typing: list[float] = []
    first: list[float] = []
    deleting: list[float] = []
    print(f"filter per keystroke at {model.rowCount():,} rows (re-filter + counter + repaint):")
    for word in words:
        line = []
        for i in range(1, len(word) + 1):
            seconds, shown = keystroke(app, proxy, word[:i])
            (first if i == 1 else typing).append(seconds)
            line.append(f"{word[:i]!r} {seconds * 1000:.0f} ms ({shown:,})")
        for i in range(len(word) - 1, -1, -1):
            seconds, _shown = keystroke(app, proxy, word[:i])
            deleting.append(seconds)
        print("  typing " + ", ".join(line))
    cache = getattr(proxy, "_filter_cache", None)
    pasted: list[float] = []
    for word in words:  # paste the word, then delete it letter by letter: no earlier result to reuse
        if cache is not None:
            cache.clear()
        keystroke(app, proxy, word)
        for i in range(len(word) - 1, -1, -1):
            pasted.append(keystroke(app, proxy, word[:i])[0])
    every = first + typing + deleting + pasted
    print(f"  first letter (scan of every row): median {ms(statistics.median(first))}, max {ms(max(first))}")
    print(
        f"  next letters (narrowing):         median {ms(statistics.median(typing))}, max {ms(max(typing))}"
    )
    print(
        f"  deleting letters (widening):      median {ms(statistics.median(deleting))}, "
        f"max {ms(max(deleting))}"
    )
    print(
        f"  deleting after a paste (uncached): median {ms(statistics.median(pasted))}, max {ms(max(pasted))}"
    )
    print(f"  every keystroke:                  median {ms(statistics.median(every))}, max {ms(max(every))}")
    proxy.set_text("")
    app.processEvents()


def measure_other_filters(app, model, proxy) -> None:
    integrations = sorted({c.provider_config_key for c in model.connections()})
    one = integrations[:1]
    status = [
        timed(app, lambda: proxy.set_statuses({"auth_error", "sync_error"})),
        timed(app, lambda: proxy.set_statuses(None)),
    ]
    integ = [
        timed(app, lambda: proxy.set_integrations(one)),
        timed(app, lambda: proxy.set_integrations(None)),
    ]
    print(
        f"status filter on/off: {ms(status[0])} / {ms(status[1])}; "
        f"integration filter ({one[0]}) on/off: {ms(integ[0])} / {ms(integ[1])}"
    )
    tagged = next((c for c in model.connections() if c.tags.get("end_user_id")), None)
    if tagged is not None:
        text = f"end_user_id={tagged.tags['end_user_id']}"
        times = []
        for i in range(len("end_user_id") + 1, len(text) + 1):
            key, _sep, value = text[:i].partition("=")
            times.append(timed(app, lambda k=key, v=value: proxy.set_tag_filters({k: v})))
        times.append(timed(app, lambda: proxy.set_tag_filters({})))
        print(
            f"tag filter typed ({len(times)} keystrokes): median {ms(statistics.median(times))}, "
            f"max {ms(max(times))}"
        )


def sort_once(app, proxy, column: int, order) -> float:
    proxy.sort(-1, order)  # from the API order each time (not timed): sorting a sorted list is cheaper
    app.processEvents()
    return timed(app, lambda: (proxy.sort(column, order), proxy.index(0, 0).data()))


def measure_sorts(app, model, proxy, view, runs: int) -> None:
    from PySide6.QtCore import QItemSelectionModel, Qt

    from nango_desktop.ui.connections.model import COLUMNS

    asc, desc = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder
    print(f"sort at {model.rowCount():,} rows, median of {runs} runs (ascending / descending):")
    every = []
    for column, name in enumerate(COLUMNS):
        up = [sort_once(app, proxy, column, asc) for _ in range(runs)]
        down = [sort_once(app, proxy, column, desc) for _ in range(runs)]
        every += up + down
        print(f"  {name:<14} {ms(statistics.median(up)):>9} / {ms(statistics.median(down)):>9}")
    print(f"  every sort: median {ms(statistics.median(every))}, max {ms(max(every))}")
    # with a filter and a selection: the selected row must follow
    proxy.sort(-1, asc)
    proxy.set_text("a")
    selection = view.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    selection.setCurrentIndex(proxy.index(proxy.rowCount() // 2, 0), flags)
    key = view.currentIndex().data(Qt.ItemDataRole.UserRole + 3)
    filtered = [sort_once(app, proxy, 0, order) for _ in range(runs) for order in (asc, desc)]
    kept = view.currentIndex().data(Qt.ItemDataRole.UserRole + 3) == key
    print(
        f"  with the filter 'a' ({proxy.rowCount():,} rows) and a selected row: median "
        f"{ms(statistics.median(filtered))} (selection kept: {kept})"
    )
    # a full-table selection (Ctrl+A) then sort
    proxy.set_text("")
    view.selectAll()
    app.processEvents()
    everything = [sort_once(app, proxy, 1, order) for order in (asc, desc)]
    print(f"  with every row selected: median {ms(statistics.median(everything))}")
    selection.clear()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000])
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--words", type=int, default=5, help="words typed and deleted for the filter figures")
    ap.add_argument("--sort-runs", type=int, default=3)
    ap.add_argument("--tree", help="import nango_desktop from this checkout instead")
    args = ap.parse_args()
    if args.tree:
        sys.path.insert(0, str(Path(args.tree).resolve()))

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
    import nango_desktop

    print(f"(nango_desktop from {Path(nango_desktop.__file__).parent})")
    measure_filters(app, model, proxy, pick_words(model, args.words))
    measure_other_filters(app, model, proxy)
    measure_sorts(app, model, proxy, view, args.sort_runs)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS of the app process: {peak_kb / 1024:.0f} MiB")
    view.close()
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
