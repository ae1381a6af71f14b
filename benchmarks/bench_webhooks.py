"""Webhook listener throughput and latency over loopback.

Compares, with the same clients:

- ``ceiling``: a bare stdlib ``ThreadingHTTPServer`` that reads the body and answers 200 (no checks, no
  storage): the best this HTTP stack can do on this machine;
- ``listener``: our ``WebhookServer``: signature check on the raw bytes, parse, summary, SQLite commit
  (WAL, synchronous=FULL) before the 200.

Clients run in separate processes (so they do not share the server's GIL), each sending signed webhooks
built exactly as Nango builds them, over keep-alive connections (``--fresh`` opens one per request, as a
busy Nango worker may). With ``--gui`` the listener feeds the real inspector table (``EventsModel`` in a
``QTableView``, offscreen) through an ``EventBridge`` while a 5 ms ``QTimer`` records the largest GUI
event-loop stall. Usage::

    python benchmarks/bench_webhooks.py [--requests 5000] [--clients 4] [--fresh] [--gui]
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
from concurrent.futures import ProcessPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nango_desktop.services.webhook_server import WebhookServer  # noqa: E402
from nango_desktop.store.events import EventStore  # noqa: E402
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json  # noqa: E402

PATH = "/webhooks/nango"


class _BareHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *args: object) -> None:
        pass


def _client(port: int, start: int, count: int, fresh: bool) -> list[float]:
    """One client process: send ``count`` signed webhooks, return each request's latency (s)."""
    latencies: list[float] = []
    conn: http.client.HTTPConnection | None = None
    for i in range(start, start + count):
        raw = nango_json(auth_webhook(connection_id=f"bench-{i}"))
        headers = nango_headers(raw, SIGNING_KEY)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        began = time.perf_counter()
        conn.request("POST", PATH, body=raw, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        if response.status != 200:
            raise RuntimeError(f"unexpected status {response.status}")
    if conn is not None:
        conn.close()
    return latencies


def _drive(
    port: int, requests: int, clients: int, fresh: bool, pool: ProcessPoolExecutor, first: int = 0
) -> tuple[float, list[float]]:
    per = requests // clients
    began = time.perf_counter()
    futures = [pool.submit(_client, port, first + n * per, per, fresh) for n in range(clients)]
    latencies = [lat for f in futures for lat in f.result()]
    return time.perf_counter() - began, latencies


def _with_gui(store: EventStore, server: WebhookServer, run):
    """Run ``run()`` on a thread while the Qt event loop shows live events; return (result, max stall s)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot
    from PySide6.QtWidgets import QApplication, QTableView

    from nango_desktop.qtutil.bridge import EventBridge
    from nango_desktop.ui.webhooks.model import EventsModel

    app = QApplication.instance() or QApplication([])
    model = EventsModel(store)
    view = QTableView()
    view.setModel(model)
    view.resize(1200, 800)
    view.show()

    class Sink(QObject):
        @Slot(object)
        def take(self, item: object) -> None:
            model.add_event(*item)

    sink, bridge = Sink(), EventBridge()
    bridge.received.connect(sink.take)
    server.on_event = lambda event, duplicate: bridge.post((event, duplicate))
    stall = [0.0]
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        stall[0] = max(stall[0], now - last[0] - 0.005)
        last[0] = now

    ticker = QTimer(interval=5, timeout=tick)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(run()))
    loop = QEventLoop()
    watcher = QTimer(interval=50, timeout=lambda: None if worker.is_alive() else loop.quit())
    ticker.start()
    watcher.start()
    last[0] = time.perf_counter()
    worker.start()
    loop.exec()
    worker.join()
    app.processEvents()
    ticker.stop()
    watcher.stop()
    server.on_event = None
    view.close()
    return result[0], stall[0]


def _fsync_probe(directory: Path, samples: int = 100) -> list[float]:
    """Latency (s) of appending 16 KiB (about one event's WAL frames) to a file and fsync'ing it, on the disk
    the store uses: what each group commit waits for at least before its 2xx."""
    path = directory / "fsync-probe"
    times = []
    with open(path, "wb") as f:
        for _ in range(samples):
            f.write(b"x" * 16384)
            f.flush()
            began = time.perf_counter()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - began)
    path.unlink()
    return sorted(times)


def _row(name: str, elapsed: float, latencies: list[float], stored: str) -> list[str]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return [
        name,
        str(len(latencies)),
        f"{len(latencies) / elapsed:,.0f}",
        f"{statistics.median(ordered) * 1000:.2f}",
        f"{p99 * 1000:.2f}",
        stored,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--fresh", action="store_true", help="a new TCP connection per request")
    parser.add_argument("--gui", action="store_true", help="feed the inspector table; measure GUI stalls")
    args = parser.parse_args(argv)
    rows = []
    with ProcessPoolExecutor(args.clients) as pool:
        pool.submit(time.time).result()  # start the workers before timing
        bare = ThreadingHTTPServer(("127.0.0.1", 0), _BareHandler)
        bare.daemon_threads = True
        threading.Thread(target=bare.serve_forever, daemon=True).start()
        _drive(bare.server_address[1], args.clients * 20, args.clients, args.fresh, pool)  # warm-up
        cpu = time.process_time()
        elapsed, latencies = _drive(bare.server_address[1], args.requests, args.clients, args.fresh, pool)
        cpu_bare = (time.process_time() - cpu) / args.requests
        bare.shutdown()
        bare.server_close()
        rows.append(_row("ceiling (bare http.server, no storage)", elapsed, latencies, "-"))

        with tempfile.TemporaryDirectory() as tmp:
            fsyncs = _fsync_probe(Path(tmp))
            store = EventStore(Path(tmp) / "events-bench.sqlite3", profile="bench")
            server = WebhookServer(
                store, profile="bench", port=0, keys=lambda: [SIGNING_KEY], max_connections=256
            )
            server.start()
            try:
                warm = args.clients * 20
                _drive(server.bound_port, warm, args.clients, args.fresh, pool, first=10**9)  # warm-up
                before = store.count()
                run = lambda: _drive(server.bound_port, args.requests, args.clients, args.fresh, pool)  # noqa: E731
                cpu = time.process_time()
                if args.gui:
                    (elapsed, latencies), stall = _with_gui(store, server, run)
                else:
                    (elapsed, latencies), stall = run(), None
                cpu_ours = (time.process_time() - cpu) / args.requests
                stored = store.count() - before
            finally:
                server.stop()
                store.close()
            name = "listener + GUI table" if args.gui else "listener (verify + SQLite commit)"
            rows.append(_row(name, elapsed, latencies, str(stored)))

    header = ["server", "requests", "events/s", "p50 ms", "p99 ms", "stored"]
    if args.gui:
        header.append("max GUI stall ms")
        rows[0].append("-")
        rows[1].append(f"{stall * 1000:.1f}")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    mode = "fresh connection per request" if args.fresh else "keep-alive"
    print(f"Webhooks over loopback: {args.clients} client processes, {mode}, Python {sys.version.split()[0]}")
    for r in [header, *rows]:
        print(
            "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    print(
        f"Server process CPU per event (all its threads; clients run in other processes): ours "
        f"{cpu_ours * 1000:.3f} ms, bare {cpu_bare * 1000:.3f} ms"
    )
    p50 = statistics.median(fsyncs)
    print(
        f"Disk of the store: fsync of a 16 KiB append p50 {p50 * 1000:.2f} ms, p90 "
        f"{fsyncs[int(len(fsyncs) * 0.9)] * 1000:.2f} ms. Each client waits for its commit's fsync before sending "
        f"again, so {args.clients} clients get at most ~{args.clients / p50:,.0f} events/s (all {args.clients} in "
        "every commit, no CPU)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
