"""Typed errors raised by the Nango client.

Every error carries a short user-facing ``title`` and a technical ``detail`` (HTTP method, path, status,
Nango's error code and message). Neither ever contains a secret: the client builds them from the request
path (never the query string or headers) and from Nango's error body, with known secret shapes redacted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from nango_desktop import redaction

_SCOPE_RE = re.compile(r"\b[a-z_]+(?::[a-z_]+)+\b")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secret values (and their encodings) and secret-looking fragments from ``text``."""
    return redaction.redact(text, secrets)


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


BACKING_OFF_MESSAGE = "A recent refresh attempt failed. Backing off before retrying."
EXHAUSTED_MESSAGE_PREFIX = "The refresh limit has been reached"
# Nango backs off for about 30 s after any failed refresh (NOTES.md, "second look").
BACKOFF_SECONDS = 30


class RefreshState(StrEnum):
    """Why Nango answered 424 when asked for a connection's credentials."""

    BACKING_OFF = "backing_off"  # a refresh failed recently: wait, then retry
    EXHAUSTED = "exhausted"  # the refresh limit is reached: the customer must reconnect
    OTHER = "other"  # anything else: say what Nango said


def refresh_state_of(message: str | None) -> RefreshState:
    text = (message or "").strip()
    if text.startswith("A recent refresh attempt failed") or "backing off" in text.lower():
        return RefreshState.BACKING_OFF
    if text.startswith(EXHAUSTED_MESSAGE_PREFIX):
        return RefreshState.EXHAUSTED
    return RefreshState.OTHER


class RefreshFailedError(NangoError):
    """424 from a credentials read: Nango could not refresh the connection's credentials.

    ``state`` tells a temporary back-off from an exhausted refresh; ``nango_message`` is Nango's own words;
    ``connection`` is ``error.payload.connection`` (tags, errors, log ids) when Nango sent it, else None.
    """

    default_title = "Nango could not refresh the connection's credentials"

    def __init__(
        self,
        title: str | None = None,
        detail: str = "",
        *,
        nango_message: str | None = None,
        connection: dict | None = None,
        **kw: Any,
    ) -> None:
        self.nango_message = nango_message or ""
        self.state = refresh_state_of(nango_message)
        self.connection = connection
        super().__init__(title or self._title(), detail, **kw)

    def _title(self) -> str:
        if self.state is RefreshState.BACKING_OFF:
            return "A recent refresh of the credentials failed; Nango is backing off before retrying"
        if self.state is RefreshState.EXHAUSTED:
            return "The connection's refresh limit is reached; the customer must reconnect"
        said = _shorten(self.nango_message, 200) if self.nango_message else "no message"
        return f"Nango could not refresh the credentials: {said}"

    @property
    def advice(self) -> str:
        """What to do about it, in one sentence."""
        if self.state is RefreshState.BACKING_OFF:
            return (
                f"Wait about {BACKOFF_SECONDS}\u00a0s and retry (Nango retries the refresh only after its back-off); "
                "the customer does not need to reconnect yet."
            )
        if self.state is RefreshState.EXHAUSTED:
            return "Send the customer a reconnect link; retrying will not help."
        return "Retry later; if it keeps failing, send the customer a reconnect link."

    @property
    def banner(self) -> str:
        """One line for the connection detail's banner: the state in words, then what to do."""
        if self.state is RefreshState.BACKING_OFF:
            head = "Backing off — a recent refresh of the credentials failed; Nango waits before retrying."
        elif self.state is RefreshState.EXHAUSTED:
            head = "Refresh exhausted — Nango can no longer refresh this connection's credentials."
        else:
            head = (
                f"Credentials not refreshed — Nango said: “{_shorten(self.nango_message or 'nothing', 200)}”"
            )
        return f"{head} {self.advice}"


class RefreshBackingOffError(RefreshFailedError):
    """424 "A recent refresh attempt failed. Backing off before retrying." (temporary)."""


class RefreshExhaustedError(RefreshFailedError):
    """424 "The refresh limit has been reached for this connection." (the customer must reconnect)."""


class RateLimitedError(NangoError):
    default_title = "Nango's rate limit was reached; try again shortly"

    def __init__(
        self,
        title: str | None = None,
        detail: str = "",
        *,
        retry_after: float | None = None,
        now: float | None = None,
        **kw: Any,
    ):
        self.retry_after = retry_after
        if title is None and retry_after is not None:
            title = f"Nango's rate limit was reached; {retry_when(retry_after, now=now)}"
        super().__init__(title, detail, **kw)


def _span(seconds: float) -> str:
    """``2 h 47 min``, ``12 min``, ``45 s``, ``3 d 4 h``: a human span, rounded up to its last unit."""
    total = max(int(-(-seconds // 1)), 0)
    if total < 60:
        return f"{total} s"
    minutes = -(-total // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def retry_when(retry_after: float, *, now: float | None = None) -> str:
    """How long a ``Retry-After`` asks to wait, for the user: short waits say "shortly", long ones say when.

    ``try again in 2 h 47 min, at 14:03 UTC`` (the date is added when it is not today, UTC).
    """
    import time as _time
    from datetime import UTC, datetime

    if retry_after < 60:
        return "try again shortly" if retry_after < 10 else f"try again in {_span(retry_after)}"
    current = _time.time() if now is None else now
    at = datetime.fromtimestamp(current + retry_after, UTC)
    today = datetime.fromtimestamp(current, UTC).date()
    when = at.strftime("%H:%M UTC") if at.date() == today else at.strftime("%Y-%m-%d %H:%M UTC")
    return f"try again in {_span(retry_after)}, at {when}"


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
        connection = payload.get("connection") if isinstance(payload, dict) else None
        state = refresh_state_of(message)
        cls = {
            RefreshState.BACKING_OFF: RefreshBackingOffError,
            RefreshState.EXHAUSTED: RefreshExhaustedError,
        }.get(state, RefreshFailedError)
        return cls(
            None,
            detail,
            nango_message=redact(message or "", secrets),
            connection=connection if isinstance(connection, dict) else None,
            **kw,
        )
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
