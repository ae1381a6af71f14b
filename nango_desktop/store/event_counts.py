"""Webhook events per minute, type and success, read from a profile's event store file for the Overview's chart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nango_desktop.domain.overview import EventBuckets


def read_event_counts(store_path: Path | str, since: float) -> tuple[EventBuckets, int]:
    """Count the stored events received since ``since`` per minute, type and success (worker thread).

    One GROUP BY over a read-only connection to the EventStore's SQLite file (WAL: concurrent with the
    listener's writes). Returns the buckets and the highest event id they include (``last_id``), so live
    events already counted can be skipped.
    """
    buckets = EventBuckets()
    path = Path(store_path)
    if not path.exists():
        return buckets, 0
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10.0)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        (last_id,) = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        rows = conn.execute(
            "SELECT CAST(received_at / 60 AS INTEGER), type, success, COUNT(*) FROM events"
            " WHERE received_at >= ? AND id <= ? GROUP BY 1, 2, 3",
            (since, last_id),
        ).fetchall()
    finally:
        conn.close()
    for minute, type_, success, n in rows:
        buckets.add(minute * 60, type_, None if success is None else bool(success), n)
    buckets.last_id = last_id
    return buckets, last_id
