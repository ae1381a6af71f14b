"""Webhook ingestion with the inspector GUI running: accepted events/s, request latency, GUI event-loop stalls.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_webhooks_gui.py [--events 10000] [--threads 8]

Starts the real pieces in one process: an AppContext for a throw-away profile (temporary NANGO_DESKTOP_HOME,
in-memory keyring holding the signing key), the WebhooksPage shown at 1280x800, its listener on 127.0.0.1
(random port) storing into SQLite (WAL, synchronous=FULL). Sender threads post signed bodies built like
Nango's (sorted keys, compact JSON, both signature headers) over keep-alive connections, every body
distinct. Meanwhile a 5 ms QTimer in the GUI thread records the time between its ticks: the largest gap is
the longest the GUI event loop was blocked (by model inserts, repaints, signal delivery...). It is compared
with the same measure while idle. Figures printed: accepted events/s (2xx, stored and verified), p50/p99
request latency, largest and p99 GUI stall, rows in the table at the end.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NANGO_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="nango-bench-")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.stall import StallMeter  # noqa: E402
from nango_desktop.services.secrets import SecretKind, SecretStore  # noqa: E402
from nango_desktop.settings import ListenerSettings, Profile, Settings  # noqa: E402
from nango_desktop.ui.context import AppContext  # noqa: E402
from nango_desktop.ui.webhooks.page import WebhooksPage  # noqa: E402
from tests.helpers import MemoryKeyring  # noqa: E402
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json  # noqa: E402


def run_loop_until(predicate, app: QApplication, poll_ms: int = 20) -> None:
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(poll_ms)
    poll.timeout.connect(lambda: loop.quit() if predicate() else None)
    poll.start()
    loop.exec()
    poll.stop()


def sender(url: str, start: int, count: int, latencies: list[float], statuses: list[int]) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        for i in range(start, start + count):
            raw = nango_json(auth_webhook(connection_id=f"bench-{i}", success=i % 10 != 0))
            headers = nango_headers(raw, SIGNING_KEY)
            t0 = time.perf_counter()
            conn.request("POST", parts.path, body=raw, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - t0)
            statuses.append(response.status)
    finally:
        conn.close()


def rss_mib() -> float:
    """This process's resident memory (Linux /proc; NaN elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--max-rows", type=int, default=5000, help="rows the table keeps in memory")
    ap.add_argument(
        "--no-page", action="store_true", help="baseline: listener and event loop, no inspector page"
    )
    args = ap.parse_args()

    app = QApplication.instance() or QApplication([])
    secrets = SecretStore(MemoryKeyring())
    secrets.set("bench", SecretKind.SIGNING_KEY, SIGNING_KEY)
    settings = Settings(profiles=[Profile(name="bench", listener=ListenerSettings(port=0))])
    ctx = AppContext(
        settings, secrets, settings_path=Path(os.environ["NANGO_DESKTOP_HOME"]) / "profiles.json"
    )
    page = None if args.no_page else WebhooksPage(ctx)
    received: list[int] = [0]
    if page is not None:
        page.model.max_rows = args.max_rows
        page.resize(1280, 800)
        page.show()
    ctx.listener.eventsReceived.connect(lambda batch: received.__setitem__(0, received[0] + len(batch)))
    ctx.listener.start()
    url = ctx.listener.url
    if url is None:
        print(f"listener did not start: {ctx.listener.message}", file=sys.stderr)
        return 1

    meter = StallMeter()
    meter.start()
    run_loop_until(lambda: time.perf_counter() - meter.ticks[0] > 1.0, app)
    idle = meter.stop()
    rss_before = rss_mib()

    latencies: list[float] = []
    statuses: list[int] = []
    per_thread = args.events // args.threads
    threads = [
        threading.Thread(target=sender, args=(url, t * per_thread, per_thread, latencies, statuses))
        for t in range(args.threads)
    ]
    meter.start()
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    run_loop_until(lambda: not any(t.is_alive() for t in threads), app)
    elapsed = time.perf_counter() - t0
    total = per_thread * args.threads
    run_loop_until(lambda: received[0] >= total and not (page and page.model.pending_count()), app)
    shown_after = time.perf_counter() - t0
    busy = meter.stop()
    rss_loaded = rss_mib()

    accepted = sum(1 for s in statuses if 200 <= s < 300)
    stored = ctx.event_store.count()
    print(f"events posted        {total} from {args.threads} threads (keep-alive, signed like Nango)")
    print(f"accepted (2xx)       {accepted}  stored {stored}  in {elapsed:.2f} s")
    print(f"accepted events/s    {accepted / elapsed:,.0f}")
    print(
        f"request latency      p50 {percentile(latencies, 0.5) * 1000:.1f} ms   p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
    )
    if page is not None:
        rows = page.model.rowCount()
        print(f"all shown in table   after {shown_after:.2f} s ({rows} rows kept, cap {args.max_rows})")
    else:
        print(f"all delivered (GUI)  after {shown_after:.2f} s (no inspector page: baseline)")
    print(
        f"GUI stall (ingest)   largest {max(busy) * 1000:.1f} ms   p99 {percentile(busy, 0.99) * 1000:.1f} ms"
        f"   median tick {statistics.median(busy) * 1000:.1f} ms"
    )
    print(
        f"GUI stall (idle)     largest {max(idle) * 1000:.1f} ms   p99 {percentile(idle, 0.99) * 1000:.1f} ms"
    )
    print(
        f"RSS (GUI process)    before {rss_before:.1f} MiB   after all shown {rss_loaded:.1f} MiB"
        f"   (+{rss_loaded - rss_before:.1f} MiB for {total:,} events, table capped at {args.max_rows:,})"
    )
    ctx.shutdown()
    if page is not None:
        page.close()
    return 0 if accepted == total == stored else 1


if __name__ == "__main__":
    raise SystemExit(main())
