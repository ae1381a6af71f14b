"""Run FakeNango in the foreground for manual testing, screenshots and benchmarks.

    python -m tests.run_fake_nango --connections 25000 --port 3003

Prints the URL and the (fake) secret key, then serves until Ctrl+C. The key defaults to
``test-secret-key``; set ``FAKE_NANGO_SECRET_KEY`` to choose another one (never an argument).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from tests.nango_server import DEFAULT_INTEGRATIONS, FakeNango


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.run_fake_nango", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--connections", type=int, default=25_000, help="generated connections (default 25000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="data generator seed (default 1)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3003, help="port, 0 for a free one (default 3003)")
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests per minute (default: unlimited)"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to delay every response")
    parser.add_argument(
        "--integrations", default=",".join(DEFAULT_INTEGRATIONS), help="comma-separated integration ids"
    )
    parser.add_argument("--connect-ui-url", default="https://connect.nango.dev", help="base of connect links")
    return parser


def main(argv: list[str] | None = None, *, stop: threading.Event | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    server = FakeNango(
        connections=args.connections,
        seed=args.seed,
        secret_key=os.environ.get("FAKE_NANGO_SECRET_KEY", "test-secret-key"),
        integrations=[i.strip() for i in args.integrations.split(",") if i.strip()],
        rate_limit=args.rate_limit,
        connect_ui_url=args.connect_ui_url,
        host=args.host,
        port=args.port,
    )
    try:
        server.start()
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    if args.delay:
        server.set_delay(args.delay)
    print(f"FakeNango listening on {server.url}", flush=True)
    print(f"secret key: {server.secret_key}", flush=True)
    print(
        f"{len(server.connections)} connections, {len(server.integrations)} integrations "
        f"(generated in {time.perf_counter() - started:.2f} s)",
        flush=True,
    )
    print(f"try: NANGO_SECRET_KEY={server.secret_key} nango-desktop --api-url {server.url} connections list")
    print("Ctrl+C to stop", flush=True)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
