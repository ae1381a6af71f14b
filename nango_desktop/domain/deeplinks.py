"""Links into Nango's web dashboard ("Open in Nango") and connection errors in words (Qt-free).

URL shapes follow the dashboard's routes (NangoHQ/nango ``packages/webapp/src/App.tsx`` and the logs page):

- a connection:   ``<dashboard>/<env>/connections/<integration id>/<connection id>``
- an integration: ``<dashboard>/<env>/integrations/<integration id>``
- a log operation: ``<dashboard>/<env>/logs?operationId=<log id>`` (the logs page opens that operation)
- the connections list / logs of one connection: ``<dashboard>/<env>/connections``,
  ``<dashboard>/<env>/logs?connections=<connection id>&integrations=<integration id>``

Path segments are percent-encoded (connection ids may hold ``/``, spaces or ``#``). The dashboard base
comes from the profile (``Profile.dashboard_base``: Nango Cloud's ``https://app.nango.dev`` by default, the
self-hosted server otherwise, or what the user typed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode


def _segment(value: str) -> str:
    return quote(str(value), safe="")


@dataclass(frozen=True, slots=True)
class DashboardLinks:
    """Deep links for one environment of one dashboard."""

    base: str  # e.g. https://app.nango.dev (no trailing slash needed)
    environment: str  # e.g. dev, prod

    @classmethod
    def for_profile(cls, profile: Any) -> DashboardLinks:
        return cls(profile.dashboard_base, profile.environment)

    def _root(self) -> str:
        return f"{self.base.rstrip('/')}/{_segment(self.environment)}"

    def connections(self) -> str:
        return f"{self._root()}/connections"

    def connection(self, integration_id: str, connection_id: str) -> str:
        return f"{self._root()}/connections/{_segment(integration_id)}/{_segment(connection_id)}"

    def integration(self, integration_id: str) -> str:
        return f"{self._root()}/integrations/{_segment(integration_id)}"

    def log_operation(self, log_id: str) -> str:
        return f"{self._root()}/logs?{urlencode({'operationId': log_id})}"

    def connection_logs(self, integration_id: str, connection_id: str) -> str:
        query = urlencode({"connections": connection_id, "integrations": integration_id})
        return f"{self._root()}/logs?{query}"


# -- connection errors in words ------------------------------------------------------------------------------
ERROR_TITLES = {"auth": "Authorization error", "sync": "Sync error"}
ERROR_SENTENCES = {
    "auth": (
        "Nango could not refresh or use this connection's credentials (revoked access, expired refresh "
        "token or changed password). The customer has to reconnect; a reconnect link fixes it."
    ),
    "sync": (
        "The last run of a sync of this connection failed. The credentials may still work: the log tells "
        "whether the provider refused a request or the sync script failed."
    ),
}


@dataclass(frozen=True, slots=True)
class ErrorDescription:
    kind: str  # Nango's error type ("auth", "sync", or a newer one)
    title: str  # "Authorization error"
    sentence: str  # what it means and what to do
    log_id: str | None

    @property
    def text(self) -> str:
        """One line for lists and clipboards: title, sentence and log id."""
        log = f" Log id: {self.log_id}." if self.log_id else " No log id."
        return f"{self.title}: {self.sentence}{log}"


def describe_error(error: Any) -> ErrorDescription:
    """``ConnectionErrorInfo`` (``type``, ``log_id``) -> its meaning in words."""
    kind = str(getattr(error, "type", "") or "unknown")
    title = ERROR_TITLES.get(kind, f"{kind.replace('_', ' ').capitalize()} error")
    sentence = ERROR_SENTENCES.get(
        kind, f"Nango reported an error of type “{kind}”; its log has the details."
    )
    return ErrorDescription(kind, title, sentence, getattr(error, "log_id", None) or None)
