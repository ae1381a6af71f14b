"""Whole-process listing: ``nango-desktop connections list --format json`` vs the official Node SDK.

Both are timed as whole processes (interpreter start, imports, every page, output written to /dev/null),
alternating within each run, against the same server; the ratio is taken within each run and the table
shows medians (at least 5 runs). Target (issue 16): ours <= 0.67x Node's time.

    python -m benchmarks.bench_cli_listing --connections 20000,100000 --runs 5     # FakeNango child process
    NANGO_SECRET_KEY=... python -m benchmarks.bench_cli_listing --api-url https://api.nango.dev --runs 5

With ``--api-url`` the key is read from NANGO_SECRET_KEY (never from argv) and the environment's own
connections are listed (read-only). The Node script gets the key through the environment too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import NODE_DIR, Line, ServerProcess, ensure_node, median, print_table  # noqa: E402

TARGET = 0.67
PAGE_SIZE = 2000


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = (time.perf_counter() - t0) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return elapsed, done.stdout


def ours_cmd(url: str, page_size: int) -> list[str]:
    return [
        sys.executable, "-m", "nango_desktop", "--api-url", url,
        "connections", "list", "--format", "json", "--page-size", str(page_size),
    ]  # fmt: skip


def node_cmd(node: str, url: str, page_size: int) -> list[str]:
    return [node, str(NODE_DIR / "list_connections.mjs"), "--base-url", url, "--page-size", str(page_size)]


def compare(url: str, key: str, runs: int, page_size: int, label: str) -> list[Line]:
    """Alternating whole-process runs (Node first in odd runs, ours first in even ones)."""
    node, why = ensure_node()
    env = dict(os.environ, NANGO_SECRET_KEY=key)
    # An installed app has its bytecode compiled; a checkout run with PYTHONDONTWRITEBYTECODE=1 would
    # compile every module on every start and time the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ours, nodes, ratios = [], [], []
    count = None
    # One warm-up of each (page cache, the server's first sort).
    _, out = _timed(ours_cmd(url, page_size), env)
    count = out.count('"connection_id"')
    if node is not None:
        _timed(node_cmd(node, url, page_size), env)
    for run in range(runs):
        order = ("node", "ours") if run % 2 == 0 else ("ours", "node")
        times = {}
        for who in order:
            if who == "ours":
                times["ours"], _ = _timed(ours_cmd(url, page_size), env)
            elif node is not None:
                times["node"], _ = _timed(node_cmd(node, url, page_size), env)
        ours.append(times["ours"])
        if "node" in times:
            nodes.append(times["node"])
            ratios.append(times["ours"] / times["node"])
        print(
            f"  cli listing {label} run {run + 1}/{runs}: ours {times['ours']:,.0f} ms, "
            f"Node {times.get('node', float('nan')):,.0f} ms",
            flush=True,
        )
    reference = "@nangohq/node listConnections, whole process" if node else f"Node SDK ({why})"
    line = Line(
        "listing",
        f"CLI `connections list --format json --page-size {page_size}`, whole process, {label} ({count:,} rows)",
        median(ours),
        "ms",
        reference,
        median(nodes),
        target=f"<= {TARGET}",
        ratios=ratios,
    )
    if ratios:
        line.met = line.ratio is not None and line.ratio <= TARGET
    return [line]


def bench_cli_listing(sizes: list[int], runs: int, page_size: int = PAGE_SIZE) -> list[Line]:
    lines: list[Line] = []
    for n in sizes:
        print(f"CLI listing: {n:,} connections (FakeNango child process) ...", flush=True)
        server = ServerProcess(n)
        try:
            lines += compare(server.url, server.key, runs, page_size, f"{n:,} on FakeNango")
        finally:
            server.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_cli_listing", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--connections", default="20000,100000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--page-size", type=int, default=PAGE_SIZE)
    ap.add_argument("--api-url", default=None, help="a real Nango server (key from NANGO_SECRET_KEY)")
    args = ap.parse_args(argv)
    runs = max(args.runs, 1)
    if args.api_url:
        key = os.environ.get("NANGO_SECRET_KEY")
        if not key:
            print("--api-url needs NANGO_SECRET_KEY in the environment", file=sys.stderr)
            return 2
        lines = compare(args.api_url, key, runs, args.page_size, args.api_url)
    else:
        sizes = [int(s.replace("_", "")) for s in args.connections.split(",") if s.strip()]
        lines = bench_cli_listing(sizes, runs, args.page_size)
    load = os.getloadavg()[0]
    print_table(lines, f"CLI listing, whole process vs Node SDK — load average {load:.1f}, medians of {runs}")
    return 0 if all(line.met is not False for line in lines) else 1


if __name__ == "__main__":
    raise SystemExit(main())
