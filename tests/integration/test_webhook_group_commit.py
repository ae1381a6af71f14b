"""Group commit in the listener's write path (issue 16): requests that arrive together share one transaction
and one fsync, and each is answered only once that transaction is committed.

A batch is made deterministic by holding the store's write lock while the requests arrive: they queue behind
it (``EventStore._pending``) and the first handler to get the lock commits all of them at once.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlsplit

from nango_desktop.store.events import EventStore
from tests.webhook_helpers import SIGNING_KEY, nango_headers, nango_json, running_listener, wait_for

BATCH = 6


def _post(url: str, n: int) -> tuple[int, dict]:
    raw = nango_json({"type": "auth", "connectionId": f"group-{n}", "success": True, "pad": "x" * 8000})
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", parts.path, body=raw, headers=nango_headers(raw, SIGNING_KEY))
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _post_batch(store: EventStore, url: str, numbers: range, while_held=lambda: None) -> dict[int, tuple]:
    """Post ``numbers`` concurrently while the write lock is held, so they queue into one batch; run
    ``while_held`` once all are queued, then release the lock. Returns {n: (status, reply)}."""
    answers: dict[int, tuple] = {}

    def send(n: int) -> None:
        answers[n] = _post(url, n)

    threads = [threading.Thread(target=send, args=(n,)) for n in numbers]
    with store._write_lock:
        for t in threads:
            t.start()
        assert wait_for(lambda: len(store._pending) == len(numbers), timeout=30), len(store._pending)
        while_held()
    for t in threads:
        t.join(timeout=30)
    assert len(answers) == len(numbers)
    return answers


def _transactions_inserting(statements: list[str]) -> int:
    """How many committed transactions in a trace inserted events."""
    count, inserting = 0, False
    for sql in statements:
        if sql.startswith("INSERT INTO events ("):
            inserting = True
        elif sql == "COMMIT":
            count += inserting
            inserting = False
        elif sql == "ROLLBACK":
            inserting = False
    return count


def _crash_copy(store: EventStore, where: Path) -> Path:
    """The database as a crash would leave it: its file and WAL copied while the store is still open
    (nothing closed, no checkpoint)."""
    where.mkdir()
    for suffix in ("", "-wal"):
        source = Path(f"{store.path}{suffix}")
        if source.exists():
            shutil.copyfile(source, where / f"{store.path.name}{suffix}")
    return where / store.path.name


def test_a_batch_shares_one_transaction_and_every_acknowledged_event_survives_a_crash(tmp_home):
    store = EventStore(tmp_home / "group.db", profile="group")
    statements: list[str] = []
    try:
        with running_listener(store) as server:
            assert _post(server.url, 0)[0] == 200
            store._writer.set_trace_callback(statements.append)
            answers = _post_batch(store, server.url, range(1, 1 + BATCH))
            store._writer.set_trace_callback(None)
            assert {n: status for n, (status, _) in answers.items()} == dict.fromkeys(
                range(1, 1 + BATCH), 200
            )
            assert _transactions_inserting(statements) == 1  # the whole batch: one transaction, one fsync
            copy = _crash_copy(store, tmp_home / "crash")
        with sqlite3.connect(copy) as conn:
            rows = dict(conn.execute("SELECT id, connection_id FROM events"))
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        acknowledged = {answers[n][1]["id"]: f"group-{n}" for n in answers}
        assert acknowledged.items() <= rows.items()  # every 2xx'd event, under the id it was answered with
    finally:
        store.close()


def test_a_failed_batch_commit_answers_5xx_to_every_request_of_it_and_loses_nothing_acknowledged(tmp_home):
    store = EventStore(tmp_home / "failing.db", profile="group")
    try:
        with running_listener(store) as server:
            first = _post(server.url, 0)
            assert first[0] == 200

            def fill_the_disk() -> None:  # SQLITE_FULL for this batch's transaction, as on a full disk
                pages = store._writer.execute("PRAGMA page_count").fetchone()[0]
                store._writer.execute(f"PRAGMA max_page_count = {pages}")

            failed = _post_batch(store, server.url, range(1, 1 + BATCH), fill_the_disk)
            assert {n: status for n, (status, _) in failed.items()} == dict.fromkeys(range(1, 1 + BATCH), 503)
            assert all("not stored" in reply["error"]["message"] for _, reply in failed.values())
            assert server.stats.errors == BATCH and server.stats.accepted == 1

            with store._write_lock:
                store._writer.execute("PRAGMA max_page_count = 1073741823")  # space again
            retried = _post_batch(store, server.url, range(1, 1 + BATCH))  # Nango retries them
            assert {n: status for n, (status, _) in retried.items()} == dict.fromkeys(
                range(1, 1 + BATCH), 200
            )
            copy = _crash_copy(store, tmp_home / "crash")
        with sqlite3.connect(copy) as conn:
            stored = [cid for (cid,) in conn.execute("SELECT connection_id FROM events ORDER BY id")]
        # the failed batch left nothing behind (no half batch, no duplicates); every acknowledged event is there
        assert sorted(stored) == sorted(f"group-{n}" for n in range(1 + BATCH))
    finally:
        store.close()
