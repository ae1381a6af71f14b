"""Typed errors raised by the Nango client.

Every error carries a short user-facing ``title`` and a technical ``detail`` (HTTP method, path, status,
Nango's error code and message). Neither ever contains a secret: the client builds them from the request
path (never the query string or headers) and from Nango's error body, with known secret shapes redacted.
"""

from __future__ import annotations

import re
from typing import Any

_SECRET_PATTERNS = (
    re.compile(r"nango_connect_session_[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)(bearer\s+)[^\s,;\"']+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|api_key|apikey|secret_key|secret|password|token)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s,;&\"'}]+"
    ),
)
_SCOPE_RE = re.compile(r"\b[a-z_]+(?::[a-z_]+)+\b")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove known secret values and secret-looking fragments from ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _SECRET_PATTERNS[0].sub("[redacted]", text)
    for pattern in _SECRET_PATTERNS[1:]:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class NangoError(Exception):
    """Base class: ``title`` for the user, ``detail`` for the log / expandable details."""

    default_title = "The Nango API request failed"

    def __init__(
        self,
        title: str | None = None,
        detail: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.title = title or self.default_title
        self.detail = detail
        self.status = status
        self.code = code
        super().__init__(self.title, detail)

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}" if self.detail else self.title

    def __repr__(self) -> str:
        return f"{type(self).__name__}(title={self.title!r}, status={self.status!r}, code={self.code!r})"


class InvalidKeyError(NangoError):
    default_title = "The API key was rejected"


class MissingScopeError(NangoError):
    default_title = "The API key lacks a required permission"

    def __init__(self, title: str | None = None, detail: str = "", *, scope: str | None = None, **kw: Any):
        self.scope = scope
        if title is None and scope:
            title = f"The API key lacks the “{scope}” scope"
        super().__init__(title, detail, **kw)


class NotFoundError(NangoError):
    default_title = "Not found (it may have been deleted)"


class BadRequestError(NangoError):
    default_title = "Nango rejected the request"

    def __init__(self, title: str | None = None, detail: str = "", *, errors: list | None = None, **kw: Any):
        self.errors = errors or []
        super().__init__(title, detail, **kw)


class ConflictError(NangoError):
    default_title = "The request conflicts with the current state"


class RefreshExhaustedError(NangoError):
    default_title = "The connection's credentials could not be refreshed; the customer must reconnect"


class RateLimitedError(NangoError):
    default_title = "Nango's rate limit was reached; try again shortly"

    def __init__(
        self, title: str | None = None, detail: str = "", *, retry_after: float | None = None, **kw: Any
    ):
        self.retry_after = retry_after
        super().__init__(title, detail, **kw)


class ServerError(NangoError):
    default_title = "The Nango server had an error"


class ApiTimeoutError(NangoError):
    default_title = "The Nango server did not answer in time"


class NetworkError(NangoError):
    default_title = "Cannot reach the Nango server"


class MalformedResponseError(NangoError):
    default_title = "The Nango server sent an unexpected response"


class CancelledError(NangoError):
    default_title = "Cancelled"


def scope_from(message: str | None, payload: Any = None) -> str | None:
    """The missing scope named by a 403 body, if any (``connections:read`` style)."""
    if isinstance(payload, dict):
        for key in (
            "scope",
            "required_scope",
            "missing_scope",
            "scopes",
            "required_scopes",
            "missing_scopes",
        ):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                return ", ".join(value)
    if message:
        match = _SCOPE_RE.search(message)
        if match:
            return match.group(0)
    return None


def error_for_status(
    status: int,
    *,
    method: str,
    path: str,
    code: str | None,
    message: str | None,
    errors: list | None = None,
    payload: Any = None,
    retry_after: float | None = None,
    secrets: tuple[str, ...] = (),
) -> NangoError:
    """Map an HTTP error response to the matching NangoError subclass."""
    parts = [f"{method} {path} -> HTTP {status}"]
    if code:
        parts.append(f"code {code}")
    if message:
        parts.append(message)
    if errors:
        parts.append("; ".join(_format_validation(e) for e in errors[:10]))
    detail = redact(" · ".join(parts), secrets)
    kw: dict[str, Any] = {"status": status, "code": code}
    if status == 401:
        return InvalidKeyError(None, detail, **kw)
    if status == 403:
        return MissingScopeError(None, detail, scope=scope_from(message, payload), **kw)
    if status == 404 or (status == 400 and code == "unknown_connection"):
        return NotFoundError(None, detail, **kw)
    if status == 400 or status == 422:
        title = redact(f"Nango rejected the request: {_shorten(message)}", secrets) if message else None
        return BadRequestError(title, detail, errors=errors, **kw)
    if status == 409:
        return ConflictError(None, detail, **kw)
    if status == 424:
        return RefreshExhaustedError(None, detail, **kw)
    if status == 429:
        return RateLimitedError(None, detail, retry_after=retry_after, **kw)
    if status >= 500:
        return ServerError(None, detail, **kw)
    return NangoError(None, detail, **kw)


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _format_validation(error: Any) -> str:
    if isinstance(error, dict):
        where = error.get("path")
        if isinstance(where, list):
            where = ".".join(str(p) for p in where)
        msg = error.get("message") or error.get("code") or ""
        return f"{where}: {msg}" if where else str(msg)
    return str(error)
