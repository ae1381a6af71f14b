"""Logging: a rotating file in log_dir(), with every record passed through ``redact``.

``redact(text)`` is also what the crash dialog runs over a traceback before showing or copying it.
It masks bearer tokens, Nango secret keys (UUID-shaped or ``sk-``/``nango_sk`` prefixed), connect
session tokens, X-Nango-* signatures, and the values of credential-like fields (access_token,
refresh_token, api_key, secret_key, password, client_secret, signing key...) in JSON, query strings
and ``key=value`` text.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from nango_desktop import paths

LOG_FILE = "nango-desktop.log"
MASK = "[REDACTED]"
_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

_SENSITIVE_FIELDS = (
    r"access_token|refresh_token|id_token|session_token|token|api_key|apikey|api_secret|secret_key|secret"
    r"|secretKey|client_secret|password|passwd|private_key|signing_key|webhook_secret|authorization"
    r"|x-nango-hmac-sha256|x-nango-signature|oauth_token_secret|consumer_secret|credentials?"
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer <token> / Basic <b64>
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"), rf"\1 {MASK}"),
    # Connect session tokens and Nango secret keys by shape.
    (re.compile(r"nango_connect_session_[A-Za-z0-9_-]+"), f"nango_connect_session_{MASK}"),
    (re.compile(r"\b(?:nango_sk|sk|nango_secret)[-_][A-Za-z0-9_-]{8,}"), MASK),
    # "field": "value" (JSON, reprs with quotes)
    (
        re.compile(rf"""(?i)(["']?(?:{_SENSITIVE_FIELDS})["']?\s*[:=]\s*)(["'])((?:\\.|(?!\2).)*)\2"""),
        rf"\1\2{MASK}\2",
    ),
    # field=value / field: value without quotes (query strings, headers, key=value logs)
    (
        re.compile(
            rf"(?i)\b((?:{_SENSITIVE_FIELDS})\b\s*[:=]\s*)"
            rf"(?![\"'\[{{(]|(?:bearer|basic)\s|[^\s&,;]*{re.escape(MASK)})[^\s&,;\"'}})\]]+"
        ),
        rf"\1{MASK}",
    ),
    # Bare UUIDs that follow a key-ish word (Nango secret keys are UUIDs); plain connection UUIDs stay.
    (
        re.compile(
            r"(?i)\b((?:key|secret)\w*\W{1,4})[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
        ),
        rf"\1{MASK}",
    ),
    # Hex digests of 64 chars (HMAC-SHA256 / sha256 signatures) anywhere.
    (re.compile(r"\b[0-9a-fA-F]{64}\b"), MASK),
]

_extra_secrets: set[str] = set()


def add_known_secret(value: str | None) -> None:
    """Mask this exact value everywhere from now on (e.g. the API key of the current profile)."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with tokens, keys, signatures and credential values replaced by [REDACTED]."""
    if not text:
        return text
    for secret in sorted(
        {*_extra_secrets, *(s for s in secrets if s and len(s) >= 6)}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


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
