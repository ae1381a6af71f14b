"""Durable store of received webhooks (SQLite, WAL, ``synchronous=FULL``).

One database file per profile: ``paths.data_dir() / f"events-{profile}.sqlite3"`` (see
:func:`event_store_path`); every row also carries its profile name.

- :meth:`EventStore.add` commits before it returns, so the listener answers 2xx only for events that are
  on disk. A request whose body and signature headers were already stored less than
  ``RETRY_WINDOW_SECONDS`` before (a Nango retry) is not stored again: the original's ``duplicates``
  counter goes up and ``add`` returns ``(original, True)``. Nango's webhooks carry no id and no timestamp,
  so separate events (two refresh failures a minute apart) can be byte-identical: identical bytes arriving
  later are a new event. Schema version 2 (a plain index instead of the unique one) migrates older stores
  on open; rows merged before the migration stay merged (their reception times are gone).
- Safe from several threads: one writer connection behind a lock, with group commit (concurrent adds share
  one transaction and one fsync); readers borrow pooled connections and read concurrently (WAL).
- Search in bodies uses an FTS5 trigram index (substring semantics, like ``LIKE``) when SQLite has it,
  else ``LIKE``. Filter columns are indexed so paging stays fast at 100k+ rows. The trigram index is
  derived data and is kept OFF the commit path: a background indexer adds committed events to it in
  batches a moment later (writing each body's trigrams inside the request's transaction made every fsync
  several times larger and halved the listener's throughput). Searches cover the events not indexed yet
  with ``LIKE``, so every committed event is found at once; after a crash the indexer catches up on open.
- Retention: by count and by age; pinned events are never removed.
- Headers that could carry credentials (``Authorization``, ``Cookie``, ...) are stored redacted.
"""

from __future__ import annotations

import builtins
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from nango_desktop import redaction
from nango_desktop.domain.events import (
    REDACTED,
    REPLAY_HEADER,
    EventFilter,
    ForwardResult,
    StoredEvent,
    dedupe_key,
)
from nango_desktop.domain.webhooks import (
    Verification,
    VerificationStatus,
    WebhookSummary,
    parse_body,
    summarize,
)
from nango_desktop.store.diskerrors import raising_disk_errors

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
# Nango's sender: 3 attempts, 20 s timeout each, waits of 3 s and 6 s between them: the last retry starts at
# most 20 + 3 + 20 + 6 = 49 s after the first attempt. 60 s covers it with margin for clocks and queues,
# yet stays under the time between two real events of one connection (Nango backs off 30 s after a
# failed refresh, and its retried refresh is another event at least that far apart).
RETRY_WINDOW_SECONDS = 60.0
_MAX_FORWARD_BODY = 64 * 1024
_RETENTION_EVERY = 500  # adds between two automatic retention passes
_MAX_IDLE_READERS = 4
_FTS_DELAY = 0.2  # seconds the indexer waits after an add, so one transaction indexes a whole burst
_FTS_BATCH = 1000  # events indexed per transaction (bounds how long the indexer holds the write lock)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile TEXT NOT NULL,
    received_at REAL NOT NULL,
    last_seen_at REAL,
    peer TEXT NOT NULL DEFAULT '',
    method TEXT NOT NULL DEFAULT 'POST',
    path TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '{}',
    body BLOB NOT NULL,
    dedupe_key TEXT NOT NULL,
    verification TEXT NOT NULL,
    verification_status TEXT NOT NULL,
    malformed TEXT,
    summary TEXT,
    type TEXT,
    operation TEXT,
    success INTEGER,
    integration TEXT,
    connection_id TEXT,
    end_user_id TEXT,
    duplicates INTEGER NOT NULL DEFAULT 0,
    pinned INTEGER NOT NULL DEFAULT 0,
    replay_of INTEGER
);
CREATE INDEX IF NOT EXISTS events_dedupe_at ON events(dedupe_key, received_at);
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
CREATE INDEX IF NOT EXISTS events_type ON events(type, id);
CREATE INDEX IF NOT EXISTS events_operation ON events(operation, id);
CREATE INDEX IF NOT EXISTS events_integration ON events(integration, id);
CREATE INDEX IF NOT EXISTS events_connection ON events(connection_id, id);
CREATE INDEX IF NOT EXISTS events_end_user ON events(end_user_id, id);
CREATE INDEX IF NOT EXISTS events_verification ON events(verification_status, id);
CREATE INDEX IF NOT EXISTS events_pinned ON events(pinned, id);
CREATE TABLE IF NOT EXISTS forwards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL,
    at REAL NOT NULL,
    url TEXT NOT NULL,
    replay INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    latency REAL,
    response_body TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS forwards_event ON forwards(event_id, id);
"""


def event_store_path(profile: str) -> Path:
    """Where a profile's events live: ``data_dir()/events-<profile>.sqlite3``."""
    from nango_desktop import paths

    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", profile).strip(".") or "default"
    return paths.data_dir() / f"events-{safe}.sqlite3"


def _redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Credentials by header-name pattern (``X-Nango-Secret-Key``, any ``*-Key``/``*-Token``/``*-Secret``,
    cookies, Authorization) are never stored: see :func:`nango_desktop.redaction.is_sensitive_header`."""
    return redaction.redact_headers(headers, REDACTED)


def _strip_expected_signatures(conn: sqlite3.Connection) -> None:
    """Schema 3: rows of schema 2 and older kept the signatures the key gives each body, also for events
    that did not verify: a signing oracle for bodies an attacker chose (issue 19). Each row keeps instead
    its per-header verdicts; a row verified by a right legacy header next to a wrong HMAC (a downgrade the
    old rules let through) becomes invalid."""
    rows = conn.execute("SELECT id, verification FROM events WHERE verification LIKE '%expected%'").fetchall()
    updates = []
    for eid, text in rows:
        data = json.loads(text)
        expected = {"hmac": data.pop("expected_hmac", None), "legacy": data.pop("expected_legacy", None)}
        for name in ("hmac", "legacy"):
            received = data.get(f"received_{name}")
            if data.get("status") == "no_key" or (received is not None and expected[name] is None):
                result = None
            elif received is None:
                result = "not sent"
            else:
                result = "match" if str(received).lower() == expected[name] else "mismatch"
            data[f"{name}_result"] = result
        if data.get("status") == "verified" and data.get("hmac_result") == "mismatch":
            data.update(status="invalid", header=None, key_index=None)
            data["reason"] = "X-Nango-Hmac-Sha256 does not match (re-checked by the rules of schema 3)"
        updates.append((json.dumps(data), data.get("status"), eid))
    conn.execute("BEGIN")
    conn.executemany("UPDATE events SET verification = ?, verification_status = ? WHERE id = ?", updates)
    conn.execute("COMMIT")


class EventStore:
    def __init__(
        self,
        path: Path | str,
        *,
        profile: str = "default",
        retention_count: int | None = None,
        retention_days: float | None = None,
        retention_unverified: int | None = None,
        busy_timeout: float = 30.0,
    ) -> None:
        """``busy_timeout``: seconds a write waits for a lock held by another program before failing."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.profile = profile
        self.retention_count = retention_count
        self.retention_days = retention_days
        # Unverified events (invalid or unsigned) have their own, smaller budget: a flood of them never evicts a
        # verified event. Default: a tenth of the count budget.
        self.retention_unverified = (
            retention_unverified
            if retention_unverified is not None or retention_count is None
            else max(100, retention_count // 10)
        )
        with raising_disk_errors(self.path):  # read-only or full home: "PATH is read-only", not a traceback
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._idle: list[sqlite3.Connection] = []  # reader connections, borrowed by any thread
        self._idle_lock = threading.Lock()
        self._pending: list[_Pending] = []  # adds waiting for the next group commit
        self._pending_lock = threading.Lock()
        self._closed = False
        self._adds_since_retention = 0
        with raising_disk_errors(self.path), self._write_lock:
            self._writer = self._connect()
            self._writer.executescript(_SCHEMA)
            self._migrate(self._writer)
            self._writer.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.fts = self._init_fts(self._writer)
            # events with an id above this are not in the trigram index yet (searched with LIKE)
            self._fts_upto = self._fts_watermark(self._writer) if self.fts else 0
        self._fts_wake = threading.Event()
        self._fts_stop = threading.Event()
        self._fts_thread: threading.Thread | None = None
        if self.fts:
            self._start_indexer(backlog=True)
        if retention_count is not None or retention_days is not None:
            self.apply_retention(retention_count, retention_days, self.retention_unverified)

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Bring an older store to SCHEMA_VERSION (the tables themselves are created by _SCHEMA)."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < 2:
            # v1 merged identical bodies forever (a unique index on the dedupe key); v2 counts them as
            # retries only within RETRY_WINDOW_SECONDS (index on dedupe key + reception time).
            conn.execute("DROP INDEX IF EXISTS events_dedupe")
            conn.commit()
        if version < 3:
            _strip_expected_signatures(conn)
            if version:
                log.info("Event store %s migrated from schema %d to %d", "events", version, SCHEMA_VERSION)

    # -- connections ---------------------------------------------------------------------------------
    # One writer connection, used under the write lock by whichever thread writes (the listener's handler
    # threads come and go: a connection per thread would leak). Readers borrow pooled connections, so GUI
    # worker threads read concurrently with the writer (WAL).
    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise sqlite3.ProgrammingError("EventStore is closed")
        wait = self.busy_timeout
        conn = sqlite3.connect(self.path, timeout=wait, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        conn.create_function("body_contains", 2, _body_contains, deterministic=True)
        return conn

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._idle_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            with self._idle_lock:
                keep = not self._closed and len(self._idle) < _MAX_IDLE_READERS
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._reader() as conn:
            return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        thread = self._fts_thread
        if thread is not None:
            self._fts_stop.set()
            self._fts_wake.set()
            thread.join()
            self._fts_thread = None
        with self._write_lock:
            if not self._closed and self.fts:
                self.index_pending()  # leave the index complete
        with self._write_lock, self._idle_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            for conn in [self._writer, *idle]:
                conn.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _init_fts(self, conn: sqlite3.Connection) -> bool:
        try:
            conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(body, tokenize='trigram')")
        except sqlite3.OperationalError:
            log.info("SQLite has no FTS5 trigram tokenizer; body search uses LIKE")
            return False
        return True

    # -- deferred trigram index ---------------------------------------------------------------------------
    @staticmethod
    def _fts_watermark(conn: sqlite3.Connection) -> int:
        """The highest indexed event id; every event up to it is indexed (they are indexed in id order)."""
        row = conn.execute("SELECT rowid FROM events_fts ORDER BY rowid DESC LIMIT 1").fetchone()
        return row[0] if row else 0

    def _start_indexer(self, *, backlog: bool) -> None:
        self._fts_thread = threading.Thread(target=self._indexer, name="events-fts-indexer", daemon=True)
        if backlog:
            self._fts_wake.set()
        self._fts_thread.start()

    def _indexer(self) -> None:
        while not self._fts_stop.is_set():
            self._fts_wake.wait()
            if self._fts_stop.wait(_FTS_DELAY):
                return
            self._fts_wake.clear()
            try:
                self.index_pending()
            except sqlite3.Error:
                if self._closed:
                    return
                log.warning("Indexing webhook bodies for search failed; searches use LIKE", exc_info=True)

    def index_pending(self) -> int:
        """Add committed events not yet in the trigram index to it; returns how many (any thread).

        The watermark is re-read inside the write transaction: another EventStore on the same file (the CLI
        while the app runs, a second page in tests) may have indexed some events already."""
        done = 0
        while self.fts and not self._closed:
            with self._write_lock:
                if self._closed:
                    break
                # Derived data: no fsync of its own (synchronous=NORMAL); the next event's commit (FULL)
                # syncs these WAL frames too, and a crash before that only loses index rows, redone on open.
                self._writer.execute("PRAGMA synchronous=NORMAL")
                try:
                    with self._transaction() as conn:
                        upto = max(self._fts_upto, self._fts_watermark(conn))
                        rows = conn.execute(
                            "SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?", (upto, _FTS_BATCH)
                        ).fetchall()
                        conn.executemany(
                            "INSERT INTO events_fts(rowid, body) VALUES (?, ?)",
                            [(eid, body.decode("utf-8", "replace")) for eid, body in rows],
                        )
                finally:
                    self._writer.execute("PRAGMA synchronous=FULL")
                self._fts_upto = rows[-1][0] if rows else upto
                done += len(rows)
                if not rows:
                    break
        return done

    def _transaction(self) -> _Transaction:
        if self._closed:
            raise sqlite3.ProgrammingError("EventStore is closed")
        return _Transaction(self._writer, self._write_lock)

    # -- writing ---------------------------------------------------------------------------------------
    def add(
        self,
        *,
        body: bytes,
        headers: Mapping[str, str],
        verification: Verification,
        received_at: float | None = None,
        peer: str = "",
        method: str = "POST",
        path: str = "",
        malformed: str | None = None,
        summary: WebhookSummary | None = None,
        replay_of: int | None = None,
        profile: str | None = None,
    ) -> tuple[StoredEvent, bool]:
        """Store one request; committed (fsync'd) on return. Returns ``(event, is_duplicate)``."""
        received_at = time.time() if received_at is None else received_at
        key = dedupe_key(body, headers)
        if summary is None and malformed is None:
            parsed, malformed = parse_body(body)
            summary = None if malformed else summarize(parsed)
        if replay_of is None:
            replay_of = _int_or_none(
                next((v for k, v in headers.items() if k.lower() == REPLAY_HEADER.lower()), None)
            )
        s = summary
        row = (
            profile or self.profile,
            received_at,
            peer,
            method,
            path,
            json.dumps(stored_headers := _redact_headers(headers), ensure_ascii=False),
            body,
            key,
            _dataclass_json(verification),
            str(verification.status),
            malformed,
            _dataclass_json(s) if s else None,
            (s.type or str(s.kind)) if s else None,
            s.operation if s else None,
            None if s is None or s.success is None else int(s.success),
            s.integration if s else None,
            s.connection_id if s else None,
            s.end_user_id if s else None,
            replay_of,
        )
        event, duplicate = self._commit_grouped(
            _Pending(row, key, received_at, stored_headers, verification, summary)
        )
        try:
            self._maybe_apply_retention()
        except (
            sqlite3.Error
        ):  # the event is committed: a retention pass that fails (full disk) is retried later
            log.warning("Event store %s: retention pass failed; retried later", self.path, exc_info=True)
        return event, duplicate

    def _commit_grouped(self, pending: _Pending) -> tuple[StoredEvent, bool]:
        """Group commit: whichever thread gets the write lock commits every add queued so far in ONE
        transaction (one fsync for a burst of concurrent requests); the others find theirs done."""
        with self._pending_lock:
            self._pending.append(pending)
        with self._write_lock:
            if not pending.done:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                try:
                    with self._transaction() as conn:
                        for item in batch:
                            item.result = self._insert(conn, item)
                except BaseException as exc:
                    for item in batch:
                        item.error = exc
                    raise
                finally:
                    for item in batch:
                        item.done = True
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _insert(self, conn: sqlite3.Connection, item: _Pending) -> tuple[StoredEvent, bool]:
        # a retry of the same delivery only within the window; later identical bytes are a new event
        found = conn.execute(
            "SELECT id FROM events WHERE dedupe_key = ? AND received_at >= ? ORDER BY received_at DESC LIMIT 1",
            (item.key, item.received_at - RETRY_WINDOW_SECONDS),
        ).fetchone()
        if found is not None:
            conn.execute(
                "UPDATE events SET duplicates = duplicates + 1, last_seen_at = ? WHERE id = ?",
                (item.received_at, found[0]),
            )
            event_id, duplicate = found[0], True
        else:
            cur = conn.execute(
                "INSERT INTO events (profile, received_at, peer, method, path, headers, body, dedupe_key,"
                " verification, verification_status, malformed, summary, type, operation, success,"
                " integration, connection_id, end_user_id, replay_of)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                item.row,
            )
            event_id, duplicate = cur.lastrowid, False
            if self.fts:
                self._fts_wake.set()  # indexed for search by the background indexer, off this path
        if duplicate:  # the original as stored (its counters, pin, first reception)
            stored = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE id = ?", (event_id,)).fetchone()  # noqa: S608
            return _row_to_event(stored), True
        # A new row: the event is what was just inserted (no read back and JSON round trip per request).
        row = item.row
        event = StoredEvent(
            id=event_id,
            received_at=row[1],
            peer=row[2],
            method=row[3],
            path=row[4],
            headers=dict(item.headers),
            body=bytes(row[6]),
            verification=item.verification,
            malformed=row[10],
            summary=item.summary,
            duplicates=0,
            pinned=False,
            profile=row[0],
            replay_of=row[18],
        )
        return event, False

    def pin(self, event_id: int, pinned: bool = True) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE events SET pinned = ? WHERE id = ?", (int(pinned), event_id))

    def delete(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        with self._transaction() as conn:
            return self._delete_where(conn, f"id IN ({_marks(ids)})", ids)

    def clear(self, *, keep_pinned: bool = True) -> int:
        with self._transaction() as conn:
            return self._delete_where(conn, "pinned = 0" if keep_pinned else "1", [])

    def _delete_where(self, conn: sqlite3.Connection, where: str, params: list[Any]) -> int:
        # `where` is built here from fixed column names; values are always bound parameters.
        ids = f"SELECT id FROM events WHERE {where}"  # noqa: S608
        if self.fts:
            conn.execute(f"DELETE FROM events_fts WHERE rowid IN ({ids})", params)  # noqa: S608
        conn.execute(f"DELETE FROM forwards WHERE event_id IN ({ids})", params)  # noqa: S608
        return conn.execute(f"DELETE FROM events WHERE {where}", params).rowcount  # noqa: S608

    def apply_retention(
        self, count: int | None = None, days: float | None = None, unverified: int | None = None
    ) -> int:
        """Remove unpinned events older than ``days``, and beyond the budgets: the newest ``unverified``
        invalid or unsigned events, and the newest ``count`` of the others (verified, or not checked for want
        of a key). Separate budgets: unverified events are evicted among themselves, never a verified one."""
        removed = 0
        failed = "verification_status IN ('invalid', 'unsigned')"
        with self._transaction() as conn:
            if days is not None and days > 0:
                removed += self._delete_where(
                    conn, "pinned = 0 AND received_at < ?", [time.time() - days * 86400]
                )
            budgets = (
                (unverified if unverified is not None else count, failed),
                (count, f"NOT ({failed})"),
            )
            for budget, which in budgets:
                if budget is None or budget < 0:
                    continue
                row = conn.execute(
                    f"SELECT id FROM events WHERE pinned = 0 AND {which} ORDER BY id DESC LIMIT 1 OFFSET ?",  # noqa: S608
                    (budget,),
                ).fetchone()
                if row is not None:
                    removed += self._delete_where(conn, f"pinned = 0 AND {which} AND id <= ?", [row[0]])
        if removed:
            log.info("Retention removed %d webhook events", removed)
        return removed

    def _maybe_apply_retention(self) -> None:
        if self.retention_count is None and self.retention_days is None:
            return
        self._adds_since_retention += 1
        if self._adds_since_retention >= _RETENTION_EVERY:
            self._adds_since_retention = 0
            self.apply_retention(self.retention_count, self.retention_days, self.retention_unverified)

    def record_forward(self, result: ForwardResult) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO forwards (event_id, at, url, replay, status, latency, response_body, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    result.event_id,
                    result.at,
                    result.url,
                    int(result.replay),
                    result.status,
                    result.latency,
                    (result.response_body or "")[:_MAX_FORWARD_BODY]
                    if result.response_body is not None
                    else None,
                    result.error,
                ),
            )

    # -- reading ---------------------------------------------------------------------------------------
    def get(self, event_id: int) -> StoredEvent | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM events WHERE id = ?", (event_id,))  # noqa: S608
        return _row_to_event(rows[0]) if rows else None

    def list(
        self,
        limit: int = 100,
        offset: int = 0,
        filters: EventFilter | None = None,
        *,
        oldest_first: bool = False,
    ) -> list[StoredEvent]:
        """Newest first (by id) unless ``oldest_first``."""
        where, params = self._where(filters)
        order = "ASC" if oldest_first else "DESC"
        sql = f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY id {order} LIMIT ? OFFSET ?"  # noqa: S608
        return [_row_to_event(r) for r in self._query(sql, [*params, limit, offset])]

    def list_after(
        self, after_id: int, limit: int = 1000, filters: EventFilter | None = None
    ) -> builtins.list[StoredEvent]:
        """Events with id > after_id, oldest first (for tailing the store)."""
        where, params = self._where(filters)
        sql = f"SELECT {_COLUMNS} FROM events WHERE id > ? AND {where} ORDER BY id ASC LIMIT ?"  # noqa: S608
        return [_row_to_event(r) for r in self._query(sql, [after_id, *params, limit])]

    def search(self, text: str, limit: int = 100, offset: int = 0) -> builtins.list[StoredEvent]:
        return self.list(limit, offset, EventFilter(search=text))

    def count(self, filters: EventFilter | None = None) -> int:
        where, params = self._where(filters)
        return self._query(f"SELECT COUNT(*) FROM events WHERE {where}", params)[0][0]  # noqa: S608

    def iter_events(self, filters: EventFilter | None = None, batch: int = 500) -> Iterator[StoredEvent]:
        """All matching events, oldest first, read in batches (export)."""
        last = 0
        while True:
            page = self.list_after(last, batch, filters)
            yield from page
            if len(page) < batch:
                return
            last = page[-1].id

    def forwards(self, event_id: int) -> builtins.list[ForwardResult]:
        rows = self._query(
            "SELECT event_id, url, at, replay, status, latency, response_body, error FROM forwards"
            " WHERE event_id = ? ORDER BY id",
            (event_id,),
        )
        return [ForwardResult(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    def distinct(self, column: str) -> builtins.list[str]:
        """Known values of a filter column (for filter combo boxes)."""
        if column not in {
            "type",
            "operation",
            "integration",
            "connection_id",
            "end_user_id",
            "verification_status",
        }:
            raise ValueError(f"not a filter column: {column}")
        sql = f"SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL ORDER BY {column}"  # noqa: S608
        return [r[0] for r in self._query(sql)]

    def export_json(
        self, out: IO[str], filters: EventFilter | None = None, ids: Iterable[int] | None = None
    ) -> int:
        """Write matching events as a JSON array (streamed). Returns how many were written."""
        if ids is not None:
            filters = EventFilter(**{**(filters.__dict__ if filters else {}), "ids": list(ids)})
        written = 0
        out.write("[")
        for event in self.iter_events(filters):
            out.write(",\n" if written else "\n")
            out.write(json.dumps(event.to_dict(), ensure_ascii=False))
            written += 1
        out.write("\n]\n" if written else "]\n")
        return written

    def integrity_check(self) -> str:
        return self._query("PRAGMA integrity_check")[0][0]

    def _where(self, f: EventFilter | None) -> tuple[str, builtins.list[Any]]:
        if f is None:
            return "1", []
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        for column, value in (
            ("type", f.type),
            ("operation", f.operation),
            ("integration", f.integration),
            ("connection_id", f.connection_id),
            ("end_user_id", f.end_user_id),
            ("verification_status", f.verification),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        for column, flag in (("success", f.success), ("pinned", f.pinned)):
            if flag is not None:
                clauses.append(f"{column} = ?")
                params.append(int(flag))
        if f.malformed is not None:
            clauses.append("malformed IS NOT NULL" if f.malformed else "malformed IS NULL")
        if f.replay is not None:
            clauses.append("replay_of IS NOT NULL" if f.replay else "replay_of IS NULL")
        if f.since is not None:
            clauses.append("received_at >= ?")
            params.append(f.since)
        if f.until is not None:
            clauses.append("received_at < ?")
            params.append(f.until)
        if f.ids is not None:
            clauses.append(f"id IN ({_marks(f.ids)})")
            params.extend(f.ids)
        if f.search:
            escaped = f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            if self.fts and "\x00" in f.search:  # FTS5 queries and LIKE stop at a NUL
                clauses.append("body_contains(body, ?)")
                params.append(f.search)
            elif self.fts and len(f.search) >= 3:
                # Index what is pending first (a search is rare and the backlog small), so results do not
                # depend on the indexer's timing; events committed meanwhile are matched with LIKE.
                self.index_pending()
                clauses.append(
                    "(id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"
                    " OR (id > ? AND body_contains(body, ?)))"
                )
                params += ['"' + f.search.replace('"', '""') + '"', self._fts_upto, f.search]
            else:
                clauses.append("CAST(body AS TEXT) LIKE ? ESCAPE '\\'")
                params.append(f"%{escaped}%")
        return (" AND ".join(clauses) or "1"), params


@dataclass
class _Pending:
    row: tuple[Any, ...]
    key: str
    received_at: float
    headers: dict[str, str]  # as stored (redacted)
    verification: Verification
    summary: WebhookSummary | None
    done: bool = False
    result: tuple[StoredEvent, bool] | None = None
    error: BaseException | None = None


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the store's write lock (rollback on error)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self.conn, self.lock = conn, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if not exc_type:
                self.conn.execute("COMMIT")
            elif self.conn.in_transaction:  # SQLite already rolled back after SQLITE_FULL / IOERR
                self.conn.execute("ROLLBACK")
        finally:
            self.lock.release()


_COLUMNS = (
    "id, received_at, peer, method, path, headers, body, verification, malformed, summary, duplicates,"
    " pinned, profile, replay_of, last_seen_at"
)


def _body_contains(body: bytes | str | None, needle: str | None) -> bool:
    """SQL ``body_contains(body, text)``: what the trigram index matches (case-insensitive substring of the
    body decoded like the index decodes it), for the few events not indexed yet."""
    if body is None or not needle:
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return needle.casefold() in text.casefold()


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _dataclass_json(obj: Any) -> str:
    """``json.dumps(obj.to_dict())`` for the flat dataclasses stored per event (Verification, WebhookSummary),
    without ``dataclasses.asdict``'s recursive deep copy (~50 us each, twice per request). Falls back to the
    object's own ``to_dict()`` as soon as a field is not a plain scalar."""
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(obj))
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, StrEnum):
            value = str(value)
        elif value is not None and type(value) not in (str, int, float, bool):
            return json.dumps(obj.to_dict())
        data[name] = value
    return json.dumps(data)


def _row_to_event(row: tuple[Any, ...]) -> StoredEvent:
    (eid, received_at, peer, method, path, headers, body, verification, malformed, summary, dups, pinned, profile,
     replay_of, last_seen_at) = row  # fmt: skip
    return StoredEvent(
        id=eid,
        received_at=received_at,
        peer=peer,
        method=method,
        path=path,
        headers=json.loads(headers),
        body=bytes(body),
        verification=Verification.from_dict(json.loads(verification)),
        malformed=malformed,
        summary=WebhookSummary.from_dict(json.loads(summary)) if summary else None,
        duplicates=dups,
        pinned=bool(pinned),
        profile=profile,
        replay_of=replay_of,
        last_seen_at=last_seen_at,
    )


def _marks(values: list[Any]) -> str:
    return ", ".join("?" * len(values)) or "NULL"


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# The event types live in domain/events.py; the store's importers may still name them from here.
__all__ = [
    "REDACTED",
    "REPLAY_HEADER",
    "EventFilter",
    "EventStore",
    "ForwardResult",
    "StoredEvent",
    "VerificationStatus",
    "dedupe_key",
    "event_store_path",
]
