"""Logging: a rotating file in log_dir(), with every record passed through ``redact``.

``redact`` is :func:`nango_desktop.redaction.redact` (the one place that decides what is secret): it masks
registered keys and their encodings, bearer tokens, Nango secret keys and connect session tokens, X-Nango-*
signatures, and the values of credential-like fields in JSON, query strings and ``key=value`` text.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from nango_desktop import paths, redaction

LOG_FILE = "nango-desktop.log"
MASK = redaction.MASK
_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def add_known_secret(value: str | None) -> None:
    """Mask this value (and its encodings) everywhere from now on: see :mod:`nango_desktop.redaction`."""
    redaction.register(value)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with tokens, keys, signatures and credential values replaced by [REDACTED]."""
    return redaction.redact(text, secrets)


class RedactingFilter(logging.Filter):
    """Formats the record's message (and exception text) now, redacted, so no handler sees the raw values."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _RedactingFormatter(logging.Formatter):
    """Belt and braces: redact the final line too (records from handlers added without the filter)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_file() -> Path:
    return paths.log_dir() / LOG_FILE


class _FallbackFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that never crashes or floods the program when it cannot be written (disk full,
    read-only, removed): it says so once on stderr, sends WARNING+ records to stderr meanwhile, and tries the
    file again every ``RETRY_SECONDS`` (writing resumes by itself when space comes back)."""

    RETRY_SECONDS = 30.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failing_since: float | None = None
        self._retry_at = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        if self.failing_since is not None and time.monotonic() < self._retry_at:
            self._to_stderr(record)
            return
        super().emit(record)  # failures come back through handleError
        if self.failing_since is not None and self.stream is not None and not self._failed_now:
            self.failing_since = None
            _stderr_line(f"nango-desktop: the log file {self.baseFilename} is writable again")
        self._failed_now = False

    _failed_now = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's API
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        from nango_desktop.store.diskerrors import classify

        problem = classify(exc, self.baseFilename)
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            why = str(problem) if problem else f"{type(exc).__name__}: {exc}"
            _stderr_line(f"nango-desktop: cannot write the log file: {why}; logging to stderr meanwhile")
        self._failed_now = True
        self._retry_at = time.monotonic() + self.RETRY_SECONDS
        try:
            if self.stream is not None:
                self.stream.close()
        except OSError:
            pass
        self.stream = None  # reopened on the next try
        self._to_stderr(record)

    def _to_stderr(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            _stderr_line(self.format(record))


def _stderr_line(text: str) -> None:
    try:
        sys.stderr.write(redact(text) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def setup_logging(
    level: int | str = logging.INFO,
    *,
    console: bool = False,
    max_bytes: int = 2_000_000,
    backup_count: int = 5,
) -> Path:
    """Install the rotating file handler (and optionally stderr) on the root logger; return the log path.

    Idempotent: calling it again replaces the handlers it installed before.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_nango_desktop", False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    try:
        path = log_file()
        handlers.append(
            _FallbackFileHandler(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        )
    except OSError as exc:  # read-only or full home: run anyway, warnings and errors on stderr
        from nango_desktop.store.diskerrors import classify

        path = Path(exc.filename) if exc.filename else Path(LOG_FILE)
        problem = classify(exc)
        why = str(problem) if problem else f"{type(exc).__name__}: {exc}"
        _stderr_line(f"nango-desktop: logging to stderr only: {why}")
        if not console:
            fallback = logging.StreamHandler(sys.stderr)
            fallback.setLevel(logging.WARNING)
            handlers.append(fallback)
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler._nango_desktop = True  # type: ignore[attr-defined]
        handler.addFilter(RedactingFilter())
        handler.setFormatter(_RedactingFormatter(_FORMAT))
        root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # httpx logs every request line at INFO; its URLs may carry tokens in query strings (redacted anyway).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return path
