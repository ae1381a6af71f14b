"""Logging: a rotating file in log_dir(), with every record passed through ``redact``.

``redact`` is :func:`nango_desktop.redaction.redact` (the one place that decides what is secret): it masks
registered keys and their encodings, bearer tokens, Nango secret keys and connect session tokens, X-Nango-*
signatures, and the values of credential-like fields in JSON, query strings and ``key=value`` text.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
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
    path = log_file()
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
        )
    ]
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
