"""Full disk, read-only or locked files: one clear message naming the path and the cause (issues 18 and 19).

:func:`classify` turns an ``sqlite3`` error or an ``OSError`` into a :class:`DiskProblem` (``kind``, the path,
a title such as "Disk full at /home/me/.local/share/nango-desktop/events-dev.db" and what to do), or None
when the error is not about the disk. The listener answers 503 while such a problem lasts (Nango retries)
and reports the problem in its status; the CLI prints the title instead of "Unexpected error"; the log
falls back to stderr. Stdlib only, Qt-free.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FULL, READ_ONLY, LOCKED, DENIED, IO = "full", "read-only", "locked", "denied", "io"

_SQLITE_CODES = {13: FULL, 8: READ_ONLY, 5: LOCKED, 6: LOCKED, 10: IO, 14: DENIED}  # primary result codes
_SQLITE_TEXT = (
    ("database or disk is full", FULL),
    ("readonly database", READ_ONLY),
    ("read-only", READ_ONLY),
    ("database is locked", LOCKED),
    ("table is locked", LOCKED),
    ("schema is locked", LOCKED),
    ("unable to open database file", DENIED),
    ("disk i/o error", IO),
)
_OS_ERRNOS = {
    errno.ENOSPC: FULL,
    errno.EDQUOT: FULL,
    errno.EFBIG: FULL,
    errno.EROFS: READ_ONLY,
    errno.EACCES: DENIED,
    errno.EPERM: DENIED,
    errno.EIO: IO,
}
_ADVICE = {
    FULL: "free some space; writing resumes by itself",
    READ_ONLY: "the file or its file system is read-only; make it writable",
    LOCKED: "another program holds a lock on it (close it, or wait); writing resumes when it is released",
    DENIED: "check the permissions of the file and its folder",
    IO: "the disk reported an I/O error; check the disk",
}


@dataclass(frozen=True)
class DiskProblem:
    kind: str  # FULL | READ_ONLY | LOCKED | DENIED | IO
    path: str
    cause: str  # the system's own words (sqlite or strerror)

    @property
    def title(self) -> str:
        return {
            FULL: f"Disk full at {self.path}",
            READ_ONLY: f"{self.path} is read-only",
            LOCKED: f"{self.path} is locked by another program",
            DENIED: f"Cannot write {self.path} (permission denied or cannot be opened)",
            IO: f"Disk I/O error at {self.path}",
        }[self.kind]

    @property
    def detail(self) -> str:
        return f"{self.cause}; {_ADVICE[self.kind]}"

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}"


class DiskError(OSError):
    """A write failed for a :class:`DiskProblem` (raised by stores that classify their own errors)."""

    def __init__(self, problem: DiskProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem
        self.title, self.detail = problem.title, problem.detail


def classify(exc: BaseException, path: str | Path | None = None) -> DiskProblem | None:
    """The disk problem behind ``exc`` (searching its causes), or None. ``path``: the file written, else the
    one the error names."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskError):
            return current.problem
        kind = _kind(current)
        if kind is not None:
            where = path if path is not None else getattr(current, "filename", None) or "(unknown file)"
            cause = current.strerror if isinstance(current, OSError) and current.strerror else str(current)
            return DiskProblem(kind, str(where), cause)
        current = current.__cause__ or current.__context__
    return None


def _kind(exc: BaseException) -> str | None:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF) in _SQLITE_CODES:
            return _SQLITE_CODES[code & 0xFF]
        text = str(exc).lower()
        return next((kind for needle, kind in _SQLITE_TEXT if needle in text), None)
    if isinstance(exc, OSError) and exc.errno is not None:
        return _OS_ERRNOS.get(exc.errno)
    return None


@contextmanager
def raising_disk_errors(path: str | Path) -> Iterator[None]:
    """Re-raise a disk problem met in the block as :class:`DiskError` naming ``path``; other errors as they are."""
    try:
        yield
    except DiskError:
        raise
    except (sqlite3.Error, OSError) as exc:
        problem = classify(exc, path)
        if problem is None:
            raise
        raise DiskError(problem) from exc


class StorageWatch:
    """The disk problem of one writer while it lasts; ``on_change(text)`` once per change ("" when it ended),
    after logging it. Thread-safe."""

    def __init__(self, on_change: Callable[[str], object] | None = None) -> None:
        self.problem: DiskProblem | None = None
        self._on_change = on_change
        self._lock = threading.Lock()

    def failed(self, exc: BaseException, path: str | Path | None) -> DiskProblem | None:
        """Classify ``exc``; a disk problem becomes the current one (and is returned); others are logged with
        their traceback and give None."""
        problem = classify(exc, path)
        if problem is None:
            log.error("Storing failed (%s): %s", path, exc, exc_info=exc)
        else:
            self._set(problem)
        return problem

    def ok(self) -> None:
        if self.problem is not None:
            self._set(None)

    def _set(self, problem: DiskProblem | None) -> None:
        with self._lock:
            if problem == self.problem:
                return
            self.problem = problem
        if problem is not None:
            log.error("%s; answering 503 so Nango retries", problem)
        else:
            log.warning("The event store is writable again")
        if self._on_change is not None:
            try:
                self._on_change(str(problem) if problem else "")
            except Exception:
                log.exception("storage state callback failed")
