"""Token refresh on ``GET /connections/{id}`` as the real Nango server does it (NOTES.md, "second look").

Reading a connection's credentials refreshes an expired OAuth token (or any token with ``force_refresh``).
When the provider rejects the refresh (``FakeNango.fail_refresh``):

- the failing attempt answers 424 ``invalid_credentials`` with Nango's refresh error (neither the back-off
  nor the exhausted message: clients must say what Nango said), records an auth error with a log id and
  sends the refresh-failure auth webhook, byte-identical each time (Nango's webhooks carry no id or time);
- for ``BACKOFF_SECONDS`` after it, reads answer 424 "A recent refresh attempt failed. Backing off before
  retrying." without trying again (no webhook);
- after ``max_failures`` failed attempts the connection is exhausted: every read answers 424 "The refresh
  limit has been reached for this connection." until the customer reconnects.

Every 424 carries the connection in ``error.payload.connection``. A key without ``read_credentials`` never
triggers a refresh (the server does not touch credentials then).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

BACKOFF_MESSAGE = "A recent refresh attempt failed. Backing off before retrying."
EXHAUSTED_MESSAGE = "The refresh limit has been reached for this connection."
# Nango's message when the provider rejects the refresh token (the attempt itself)
REFRESH_FAILED_MESSAGE = (
    "The external API returned an error when trying to refresh the access token. Please try again later."
)
BACKOFF_SECONDS = 30.0
MAX_FAILURES = 3


class RefreshModel:
    """The refresh state of a FakeNango's connections (private ``_refresh_*`` keys on the stored dicts)."""

    def __init__(self, clock: Callable[[], float], *, max_failures: int = MAX_FAILURES) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.backoff_seconds = BACKOFF_SECONDS
        # called with each refresh-failure webhook body (a dict); FakeNango sends it through its sender
        self.on_webhook: Callable[[dict], None] | None = None

    def read(self, conn: dict, *, force: bool) -> tuple[str, str] | None:
        """Called (under the server lock) before a credentials read. None: go on (refreshed if needed);
        else ``(message, kind)`` for a 424 invalid_credentials answer."""
        if conn.get("_refresh_exhausted"):
            return EXHAUSTED_MESSAGE, "exhausted"
        now = self.clock()
        until = conn.get("_refresh_backoff_until")
        if until is not None and now < until:
            return BACKOFF_MESSAGE, "backing_off"
        creds = conn.get("credentials") or {}
        expired = _expired(creds, now)
        if not (force or expired):
            return None
        if not conn.get("_refresh_fails"):
            if creds.get("type") == "OAUTH2":
                creds["expires_at"] = _iso(now + 3600)
            return None
        failures = conn.get("_refresh_failures", 0) + 1
        conn["_refresh_failures"] = failures
        conn["_refresh_backoff_until"] = now + self.backoff_seconds
        log_id = f"log-refresh-{conn['id']}"
        conn["errors"] = [e for e in conn.get("errors") or [] if e.get("type") != "auth"] + [
            {"type": "auth", "log_id": log_id}
        ]
        if failures >= self.max_failures:
            conn["_refresh_exhausted"] = True
        if self.on_webhook is not None:
            self.on_webhook(refresh_failure_webhook(conn))
        if failures >= self.max_failures:
            return EXHAUSTED_MESSAGE, "exhausted"
        return REFRESH_FAILED_MESSAGE, "failed"

    @staticmethod
    def reconnected(conn: dict) -> None:
        for key in ("_refresh_exhausted", "_refresh_fails", "_refresh_failures", "_refresh_backoff_until"):
            conn.pop(key, None)


def refresh_failure_webhook(conn: dict, environment: str = "dev") -> dict[str, Any]:
    """The auth webhook Nango sends when a refresh fails: no id, no timestamp (so byte-identical each time)."""
    creds = conn.get("credentials") or {}
    return {
        "authMode": creds.get("type") or "OAUTH2",
        "connectionId": conn["connection_id"],
        "environment": environment,
        "error": {
            "type": "refresh_token_external_error",
            "description": REFRESH_FAILED_MESSAGE,
        },
        "from": "nango",
        "operation": "refresh",
        "provider": conn.get("provider") or conn["provider_config_key"],
        "providerConfigKey": conn["provider_config_key"],
        "success": False,
        "type": "auth",
    }


def _expired(creds: dict, now: float) -> bool:
    value = creds.get("expires_at")
    if creds.get("type") != "OAUTH2" or not isinstance(value, str):
        return False
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when.timestamp() <= now


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC) + timedelta(0)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
