"""A short per-profile history of workbench runs (action runs and proxy requests), SQLite.

Each row keeps what the user sent (action input / proxy method, path, query, headers and body), how long it
took and how it ended. Never a credential: the API key is not part of a request here, provider headers whose
name looks secret (Authorization, tokens, cookies, keys) are masked, and so are input values under
secret-looking keys. At most ``keep`` rows per profile and kind are kept (oldest dropped).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nango_desktop.paths import data_dir

WORKBENCH_DB = "workbench.sqlite3"
DEFAULT_KEEP = 50
MASK = "••••••••"
RunKind = Literal["action", "proxy"]
_SECRET_NAME = re.compile(
    r"(?i)authorization|token|secret|password|passwd|api[-_]?key|cookie|session|credential|private"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    integration_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    name TEXT NOT NULL,
    request TEXT NOT NULL,
    duration REAL NOT NULL,
    ok INTEGER NOT NULL,
    status INTEGER,
    summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_profile_kind ON runs(profile, kind, created_at DESC);
"""


@dataclass(frozen=True)
class RunRecord:
    id: int
    profile: str
    kind: str
    created_at: float
    integration_id: str
    connection_id: str
    name: str  # the action name, or "METHOD /path" for the proxy
    request: Any  # action input, or {method, path, query, headers, body, retries, base_url_override}
    duration: float
    ok: bool
    status: int | None
    summary: str  # the error title (with its log id) or a short result description


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys (and header pairs) masked."""
    if isinstance(value, dict):
        return {k: (MASK if _SECRET_NAME.search(str(k)) else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if (
            len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], str)
            and _SECRET_NAME.search(value[0])
        ):
            return [value[0], MASK]
        return [mask_secrets(v) for v in value]
    return value


class WorkbenchHistory:
    """Thread-safe; one file for every profile (rows carry the profile name)."""

    def __init__(
        self, path: Path | None = None, *, keep: int = DEFAULT_KEEP, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path) if path is not None else data_dir() / WORKBENCH_DB
        self.keep = keep
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(
        self,
        profile: str,
        kind: RunKind,
        *,
        integration_id: str,
        connection_id: str,
        name: str,
        request: Any,
        duration: float,
        ok: bool,
        status: int | None = None,
        summary: str = "",
    ) -> RunRecord:
        text = json.dumps(mask_secrets(request), ensure_ascii=False, default=str)
        now = self._clock()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO runs (profile, kind, created_at, integration_id, connection_id, name, request,"
                " duration, ok, status, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    profile,
                    kind,
                    now,
                    integration_id,
                    connection_id,
                    name,
                    text,
                    duration,
                    int(ok),
                    status,
                    summary,
                ),
            )
            self._db.execute(
                "DELETE FROM runs WHERE profile = ? AND kind = ? AND id NOT IN (SELECT id FROM runs WHERE"
                " profile = ? AND kind = ? ORDER BY created_at DESC, id DESC LIMIT ?)",
                (profile, kind, profile, kind, self.keep),
            )
            row_id = cur.lastrowid
        return RunRecord(
            row_id or 0, profile, kind, now, integration_id, connection_id, name, json.loads(text),
            duration, ok, status, summary,
        )  # fmt: skip

    def recent(self, profile: str, kind: RunKind, *, limit: int | None = None) -> list[RunRecord]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, profile, kind, created_at, integration_id, connection_id, name, request, duration,"
                " ok, status, summary FROM runs WHERE profile = ? AND kind = ?"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (profile, kind, limit or self.keep),
            ).fetchall()
        return [
            RunRecord(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], bool(r[9]), r[10], r[11]
            )
            for r in rows
        ]

    def clear(self, profile: str, kind: RunKind | None = None) -> None:
        with self._lock:
            if kind is None:
                self._db.execute("DELETE FROM runs WHERE profile = ?", (profile,))
            else:
                self._db.execute("DELETE FROM runs WHERE profile = ? AND kind = ?", (profile, kind))
