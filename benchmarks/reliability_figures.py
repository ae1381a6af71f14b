"""Reliability and security figures (issue 7), at a larger scale than CI, printed as a Markdown table.

Scenarios (each reuses the code of the CI tests, so the two measure the same thing):

- flood: N signed webhooks on the real listener from 16 client threads (keep-alive and fresh connections
  mixed, Nango-like retries); every request must be answered 200 and stored once (tests/integration/
  test_webhook_hardening.py);
- fuzz: the property tests of the API parsers (tests/unit/test_parsers_fuzz.py, ``NANGO_FUZZ_EXAMPLES`` per
  property) and of the listener (tests/integration/test_webhook_fuzz.py), run by pytest with Hypothesis
  statistics; the examples Hypothesis reports are summed;
- API faults: random faults of FakeNango (401, 403, 404, 424, 429 storms, 5xx bursts, connection resets,
  truncated and non-JSON bodies, wrong shapes, slow answers past the timeout) on random client calls: every
  call must return or raise a ``NangoError`` with a title (never another exception, never a hang), and no
  error text may contain the API key;
- SIGKILL during settings saves: every Python trace event of one save in turn, plus random kills from outside
  (tests/integration/test_crash_safety.py); the file is always the old or the new version;
- SIGKILL during a webhook burst: the listener process killed K times; no acknowledged event lost;
- secrets: the full scripted session of tests/integration/test_secrets_never_leak.py (run by pytest); its
  scan must find nothing.

Usage::

    python benchmarks/reliability_figures.py                # the soak sizes below (several minutes)
    python benchmarks/reliability_figures.py --quick        # about CI size
    python benchmarks/reliability_figures.py --only flood,api
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SCENARIOS = ("flood", "fuzz", "api", "settings", "webhooks", "secrets")


def _fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="nango-reliability-"))
    os.environ["NANGO_DESKTOP_HOME"] = str(home)
    for var in ("NANGO_SECRET_KEY", "NANGO_WEBHOOK_SIGNING_KEY", "NANGO_DESKTOP_PROFILE"):
        os.environ.pop(var, None)
    return home


# -- scenarios ----------------------------------------------------------------------------------------------


def flood(requests: int) -> dict[str, int]:
    from nango_desktop.store.events import EventStore, event_store_path
    from tests.integration.test_webhook_hardening import _flood
    from tests.webhook_helpers import running_listener

    _fresh_home()
    store = EventStore(event_store_path("bench"), profile="bench")
    try:
        with running_listener(store) as server:
            statuses = _flood(server, requests, threads=16)
            errors = server.stats.errors
        stored = {e.summary.connection_id for e in store.iter_events()}
        integrity = store.integrity_check()
    finally:
        store.close()
    expected = {f"flood-{i}" for i in range(requests)}
    return {
        "requests": requests,
        "answered 200": statuses.count(200),
        "events lost": len(expected - stored),
        "listener errors": errors,
        "integrity ok": int(integrity == "ok"),
    }


def fuzz(examples: int) -> dict[str, int]:
    env = {**os.environ, "NANGO_FUZZ_EXAMPLES": str(examples), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics",
         "tests/unit/test_parsers_fuzz.py", "tests/integration/test_webhook_fuzz.py"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )  # fmt: skip
    tried = sum(
        int(a) + int(b) + int(c)
        for a, b, c in re.findall(
            r"(\d+) passing examples?, (\d+) failing examples?, (\d+) invalid examples?", proc.stdout
        )
    )
    failed = re.search(r"(\d+) failed", proc.stdout)
    return {"examples tried": tried, "failing tests": int(failed.group(1)) if failed else 0,
            "pytest exit": proc.returncode}  # fmt: skip


def api_faults(count: int, seed: int = 7) -> dict[str, int]:
    from nango_desktop.services.api import NangoClient
    from nango_desktop.services.errors import NangoError
    from tests.nango_server import FakeNango

    _fresh_home()
    rng = random.Random(seed)
    outcomes = {
        "faults injected": 0,
        "calls ok": 0,
        "clear errors": 0,
        "other exceptions": 0,
        "secret in text": 0,
    }
    with FakeNango(connections=60, seed=seed, secret_key=f"sk-bench-{seed:08d}-secret").start() as server:
        conn = server.connections[0]
        calls = [
            lambda c: c.list_connections(limit=20),
            lambda c: c.get_connection(conn["connection_id"], conn["provider_config_key"]),
            lambda c: c.list_integrations(),
            lambda c: c.sync_status(conn["provider_config_key"], conn["connection_id"]),
            lambda c: c.create_connect_session(tags={"end_user_id": "bench"}),
        ]
        faults = [
            lambda: server.fail_next(401),
            lambda: server.fail_next(403),
            lambda: server.fail_next(404),
            lambda: server.fail_next(424),
            lambda: server.fail_next(429, times=rng.randint(1, 6), headers={"Retry-After": "3"}),
            lambda: server.fail_next(rng.choice((500, 502, 503, 504)), times=rng.randint(1, 5)),
            lambda: server.reset_next(times=rng.randint(1, 4)),
            lambda: server.truncate_next(times=rng.randint(1, 4)),
            lambda: server.non_json_next(times=rng.randint(1, 3)),
            lambda: server.fail_next(200, body={"connections": "nope", "data": 5, "syncs": {}}),
            lambda: server.set_delay(0.3),
        ]
        quiet = contextlib.redirect_stderr(io.StringIO())  # FakeNango's "broken pipe" after a client timeout
        client = NangoClient(server.url, server.secret_key, timeout=0.1, max_retries=3, sleep=lambda s: None)
        with quiet, client:
            for _ in range(count):
                server.clear_faults()
                rng.choice(faults)()
                outcomes["faults injected"] += 1
                try:
                    rng.choice(calls)(client)
                    outcomes["calls ok"] += 1
                except NangoError as exc:
                    outcomes["clear errors"] += int(bool(exc.title))
                    text = f"{exc.title} {exc.detail} {exc} {exc!r}"
                    outcomes["secret in text"] += int(server.secret_key in text)
                except Exception:  # noqa: BLE001 - counted: must stay 0
                    outcomes["other exceptions"] += 1
            server.clear_faults()
    return outcomes


def settings_kills(async_rounds: int) -> dict[str, int]:
    from tests.integration.test_crash_safety import run_settings_kills

    home = _fresh_home()
    return run_settings_kills(home, async_rounds=async_rounds, scope="all")


def webhook_kills(events: int, kills: int) -> dict[str, int]:
    from tests.integration.test_crash_safety import run_webhook_kills

    home = _fresh_home()
    return run_webhook_kills(home, events=events, kills=kills)


def secrets_session() -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/integration/test_secrets_never_leak.py"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
    )  # fmt: skip
    found = len(re.findall(r"^E\s+.* in /.*at byte \d+", proc.stdout, re.M))
    return {"secrets found": found if proc.returncode else 0, "pytest exit": proc.returncode}


# -- main ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about the CI sizes")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument(
        "--flood", type=int, help="webhook requests in the flood (default 50,000; quick 10,000)"
    )
    parser.add_argument("--fuzz", type=int, help="examples per parser property (default 2,000; quick 200)")
    parser.add_argument("--api-faults", type=int, help="API faults injected (default 2,000; quick 300)")
    parser.add_argument(
        "--settings-async", type=int, help="outside kills during saves (default 200; quick 15)"
    )
    parser.add_argument("--webhook-events", type=int, help="events in the killed burst (default 6,000)")
    parser.add_argument("--webhook-kills", type=int, help="listener SIGKILLs (default 8; quick 2)")
    args = parser.parse_args(argv)
    q = args.quick
    only = set(args.only.split(",")) if args.only else set(SCENARIOS)
    rows: list[tuple[str, dict[str, int], float]] = []

    def run(name: str, fn, *fn_args) -> None:
        if name not in only:
            return
        started = time.monotonic()
        print(f"running {name}…", file=sys.stderr, flush=True)
        rows.append((name, fn(*fn_args), time.monotonic() - started))

    run("flood", flood, args.flood or (10_000 if q else 50_000))
    run("fuzz", fuzz, args.fuzz or (200 if q else 2_000))
    run("api", api_faults, args.api_faults or (300 if q else 2_000))
    run("settings", settings_kills, args.settings_async or (15 if q else 200))
    run(
        "webhooks",
        webhook_kills,
        args.webhook_events or (1_200 if q else 6_000),
        args.webhook_kills or (2 if q else 8),
    )
    run("secrets", secrets_session)

    print("| scenario | figures | time |")
    print("|---|---|---|")
    for name, figures, seconds in rows:
        text = ", ".join(f"{k}: {v:,}" for k, v in figures.items())
        print(f"| {name} | {text} | {seconds:.0f} s |")
    by = {name: figures for name, figures, _ in rows}
    lost = by.get("flood", {}).get("events lost", 0) + by.get("webhooks", {}).get("lost", 0)
    leaked = by.get("secrets", {}).get("secrets found", 0) + by.get("api", {}).get("secret in text", 0)
    bad = by.get("api", {}).get("other exceptions", 0) + by.get("fuzz", {}).get("failing tests", 0)
    print(
        f"\nevents lost: {lost}; secrets found: {leaked}; unexpected exceptions / failing fuzz tests: {bad}"
    )
    return 0 if lost == leaked == bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
