"""Crash safety: SIGKILL the listener process in the middle of a burst. Every request that was answered 2xx
must be in the store after a restart (Nango retries only the ones that were not acknowledged)."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nango_desktop.store.events import EventStore, event_store_path
from tests.webhook_helpers import auth_webhook, free_port, nango_headers, nango_json, post_raw, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

KEY = "durability-signing-key"
REPO = Path(__file__).resolve().parents[2]


def _start_listener(port: int, home: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        NANGO_DESKTOP_HOME=str(home),
        NANGO_WEBHOOK_SIGNING_KEY=KEY,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONPATH=str(REPO),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nango_desktop", "listen", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/healthz"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"listener exited {proc.returncode}: {proc.stderr.read().decode()}")
        try:
            return post_raw(url, b"", {}, method="GET", timeout=2)[0] == 200
        except OSError:
            return False

    assert wait_for(up, timeout=30)
    return proc


class NangoLikeSender:
    """Delivers events like Nango: up to 3 attempts on network errors and 5xx; remembers what was acked."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: set[str] = set()
        self.failed: set[str] = set()
        self.lock = threading.Condition()

    def deliver(self, connection_id: str) -> None:
        raw = nango_json(auth_webhook(connection_id=connection_id))
        for _attempt in range(3):
            try:
                status, _ = post_raw(self.url, raw, nango_headers(raw, KEY), timeout=10)
            except (OSError, http.client.HTTPException):
                continue
            if 200 <= status < 300:
                with self.lock:
                    self.acked.add(connection_id)
                    self.failed.discard(connection_id)
                    self.lock.notify_all()
                return
            if status < 500:
                break
        with self.lock:
            self.failed.add(connection_id)

    def burst(self, ids: list[str], threads: int = 4) -> None:
        def run(chunk: list[str]) -> None:
            for cid in chunk:
                self.deliver(cid)

        workers = [threading.Thread(target=run, args=(ids[n::threads],)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()


def test_sigkill_mid_burst_loses_no_acknowledged_event(tmp_home):
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/nango"
    sender = NangoLikeSender(url)
    ids = [f"burst-{i}" for i in range(1500)]

    proc = _start_listener(port, tmp_home)
    burst = threading.Thread(target=sender.burst, args=(ids,))
    burst.start()
    with sender.lock:  # kill when the burst is well under way
        assert sender.lock.wait_for(lambda: len(sender.acked) >= 300, timeout=60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    acked_before_kill = set(sender.acked)

    proc = _start_listener(port, tmp_home)  # same port, same store
    try:
        burst.join()
        assert sender.failed, "the kill happened after the burst: nothing was tested"
        sender.burst(sorted(sender.failed))  # Nango delivers the unacknowledged ones again later
        assert not sender.failed
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read().decode()
        proc.stderr.close()

    with EventStore(event_store_path("default"), profile="default") as store:
        assert store.integrity_check() == "ok"
        stored = [e.summary.connection_id for e in store.iter_events()]
        assert len(stored) == len(set(stored))  # retries of committed-but-unanswered events were deduplicated
        assert acked_before_kill <= set(stored)
        assert set(stored) == set(ids) == sender.acked
        assert all(e.verification.ok for e in store.iter_events())
