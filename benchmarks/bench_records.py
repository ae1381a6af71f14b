"""Records tab with 50,000 records of one model: time to the first rows, to all rows, longest GUI stall.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_records.py [--records 50000] [--page-size 1000]

FakeNango on 127.0.0.1 (its own process) serving ``--records`` Issue records (cursor pagination, as Nango's
GET /records); in this process an AppContext for a throw-away profile (in-memory keyring), the ConnectionDetail shown
at 1280x800 on its Records tab. A 5 ms QTimer in the GUI thread records the time between its ticks while the
records load page by page in the background: the largest gap is the longest the GUI was blocked (model
inserts, repaints, signal delivery). Then the local filter and a sort on 50,000 rows are timed (these run on
the GUI thread by design: they are the user's own action, measured here so their cost is known).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NANGO_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="nango-bench-")

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from benchmarks.stall import StallMeter  # noqa: E402
from nango_desktop.services.api import NangoClient  # noqa: E402
from nango_desktop.services.secrets import SecretKind, SecretStore  # noqa: E402
from nango_desktop.settings import Profile, Settings  # noqa: E402
from nango_desktop.ui.connections.detail import ConnectionDetail  # noqa: E402
from nango_desktop.ui.context import AppContext  # noqa: E402
from tests.helpers import MemoryKeyring  # noqa: E402

CID, INT = "bench-conn", "github"


SERVER = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.nango_server import FakeNango
server = FakeNango(connections=10, integrations=("github",)).start()
server.add_connection("github", "bench-conn")
server.workbench.generate_records("github", "bench-conn", "Issue", int(sys.argv[2]))
print(server.url, server.secret_key, flush=True)
sys.stdin.read()
server.stop()
"""


class ServerProcess:
    def __init__(self, records: int) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(ROOT), str(records)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url, self.secret_key = self.proc.stdout.readline().split()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run_until(predicate, poll_ms: int = 5) -> None:
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(poll_ms)
    poll.timeout.connect(lambda: loop.quit() if predicate() else None)
    poll.start()
    loop.exec()
    poll.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--page-size", type=int, default=500)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])

    # The server runs in its own process, as Nango does: its JSON encoding must not compete with the GUI
    # thread for this process's GIL (it would count as GUI stalls that the app never has).
    server = ServerProcess(args.records)
    profile = Profile(name="bench", api_url=server.url)
    store = SecretStore(MemoryKeyring(), timeout=5.0)
    store.set(profile.name, SecretKind.API_KEY, server.secret_key)
    ctx = AppContext(
        Settings(profiles=[profile], current_profile=profile.name),
        store,
        client_factory=partial(NangoClient, max_retries=0),
    )
    ctx.cache_key(profile.name, server.secret_key)
    ctx.attach_window(QWidget())
    detail = ConnectionDetail(ctx)
    detail.resize(1280, 800)
    detail.show()
    conn = next(c for c in ctx.client().list_connections(limit=None) if c.connection_id == CID)
    detail.show_connection(conn)
    tab = detail.workbench.records
    detail.tabs.setCurrentWidget(tab)
    run_until(lambda: tab.model_combo.count() > 0)
    tab.model_combo.setCurrentIndex(tab.model_combo.findData("Issue::base"))
    tab.page_size = args.page_size

    idle = StallMeter()
    idle.start()
    end = time.perf_counter() + 1.0
    run_until(lambda: time.perf_counter() >= end)
    idle_gaps = idle.stop()

    first: list[float] = []
    done: list[float] = []
    tab._bridge.received.connect(lambda _item: first.append(time.perf_counter()) if not first else None)
    tab.loaded.connect(lambda _n: done.append(time.perf_counter()))
    meter = StallMeter()
    meter.start()
    t0 = time.perf_counter()
    tab.load()
    indexed: list[bool] = []
    tab.searchIndexed.connect(lambda: indexed.append(True))
    run_until(lambda: bool(done))
    gaps = meter.stop()
    run_until(lambda: bool(indexed))  # the filter's search text, built on a worker after the load
    rows = tab.model.rowCount()
    app.processEvents()

    t1 = time.perf_counter()
    tab.search.setText("open customer")
    tab._apply_search()
    filter_s = time.perf_counter() - t1
    shown = tab.proxy.rowCount()
    tab.search.setText("")
    tab._apply_search()
    number = [t for _, t in tab.model.columns].index("number")
    t2 = time.perf_counter()
    tab.view.horizontalHeader().setSortIndicator(number, Qt.SortOrder.DescendingOrder)
    sort_s = time.perf_counter() - t2

    print(f"records: {rows:,} of {args.records:,} ({args.page_size} per page, {tab._pages} pages)")
    print(f"first rows on screen: {(first[0] - t0) * 1000:.0f} ms")
    print(f"all rows:             {(done[0] - t0):.2f} s")
    print(
        f"longest GUI stall while loading: {max(gaps) * 1000:.0f} ms (p99 {sorted(gaps)[int(0.99 * (len(gaps) - 1))] * 1000:.0f} ms, idle max {max(idle_gaps) * 1000:.0f} ms)"
    )
    print(f"local filter on {rows:,} rows: {filter_s * 1000:.0f} ms -> {shown:,} rows")
    print(f"sort {rows:,} rows by a column: {sort_s * 1000:.0f} ms")
    ctx.shutdown(timeout=10.0)
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
