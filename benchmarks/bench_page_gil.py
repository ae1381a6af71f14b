"""How long a loading worker keeps the GIL from another thread while it parses pages of connections (issue 16).

A worker thread parses the same page of 1,000 FakeNango connections in a loop (``raw_connections``, then the
compact rows with ``connection_rows``), with the page's array scanned in one C call (the CLI's way) or object by
object (``gentle_parsing``: the connections store's worker). The main thread sleeps 0.5 ms in a loop and records
how late it wakes up (it needs the GIL to run on): the longest and the 99th percentile gap. Alternating, twice
each. The GUI thread of the app is such a thread: each of its Qt callbacks needs the GIL.

    python benchmarks/bench_page_gil.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def probe(body: bytes, gentle: bool, rows: bool, seconds: float) -> tuple[float, float]:
    from nango_desktop.services.raw_page import connection_rows, gentle_parsing, raw_connections

    stop = threading.Event()

    def worker() -> None:
        gentle_parsing(gentle)
        while not stop.is_set():
            page = raw_connections(body)
            if rows:
                connection_rows(page)

    thread = threading.Thread(target=worker)
    thread.start()
    gaps: list[float] = []
    last = time.perf_counter()
    end = last + seconds
    while last < end:
        time.sleep(0.0005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    stop.set()
    thread.join()
    gaps.sort()
    return gaps[-1] * 1000, gaps[int(len(gaps) * 0.99)] * 1000


def main() -> int:
    from tests.nango_server import make_connections

    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=2.0)
    a = p.parse_args()
    body = json.dumps({"connections": make_connections(1000, 3)}).encode()
    for rows in (False, True):
        for gentle in (False, True, False, True):
            longest, p99 = probe(body, gentle, rows, a.seconds)
            what = "scan + rows" if rows else "scan only"
            how = "object by object" if gentle else "one C call"
            print(f"{what:12} {how:17} other thread's longest wait {longest:6.1f} ms, p99 {p99:5.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
