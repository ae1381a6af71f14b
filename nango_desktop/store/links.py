"""The history of issued links (SQLite, WAL): one row per link, never its session token."""

from __future__ import annotations

import builtins
import getpass
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nango_desktop.domain.links import LinkKind, LinkRecord, LinkStatus, strip_token
from nango_desktop.paths import data_dir
from nango_desktop.store.diskerrors import raising_disk_errors

LINKS_DB = "links.sqlite3"


def current_os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (containers, services)
        return "unknown"


# -- history ----------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    end_user_id TEXT,
    email TEXT,
    display_name TEXT,
    organization_id TEXT,
    integration_ids TEXT NOT NULL DEFAULT '[]',
    connection_id TEXT,
    link TEXT NOT NULL,
    status TEXT NOT NULL,
    status_detail TEXT,
    created_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_profile_created ON links(profile, created_at DESC);
CREATE INDEX IF NOT EXISTS links_status ON links(status);
"""
_COLUMNS = (
    "id, profile, kind, created_at, expires_at, end_user_id, email, organization_id, integration_ids, "
    "connection_id, link, status, status_detail, created_by, display_name, updated_at"
)


def _row_to_record(row: Sequence[Any]) -> LinkRecord:
    values = list(row)
    values[8] = json.loads(values[8] or "[]")
    values[11] = LinkStatus(values[11])
    return LinkRecord(*values)


class LinkStore:
    """History of issued links (SQLite, WAL). Thread-safe; never stores session tokens."""

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else data_dir() / LINKS_DB
        self._clock = clock
        self._lock = threading.Lock()
        with raising_disk_errors(self.path):
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"LinkStore({str(self.path)!r})"

    def close(self) -> None:
        with self._lock, raising_disk_errors(self.path):  # "Disk full at PATH", not a raw error
            self._db.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[LinkRecord]:
        with self._lock, raising_disk_errors(self.path):
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM links {sql}", params).fetchall()  # noqa: S608
        return [_row_to_record(r) for r in rows]

    def add(
        self,
        *,
        profile: str,
        kind: LinkKind,
        link: str,
        expires_at: float,
        end_user_id: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        organization_id: str | None = None,
        integration_ids: Sequence[str] = (),
        connection_id: str | None = None,
        created_by: str | None = None,
        created_at: float | None = None,
    ) -> LinkRecord:
        now = self._clock() if created_at is None else created_at
        params = (
            profile, kind, now, now, float(expires_at), end_user_id, email, display_name, organization_id,
            json.dumps(list(integration_ids)), connection_id, strip_token(link), LinkStatus.PENDING.value,
            created_by or current_os_user(),
        )  # fmt: skip
        with self._lock, raising_disk_errors(self.path):
            cursor = self._db.execute(
                "INSERT INTO links (profile, kind, created_at, updated_at, expires_at, end_user_id, email, "
                "display_name, organization_id, integration_ids, connection_id, link, status, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )
            new_id = cursor.lastrowid
        record = self.get(int(new_id or 0))
        assert record is not None
        return record

    def get(self, link_id: int) -> LinkRecord | None:
        found = self._query("WHERE id = ?", (link_id,))
        return found[0] if found else None

    def list(
        self,
        profile: str | None = None,
        *,
        status: LinkStatus | str | None = None,
        text: str | None = None,
        limit: int = 5000,
    ) -> list[LinkRecord]:
        """Newest first. ``text`` matches end user, email, name, organization, integration, connection, author."""
        where, params = [], []
        if profile is not None:
            where.append("profile = ?")
            params.append(profile)
        if status:
            where.append("status = ?")
            params.append(str(status))
        if text:
            escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            cols = (
                "end_user_id",
                "email",
                "display_name",
                "organization_id",
                "integration_ids",
                "connection_id",
            )
            where.append(
                "("
                + " OR ".join(f"lower(coalesce({c}, '')) LIKE ? ESCAPE '\\'" for c in (*cols, "created_by"))
                + ")"
            )
            params.extend([like] * (len(cols) + 1))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._query(f"{clause} ORDER BY created_at DESC, id DESC LIMIT ?", [*params, limit])

    def pending(self, profile: str | None = None) -> builtins.list[LinkRecord]:
        return self.list(profile, status=LinkStatus.PENDING)

    def set_status(
        self,
        link_id: int,
        status: LinkStatus,
        detail: str | None = None,
        *,
        connection_id: str | None = None,
        only_if_pending: bool = True,
    ) -> LinkRecord | None:
        """Change a link's status; returns the updated record, or None if nothing changed.

        With ``only_if_pending`` (the default) a final status (completed, failed...) is never overwritten.
        """
        sql = (
            "UPDATE links SET status = ?, status_detail = ?, updated_at = ?, "
            "connection_id = coalesce(?, connection_id) WHERE id = ?"
        )
        if only_if_pending:
            sql += " AND status = 'pending'"
        with self._lock, raising_disk_errors(self.path):
            changed = self._db.execute(
                sql, (str(status), detail, self._clock(), connection_id, link_id)
            ).rowcount
        return self.get(link_id) if changed else None

    def expire_due(self, now: float | None = None) -> builtins.list[LinkRecord]:
        """Mark pending links past their expiry as expired; returns them."""
        now = self._clock() if now is None else now
        due = self._query("WHERE status = 'pending' AND expires_at <= ?", (now,))
        updated = [self.set_status(r.id, LinkStatus.EXPIRED, "The link expired unused") for r in due]
        return [r for r in updated if r is not None]


# -- completion tracking ----------------------------------------------------------------------------
