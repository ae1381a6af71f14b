"""Long run of the webhook listener (issue 18 item 5): N concurrent clients for T seconds against `listen`.

The listener runs as its own process (``python -m nango_desktop listen``, a throwaway home, a signing key from
the environment), so its resident memory (VmRSS) and open file descriptors are its own. Each client thread
posts signed auth webhooks over one keep-alive connection, like Nango (a 5xx or network error is retried up
to 3 times with a fresh connection, then given up). Printed:

- requests answered 2xx vs events stored (must be equal: nothing acknowledged is lost, nothing stored twice),
  503s (the listener's slot limits) and network errors;
- the listener's RSS and open fds before the load, the peak during it, and after it (10 s after the load
  ended): no growth after the load ends;
- throughput.

Usage::

    python benchmarks/bench_listener_longrun.py                      # 200 clients, 60 s
    python benchmarks/bench_listener_longrun.py --clients 50 --seconds 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.webhook_helpers import SIGNING_KEY, nango_headers, nango_json  # noqa: E402


def _proc_figures(pid: int) -> tuple[float, int]:
    """(RSS in MiB, open fds) of ``pid`` from /proc."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def _client(url: str, index: int, stop: threading.Event, counts: dict, lock: threading.Lock) -> None:
    parts = urlsplit(url)
    conn: http.client.HTTPConnection | None = None
    n = 0
    local = {"2xx": 0, "503": 0, "other": 0, "network": 0, "given up": 0}
    while not stop.is_set():
        raw = nango_json(
            {"type": "auth", "connectionId": f"c{index}-{n}", "success": True, "operation": "creation"}
        )
        headers = nango_headers(raw, SIGNING_KEY)
        n += 1
        for _attempt in range(4):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                conn.request("POST", parts.path, body=raw, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                local["network"] += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            if 200 <= status < 300:
                local["2xx"] += 1
                break
            if status == 503:
                local["503"] += 1
            else:
                local["other"] += 1
            if status < 500:
                break
            conn.close()
            conn = None
        else:
            local["given up"] += 1
    if conn is not None:
        conn.close()
    with lock:
        for key, value in local.items():
            counts[key] = counts.get(key, 0) + value


def run(clients: int, seconds: float, settle: float) -> dict:
    home = Path(tempfile.mkdtemp(prefix="nango-longrun-"))
    env = {
        **os.environ,
        "NANGO_DESKTOP_HOME": str(home),
        "NANGO_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "NANGO_SECRET_KEY": "sk-unused",
        "PYTHONPATH": str(REPO),
    }
    out_path = home / "listen.out"
    with out_path.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nango_desktop",
                "--api-url",
                "http://127.0.0.1:9",
                "listen",
                "--port",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            text = out_path.read_text()
            if "Listening on " in text:
                url = text.split("Listening on ", 1)[1].split(" ", 1)[0]
            else:
                time.sleep(0.1)
        if url is None:
            raise SystemExit(f"the listener did not start:\n{out_path.read_text()}")
        time.sleep(1.0)
        before = _proc_figures(proc.pid)
        counts: dict = {}
        lock = threading.Lock()
        stop = threading.Event()
        threads = [
            threading.Thread(target=_client, args=(url, i, stop, counts, lock), daemon=True)
            for i in range(clients)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        peak_rss, peak_fds, samples = before[0], before[1], []
        while time.monotonic() - started < seconds:
            time.sleep(1.0)
            rss, fds = _proc_figures(proc.pid)
            samples.append((rss, fds))
            peak_rss, peak_fds = max(peak_rss, rss), max(peak_fds, fds)
        stop.set()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - started
        time.sleep(settle)
        after = _proc_figures(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    db = next((home / "data").glob("events-*.sqlite3"))
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        retried = conn.execute("SELECT COALESCE(SUM(duplicates), 0) FROM events").fetchone()[0]
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "answered 2xx": counts.get("2xx", 0),
        "stored": stored,
        "stored as retries of a stored event": retried,
        "503 (busy)": counts.get("503", 0),
        "other statuses": counts.get("other", 0),
        "network errors": counts.get("network", 0),
        "given up after 4 attempts": counts.get("given up", 0),
        "requests/s (2xx)": round(counts.get("2xx", 0) / elapsed),
        "RSS MiB before / peak / after": f"{before[0]:.1f} / {peak_rss:.1f} / {after[0]:.1f}",
        "open fds before / peak / after": f"{before[1]} / {peak_fds} / {after[1]}",
        "exit": proc.returncode,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the load before 'after'")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = run(args.clients, args.seconds, args.settle)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:>40}: {value:,}" if isinstance(value, int) else f"{key:>40}: {value}")
    ok = figures["answered 2xx"] == figures["stored"] + figures["stored as retries of a stored event"]
    print(f"\n2xx == stored (+ retries counted on their original): {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
