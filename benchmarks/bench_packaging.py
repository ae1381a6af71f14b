"""Installer figures: size of the .deb and of the installed tree, cold start time of the frozen app.

    python benchmarks/bench_packaging.py [--deb packaging/linux/out/nango-desktop_*.deb] [--runs 5]

Needs a built .deb (bash packaging/linux/build.sh). Unpacks it with dpkg-deb -x into a temp dir (no root needed)
and times `nango-desktop --smoke-test --startup-only` (QApplication + main window painted, then exit) from it,
offscreen, median of N runs; the first run after unpacking is reported separately (cold page cache is not
reproducible without root, so "cold" here means a fresh process, not a dropped cache). The source install is timed
the same way for comparison.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def time_runs(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deb", default=None)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    debs = (
        [args.deb] if args.deb else sorted(glob.glob(str(ROOT / "packaging/linux/out/nango-desktop_*.deb")))
    )
    if not debs:
        print("no .deb found: run bash packaging/linux/build.sh first", file=sys.stderr)
        return 1
    deb = Path(debs[-1])
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env["NANGO_DESKTOP_HOME"] = str(Path(tmp) / "home")
        root = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        exe = root / "opt" / "nango-desktop" / "nango-desktop"
        frozen_cmd = [str(exe), "--smoke-test", "--startup-only"]
        first = time_runs(frozen_cmd, 1, env)[0]
        frozen = time_runs(frozen_cmd, args.runs, env)
        source = time_runs(
            [sys.executable, "-m", "nango_desktop", "--smoke-test", "--startup-only"], args.runs, env
        )
        rows += [
            (".deb size", f"{deb.stat().st_size / 2**20:.1f} MiB"),
            ("installed tree (/opt/nango-desktop)", f"{du(root / 'opt') / 2**20:.1f} MiB"),
            ("frozen: first start to painted window", f"{first * 1000:.0f} ms"),
            (
                f"frozen: start to painted window (median of {args.runs})",
                f"{statistics.median(frozen) * 1000:.0f} ms",
            ),
            (
                f"source install: start to painted window (median of {args.runs})",
                f"{statistics.median(source) * 1000:.0f} ms",
            ),
        ]
    width = max(len(k) for k, _ in rows)
    print(f"{'figure'.ljust(width)}  value")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
