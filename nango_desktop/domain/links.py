"""Link history records and link URLs (session token in or out): pure data, no I/O."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SESSION_TTL_SECONDS = 30 * 60  # fixed by Nango
TOKEN_PARAM = "session_token"  # noqa: S105 - the query parameter name


class LinkStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def is_final(self) -> bool:
        return self is not LinkStatus.PENDING


LinkKind = Literal["new", "reconnect"]


@dataclass
class LinkRecord:
    id: int
    profile: str
    kind: LinkKind
    created_at: float
    expires_at: float
    end_user_id: str | None
    email: str | None
    organization_id: str | None
    integration_ids: list[str]
    connection_id: str | None
    link: str  # WITHOUT the session token (see with_token)
    status: LinkStatus
    status_detail: str | None
    created_by: str
    display_name: str | None = None
    updated_at: float = 0.0

    def remaining(self, now: float | None = None) -> float:
        """Seconds until expiry (0 when expired)."""
        return max(0.0, self.expires_at - (time.time() if now is None else now))

    def is_alive(self, now: float | None = None) -> bool:
        """Pending and not expired: the customer can still use the link."""
        return self.status is LinkStatus.PENDING and self.remaining(now) > 0

    @property
    def integration_label(self) -> str:
        return ", ".join(self.integration_ids) if self.integration_ids else "any"

    @property
    def customer(self) -> str:
        return self.display_name or self.email or self.end_user_id or self.connection_id or ""


# -- link URLs --------------------------------------------------------------------------------------


def replace_query(link: str, transform: Callable[[list[tuple[str, str]]], list[tuple[str, str]]]) -> str:
    parts = urlsplit(link)
    query = transform(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit(parts._replace(query=urlencode(query)))


def strip_token(link: str) -> str:
    """The link with its ``session_token`` parameter removed: safe to store and log."""
    return replace_query(link, lambda q: [(k, v) for k, v in q if k != TOKEN_PARAM])


def with_token(link: str, token: str) -> str:
    """Put ``token`` back into a stripped link (the session token goes first, as Nango builds it)."""
    return replace_query(link, lambda q: [(TOKEN_PARAM, token)] + [(k, v) for k, v in q if k != TOKEN_PARAM])


def token_of(link: str) -> str | None:
    return dict(parse_qsl(urlsplit(link).query)).get(TOKEN_PARAM)


def unreachable_api_warning(api_url: str, self_hosted: bool = True) -> str | None:
    """Why a customer may not be able to use a link of this profile, or None.

    For a self-hosted profile the link carries ``apiURL=<api url>``: the Connect UI in the *customer's*
    browser calls that address. A loopback host (localhost, 127.x, ::1) only exists on this computer; a
    private address only inside its network.
    """
    if not self_hosted:
        return None
    host = (urlsplit(api_url).hostname or "").lower()
    if not host:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        loopback, private = True, False
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        loopback = address.is_loopback or address.is_unspecified
        private = address.is_private and not loopback
    if loopback:
        return (
            f"This profile's API is {api_url}, a loopback address: the link tells the customer's browser to "
            "call it, which only works on this computer. Use a link only for a test here, or give the "
            "profile an address the customer can reach."
        )
    if private:
        return (
            f"This profile's API is {api_url}, a private address: the link only works for customers inside "
            "that network."
        )
    return None
