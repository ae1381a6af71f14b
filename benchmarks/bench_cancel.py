"""How fast a stalled API call ends (issue 18 item 2): Cancel latency and the total deadline, against FakeNango.

FakeNango's ``stall_body_next`` sends the headers and a few bytes of the body, then nothing. Printed: the time
from ``cancel.set()`` to CancelledError (median / max over N calls, a stalled body and a request held before any
answer, alternately), and how long a call with ``deadline=D`` and 3 retries takes on a body that stalls every time
(before: 4 attempts x the 20 s read timeout = 84 s).

Usage::

    python benchmarks/bench_cancel.py [--calls 40] [--deadline 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nango_desktop.services.api import NangoClient  # noqa: E402
from nango_desktop.services.errors import ApiTimeoutError, CancelledError  # noqa: E402
from tests.nango_server import FakeNango  # noqa: E402


def cancel_latencies(server: FakeNango, calls: int) -> list[float]:
    out: list[float] = []
    client = NangoClient(server.url, server.secret_key, timeout=120, deadline=None)
    with client:
        for i in range(calls):
            stalled = bool(i % 2)  # odd: a stalled body of /integrations; even: /connections held, no answer
            gate = (
                server.stall_body_next(path_prefix="/integrations")
                if stalled
                else server.hold("/connections")
            )
            cancel, done = threading.Event(), threading.Event()
            ended: list[float] = []

            def call(cancel=cancel, done=done, ended=ended, stalled=stalled) -> None:
                try:
                    if stalled:
                        client._call("GET", "/integrations", cancel=cancel)
                    else:
                        client.list_connections(limit=5, cancel=cancel)
                except CancelledError:
                    ended.append(time.perf_counter())
                except Exception as exc:  # noqa: BLE001
                    print("unexpected", repr(exc), file=sys.stderr)
                done.set()

            threading.Thread(target=call, daemon=True).start()
            gate.wait_held(1)
            time.sleep(0.05)  # the client is blocked in its read
            start = time.perf_counter()
            cancel.set()
            done.wait(30)
            out.append(ended[0] - start if ended else float("inf"))
            gate.release()
            with server.lock:
                server._gates.clear()
    return out


def deadline_run(server: FakeNango, deadline: float) -> float:
    server.stall_body_next(times=10, path_prefix="/connections")
    started = time.perf_counter()
    with NangoClient(server.url, server.secret_key, timeout=20, max_retries=3, deadline=deadline) as client:
        try:
            client.list_connections(limit=5)
        except ApiTimeoutError:
            pass
    server.clear_faults()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--deadline", type=float, default=5.0)
    args = parser.parse_args()
    with FakeNango(connections=20, seed=18).start() as server:
        lat = cancel_latencies(server, args.calls)
        took = deadline_run(server, args.deadline)
    ms = sorted(x * 1000 for x in lat)
    print(
        f"Cancel of a stalled call: median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms ({len(ms)} calls)"
    )
    print(f"Stalled body, deadline {args.deadline:g} s, 3 retries: ended after {took:.2f} s (before: 84 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
