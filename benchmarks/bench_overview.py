"""Overview page: time to first figures vs the first page of connections; GUI stalls at 1,000 webhooks/s.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_overview.py [--connections 100000] [--rate 1000] [--seconds 10]

Real pieces in one process: FakeNango over HTTP on 127.0.0.1, an AppContext for a throw-away profile
(temporary NANGO_DESKTOP_HOME, in-memory keyring), the OverviewPage shown at 1280x800, its webhook listener
on 127.0.0.1 (random port) storing into SQLite (WAL, synchronous=FULL).

1. First page: GET /connections?limit=1000 timed on its own (fresh client), the reference.
2. Time to first figures: from ``page.load_connections()`` to the first ``statsChanged`` (figures and charts
   drawn from the first page), then to the complete figures; the largest GUI event-loop stall meanwhile.
3. Live: sender threads post signed webhooks (built like Nango's) at ``--rate`` events/s for ``--seconds``;
   a 5 ms QTimer on the GUI thread records the gaps between its ticks: the largest is the longest the GUI
   was blocked (signal delivery, counting, chart repaints). Also printed: events counted by the chart.

Screenshots (README): ``xvfb-run -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb python
benchmarks/bench_overview.py --screenshot /tmp/overview-light.png --scheme light`` (and dark):
the main window at 1280x800 on the Overview page with seeded connections, an hour of webhooks and links.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NANGO_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="nango-bench-overview-")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.stall import StallMeter  # noqa: E402
from nango_desktop.services.api import NangoClient  # noqa: E402
from nango_desktop.services.secrets import SecretKind, SecretStore  # noqa: E402
from nango_desktop.settings import ListenerSettings, Profile, Settings  # noqa: E402
from nango_desktop.ui import theme  # noqa: E402
from nango_desktop.ui.context import AppContext  # noqa: E402
from tests.helpers import MemoryKeyring  # noqa: E402
from tests.nango_server import FakeNango  # noqa: E402
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json, sync_webhook  # noqa: E402


def spin_until(predicate, timeout: float) -> bool:
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
    return True


def p99(gaps: list[float]) -> float:
    return statistics.quantiles(gaps, n=100)[-1] if len(gaps) > 1 else max(gaps, default=0.0)


def baseline_stall(server: ExternalFakeNango) -> list[float]:
    """GUI gaps while a worker thread only fetches every page (GIL and CPU contention, no overview)."""
    done = threading.Event()

    def fetch() -> None:
        with NangoClient(server.url, server.secret_key) as client:
            for _page in client.iter_connection_pages():
                gc.freeze()  # as the app does for loaded rows
        done.set()

    meter = StallMeter()
    meter.start()
    threading.Thread(target=fetch, daemon=True).start()
    spin_until(done.is_set, 600)
    return meter.stop()


def make_context(server: FakeNango) -> AppContext:
    secrets = SecretStore(MemoryKeyring())
    secrets.set("bench", SecretKind.API_KEY, server.secret_key)
    secrets.set("bench", SecretKind.SIGNING_KEY, SIGNING_KEY)
    profile = Profile(name="bench", api_url=server.url, listener=ListenerSettings(port=0))
    ctx = AppContext(Settings(profiles=[profile], current_profile="bench"), secrets)
    ctx.cache_key("bench", server.secret_key)
    return ctx


def sender(url: str, rate: float, seconds: float, seed: int, sent: list[int], failures: list[int]) -> None:
    """Post distinct signed webhooks at ``rate``/s over one keep-alive connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    rng = random.Random(seed)
    start = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = n / rate
        if due > elapsed:
            time.sleep(due - elapsed)
        ok = rng.random() > 0.1
        if rng.random() < 0.5:
            body = auth_webhook(connection_id=f"c-{seed}-{n}", success=ok)
        else:
            body = sync_webhook(connection_id=f"c-{seed}-{n}", success=ok, added=rng.randint(0, 50))
        raw = nango_json(body)
        try:
            conn.request("POST", parts.path, body=raw, headers=nango_headers(raw))
            response = conn.getresponse()
            response.read()
            if 200 <= response.status < 300:
                sent.append(1)
            else:
                failures.append(response.status)
        except (OSError, http.client.HTTPException):
            failures.append(0)
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        n += 1
    conn.close()


class ExternalFakeNango:
    """FakeNango in its own process (``tests.run_fake_nango``), so its 10^5 generated connections do not
    weigh on this process's garbage collector as no real server would."""

    def __init__(self, connections: int, delay: float) -> None:
        t0 = time.perf_counter()
        command = [sys.executable, "-m", "tests.run_fake_nango", "--connections", str(connections),
                   "--port", "0", "--seed", "5", "--delay", str(delay)]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.url = self.secret_key = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("FakeNango listening on "):
                self.url = line.split()[-1]
            elif line.startswith("secret key: "):
                self.secret_key = line.split(": ", 1)[1].strip()
            if self.url and self.secret_key:
                break
        if not self.url:
            raise RuntimeError("FakeNango did not start")
        print(
            f"FakeNango (separate process): {connections:,} connections, ready in {time.perf_counter() - t0:.1f} s"
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def bench(args: argparse.Namespace) -> int:
    from nango_desktop.ui.overview.page import OverviewPage

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, "light")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    server = ExternalFakeNango(args.connections, args.delay)
    try:
        with NangoClient(server.url, server.secret_key) as client:
            client.list_connections(limit=1)  # connection set-up, not part of the figure
            first_pages = []
            for _ in range(3):
                t = time.perf_counter()
                client.list_connections(limit=1000, page=0)
                first_pages.append(time.perf_counter() - t)
        first_page = statistics.median(first_pages)
        baseline = baseline_stall(server)

        ctx = make_context(server)
        page = OverviewPage(ctx)
        page.resize(1280, 800)
        page.show()  # starts loading (nothing published yet)
        spin_until(lambda: page.stats is not None and page.stats.complete, 600)
        # the measured run: a reload, as F5 does
        marks: list[tuple[float, int, bool]] = []
        page.statsChanged.connect(lambda s: marks.append((time.perf_counter(), s.connections, s.complete)))
        meter = StallMeter()
        meter.start()
        t = time.perf_counter()
        page.load_connections()
        spin_until(lambda: bool(marks) and marks[-1][2], 600)
        gaps = meter.stop()
        first = marks[0][0] - t
        full = marks[-1][0] - t
        print(f"first page of connections (GET limit=1000, median of 3): {first_page * 1000:.0f} ms")
        print(f"time to first figures (page shown, {marks[0][1]:,} connections): {first * 1000:.0f} ms")
        print(f"time to complete figures ({marks[-1][1]:,} connections): {full:.2f} s")
        print(
            f"largest GUI stall while loading: {max(gaps) * 1000:.0f} ms (p99 {p99(gaps) * 1000:.0f} ms); "
            f"baseline, the same pages fetched on a worker with no page at all: {max(baseline) * 1000:.0f} ms "
            f"(p99 {p99(baseline) * 1000:.0f} ms)"
        )

        # -- live events ------------------------------------------------------------------------------
        listener = ctx.listener
        listener.start()
        spin_until(lambda: listener.state == "listening", 10)
        idle = StallMeter()
        idle.start()
        spin_until(lambda: False, 1.0)
        idle_gaps = idle.stop()
        sent: list[int] = []
        failures: list[int] = []
        per_thread = args.rate / args.threads
        threads = [
            threading.Thread(target=sender, args=(listener.url, per_thread, args.seconds, i, sent, failures))
            for i in range(args.threads)
        ]
        meter = StallMeter()
        meter.start()
        started = time.perf_counter()
        for th in threads:
            th.start()
        spin_until(lambda: not any(th.is_alive() for th in threads), args.seconds + 120)
        elapsed = time.perf_counter() - started

        def counted() -> int:
            return page.buckets.series(minutes=60).total

        spin_until(lambda: counted() >= len(sent), 30)
        gaps = meter.stop()
        redraws_ms = OverviewPage.LIVE_MS
        print(f"live: {len(sent):,} webhooks accepted in {elapsed:.1f} s = {len(sent) / elapsed:,.0f}/s "
              f"(target {args.rate:,}/s, {len(failures)} failed requests); chart counted {counted():,}")  # fmt: skip
        print(f"largest GUI stall during live updates: {max(gaps) * 1000:.0f} ms "
              f"(p99 {p99(gaps) * 1000:.1f} ms; idle largest "
              f"{max(idle_gaps) * 1000:.0f} ms); chart redrawn at most every {redraws_ms} ms")  # fmt: skip
        listener.stop()
        synthetic(page, listener, args.rate, args.seconds)
        ctx.shutdown(timeout=10)
    finally:
        server.stop()
    return 0


def synthetic(page, listener, rate: float, seconds: float) -> None:
    """The page's own GUI cost at exactly ``rate`` events/s, whatever the listener's HTTP throughput here:
    batches of StoredEvents emitted on the listener's ``eventsReceived`` every 10 ms (as its drain does)."""
    from nango_desktop.domain.webhooks import summarize
    from nango_desktop.services.signing import Verification, VerificationStatus
    from nango_desktop.store.events import StoredEvent

    verification = Verification(VerificationStatus.VERIFIED)
    next_id = [10**9]
    rng = random.Random(9)
    before = page.buckets.series(minutes=60).total
    emitted = [0]

    def tick() -> None:
        now = time.time()
        batch = []
        due = int((time.perf_counter() - started) * rate) - emitted[0]  # paced by the clock, not the timer
        for _ in range(max(0, due)):
            next_id[0] += 1
            ok = rng.random() > 0.1
            body = auth_webhook(success=ok) if rng.random() < 0.5 else sync_webhook(success=ok)
            event = StoredEvent(next_id[0], now, "127.0.0.1", "POST", "/", {}, b"", verification, None,
                                summarize(body), 0, False, "bench", None)  # fmt: skip
            batch.append((event, False))
        emitted[0] += len(batch)
        listener.eventsReceived.emit(batch)

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    timer.start()
    spin_until(lambda: time.perf_counter() - started >= seconds, seconds + 10)
    timer.stop()
    elapsed = time.perf_counter() - started
    spin_until(lambda: page.buckets.series(minutes=60).total - before >= emitted[0], 10)
    gaps = meter.stop()
    print(f"synthetic: {emitted[0]:,} events in {elapsed:.1f} s = {emitted[0] / elapsed:,.0f}/s straight into the "
          f"page; chart counted {page.buckets.series(minutes=60).total - before:,}; largest GUI stall "
          f"{max(gaps) * 1000:.0f} ms (p99 {p99(gaps) * 1000:.1f} ms)")  # fmt: skip


def screenshot(args: argparse.Namespace) -> int:
    """The main window at 1280x800 on the Overview page with seeded data, saved to ``args.screenshot``."""
    from nango_desktop.app import build_main_window
    from nango_desktop.domain.links import LinkStatus
    from nango_desktop.services.signing import verify

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, args.scheme)
    server = FakeNango(connections=args.connections, seed=5).start()
    try:
        ctx = make_context(server)
        # an hour of webhooks, with bursts and failures
        store = ctx.event_store
        rng = random.Random(2)
        now = time.time()
        for minute in range(60):
            burst = 3 if minute in (12, 13, 41) else 1
            for n in range(rng.randint(2, 9) * burst):
                ok = rng.random() > (0.35 if minute in (41, 42) else 0.06)
                kind = rng.random()
                if kind < 0.45:
                    body = auth_webhook(connection_id=f"m{minute}-{n}", success=ok,
                                        operation=rng.choice(["creation", "refresh", "override"]))  # fmt: skip
                elif kind < 0.9:
                    body = sync_webhook(connection_id=f"m{minute}-{n}", success=ok)
                else:
                    body = {"from": "hubspot", "type": "forward", "connectionId": f"m{minute}-{n}",
                            "providerConfigKey": "hubspot", "payload": {"n": n}}  # fmt: skip
                raw = nango_json(body)
                headers = nango_headers(raw)
                store.add(body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]),
                          received_at=now - (59 - minute) * 60 - rng.random() * 50)  # fmt: skip
        links = ctx.link_store
        statuses = [LinkStatus.COMPLETED] * 9 + [LinkStatus.EXPIRED] * 4 + [LinkStatus.REVOKED] * 2
        statuses += [LinkStatus.FAILED] * 2 + [None] * 5
        for n, status in enumerate(statuses):
            record = links.add(profile="bench", kind="reconnect" if n % 2 else "new",
                               link="https://connect.nango.dev/", expires_at=now + 1800, end_user_id=f"u{n}")  # fmt: skip
            if status is not None:
                links.set_status(record.id, status)
        window = build_main_window(ctx)
        window.resize(1280, 800)
        window.show()
        overview = window.pages["overview"]
        window.show_page("overview")
        spin_until(lambda: overview.stats is not None and overview.stats.complete, 120)
        spin_until(lambda: bool(overview.link_counts) and overview.figures["integrations"].value, 20)
        spin_until(lambda: False, 1.5)  # let the last repaints land
        image = window.grab()
        Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
        if not image.save(args.screenshot, "PNG"):
            print(f"could not save {args.screenshot}", file=sys.stderr)
            return 1
        print(f"saved {args.screenshot} ({image.width()}x{image.height()}, {args.scheme})")
        window.close()
        ctx.shutdown(timeout=10)
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--connections", type=int, default=None, help="seeded connections (100000; 4000 for screenshots)"
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="webhooks per second (1000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to post (10)")
    parser.add_argument("--threads", type=int, default=32, help="sender threads (32)")
    parser.add_argument("--delay", type=float, default=0.0, help="FakeNango response delay in seconds (0)")
    parser.add_argument("--screenshot", help="save a screenshot of the main window to this PNG instead")
    parser.add_argument("--scheme", choices=("light", "dark"), default="light", help="colour scheme")
    args = parser.parse_args(argv)
    if args.screenshot:
        args.connections = args.connections or 4000
        return screenshot(args)
    args.connections = args.connections or 100_000
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
