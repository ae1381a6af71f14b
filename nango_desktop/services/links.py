"""Connect and reconnect links: the local history, the link URL, completion matching, bulk generation.

Qt-free. A connect session token is a bearer secret (whoever holds it can connect an account for the
end user). The history (:class:`LinkStore`, SQLite in ``data_dir()/links.sqlite3``) therefore stores the
link with the ``session_token`` query value removed; the live token is kept by
:class:`nango_desktop.store.tokens.SessionTokens` while the link is alive.
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from nango_desktop.domain import tags as tags_rules
from nango_desktop.domain.links import (
    SESSION_TTL_SECONDS,
    TOKEN_PARAM,
    LinkKind,
    LinkRecord,
    LinkStatus,
    replace_query,
    strip_token,
)
from nango_desktop.domain.tags import customer_of
from nango_desktop.services.errors import CancelledError, NangoError, NotFoundError, RateLimitedError
from nango_desktop.store.links import LinkStore

if TYPE_CHECKING:
    from nango_desktop.settings import Profile
    from nango_desktop.store.tokens import SessionTokens

log = logging.getLogger(__name__)

DEFAULT_CONNECT_UI_URL = "https://connect.nango.dev"
AUTH_OPERATIONS = frozenset({"creation", "override"})


def _secret(value: Any) -> str:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def build_connect_link(session: Any, profile: Profile) -> str:
    """The link to hand to the customer for ``session`` (a ConnectSession).

    Uses Nango's ``connect_link`` (``<connect-ui>?session_token=...``), or builds it from the profile's
    Connect UI URL when the server does not return one. For a self-hosted profile the Connect UI must be
    told which API to use: ``&apiURL=<api base url>`` is appended, as Nango's own dashboard does.
    """
    token = _secret(session.token)
    link = getattr(session, "connect_link", None)
    if not link:
        base = profile.connect_ui_url or DEFAULT_CONNECT_UI_URL
        link = f"{base.rstrip('/')}/?{urlencode({TOKEN_PARAM: token})}"
    if profile.is_self_hosted:
        api_url = profile.api_url.rstrip("/")
        link = replace_query(link, lambda q: [(k, v) for k, v in q if k != "apiURL"] + [("apiURL", api_url)])
    return link


build_link_url = build_connect_link  # the name ARCHITECTURE.md's layout section uses


def expiry_epoch(value: Any) -> float:
    """``expires_at`` (datetime or ISO string) as epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return time.time() + SESSION_TTL_SECONDS


def match_event(summary: Any, links: Iterable[LinkRecord]) -> list[LinkRecord]:
    """Pending links an auth webhook (creation/override, success or failure) completes, newest first.

    A reconnect link matches on connection id (and integration); a new-connection link matches on the
    end user id (``tags.end_user_id`` or ``endUser.endUserId``) and an allowed integration.
    """
    if str(getattr(summary, "type", None) or getattr(summary, "kind", "")) != "auth":
        return []
    if getattr(summary, "operation", None) not in AUTH_OPERATIONS:
        return []
    integration = getattr(summary, "integration", None)
    connection_id = getattr(summary, "connection_id", None)
    end_user_id = getattr(summary, "end_user_id", None)
    matches = []
    for link in links:
        if link.status is not LinkStatus.PENDING:
            continue
        if link.integration_ids and integration not in link.integration_ids:
            continue
        if link.kind == "reconnect":
            ok = connection_id is not None and link.connection_id == connection_id
        else:
            ok = end_user_id is not None and link.end_user_id == end_user_id
        if ok:
            matches.append(link)
    matches.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    return matches


def outcome_of(summary: Any) -> tuple[LinkStatus, str]:
    """The status and detail a matching auth webhook gives a link."""
    integration = getattr(summary, "integration", None) or "?"
    connection_id = getattr(summary, "connection_id", None) or "?"
    if getattr(summary, "success", None) is False:
        error = getattr(summary, "error", None) or "no detail"
        return LinkStatus.FAILED, f"{integration} {getattr(summary, 'operation', '')} failed: {error}"
    return LinkStatus.COMPLETED, f"Connected {integration} as {connection_id}"


def _epoch_or_none(value: Any) -> float | None:
    try:
        return expiry_epoch(value) if value else None
    except ValueError:
        return None


def poll_link(
    client: Any, record: LinkRecord, memory: dict[int, bool] | None = None
) -> tuple[LinkStatus, str, str | None] | None:
    """Without a listener: ``(status, detail, connection_id)`` when Nango shows the link was used, else None.

    A reconnect link is done when its connection's auth error is gone: the list row carries no update time,
    so ``memory`` (record id -> "had an auth error when first polled", kept by the caller across polls) holds
    the first observation; a reconnect of a connection without an auth error is left to its webhook or its
    expiry. A new-connection link is done when a connection of its
    end user (and allowed integration) was created after it. Reads only the list endpoint
    (``GET /connections?connectionId=``): reading credentials would make Nango refresh the token, answer
    424 and send refresh-failure webhooks while nobody does anything. One API call per link; errors for
    one link do not stop the others.
    """
    try:
        if record.kind == "reconnect" and record.connection_id and record.integration_ids:
            integration = record.integration_ids[0]
            try:
                conn = client.find_connection(record.connection_id, integration)
            except NotFoundError:
                return LinkStatus.FAILED, "The connection no longer exists", None
            memory = {} if memory is None else memory
            had_auth_error = memory.setdefault(record.id, conn.has_auth_error)
            updated = _epoch_or_none(getattr(conn, "updated_at", None))
            changed = had_auth_error or (updated is not None and updated >= record.created_at)
            if changed and not conn.has_auth_error:
                return (
                    LinkStatus.COMPLETED,
                    f"Reconnected {integration} {record.connection_id}",
                    record.connection_id,
                )
            return None
        if record.kind == "new" and record.end_user_id:
            found = client.list_connections(
                tags={tags_rules.END_USER_ID: record.end_user_id},
                integration_ids=record.integration_ids or None,
                limit=100,
            )
            for conn in found:
                created = getattr(conn, "created_at_datetime", None)
                if created is not None and created.timestamp() >= record.created_at:
                    detail = f"Connected {conn.provider_config_key} as {conn.connection_id}"
                    return LinkStatus.COMPLETED, detail, conn.connection_id
    except NangoError as exc:
        log.info("Could not poll link %s: %s", record.id, exc.title)
    return None


# -- session requests -------------------------------------------------------------------------------


@dataclass
class LinkRequest:
    """What the new-link dialog collects; ``session_kwargs()`` gives create_connect_session's arguments."""

    end_user_id: str
    email: str = ""
    display_name: str = ""
    organization_id: str = ""
    organization_name: str = ""
    extra_tags: dict[str, str] = field(default_factory=dict)
    allowed_integrations: list[str] = field(default_factory=list)
    # integration -> connection_config (e.g. {"subdomain": "acme", "oauth_scopes_override": "read"})
    connection_config: dict[str, dict[str, str]] = field(default_factory=dict)
    docs_overrides: dict[str, str] = field(default_factory=dict)  # integration -> docs URL
    webhook_url_override: str = ""

    def tags(self) -> dict[str, str]:
        tags = {k.strip().lower(): v for k, v in self.extra_tags.items() if k.strip()}
        for key, value in (
            (tags_rules.END_USER_ID, self.end_user_id),
            (tags_rules.END_USER_EMAIL, self.email),
            (tags_rules.END_USER_DISPLAY_NAME, self.display_name),
            (tags_rules.ORGANIZATION_ID, self.organization_id),
            (tags_rules.ORGANIZATION_DISPLAY_NAME, self.organization_name),
        ):
            if value.strip():
                tags[key] = value.strip()
        return tags

    def session_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"tags": self.tags()}
        if self.allowed_integrations:
            kwargs["allowed_integrations"] = list(self.allowed_integrations)
        config = {k: {"connection_config": dict(v)} for k, v in self.connection_config.items() if v}
        if config:
            kwargs["integrations_config_defaults"] = config
        docs = {k: {"docs_connect": v} for k, v in self.docs_overrides.items() if v.strip()}
        if docs:
            kwargs["overrides"] = docs
        if self.webhook_url_override.strip():
            kwargs["webhook_url_override"] = self.webhook_url_override.strip()
        return kwargs


@dataclass
class IssuedLink:
    """A link just created: the history record plus the full link (with token) for this run only."""

    record: LinkRecord
    url: str  # contains the session token: show/copy it, never store or log it

    def __repr__(self) -> str:
        return f"IssuedLink(record_id={self.record.id}, url={strip_token(self.url)!r})"


def _connection_tags(connection: Any) -> dict[str, str]:
    return dict(getattr(connection, "tags", None) or {})


class LinkIssuer:
    """Create sessions, record them in the history and keep their tokens. Runs on worker threads."""

    def __init__(
        self, client: Any | Callable[[], Any], store: LinkStore, tokens: SessionTokens, profile: Profile
    ) -> None:
        # ``client`` may be a zero-argument factory (AppContext.client), called on the worker thread.
        self._client, self.store, self.tokens, self.profile = client, store, tokens, profile

    @property
    def client(self) -> Any:
        return self._client() if not hasattr(self._client, "create_connect_session") else self._client

    def _record(self, session: Any, kind: LinkKind, **fields: Any) -> IssuedLink:
        url = build_connect_link(session, self.profile)
        record = self.store.add(
            profile=self.profile.name,
            kind=kind,
            link=url,
            expires_at=expiry_epoch(session.expires_at),
            **fields,
        )
        self.tokens.put(record.id, _secret(session.token), profile=self.profile.name)
        return IssuedLink(record, url)

    def new_link(self, request: LinkRequest) -> IssuedLink:
        session = self.client.create_connect_session(**request.session_kwargs())
        return self._record(
            session,
            "new",
            end_user_id=request.end_user_id.strip(),
            email=request.email.strip() or None,
            display_name=request.display_name.strip() or None,
            organization_id=request.organization_id.strip() or None,
            integration_ids=request.allowed_integrations,
        )

    def reconnect_link(self, connection: Any, *, refresh_tags: bool = True, **session_kw: Any) -> IssuedLink:
        """A reconnect link for ``connection`` sending its CURRENT tags (else Nango wipes them).

        With ``refresh_tags`` the tags are read again from Nango first, from the list endpoint
        (``GET /connections?connectionId=``): never ``GET /connections/{id}``, which refreshes the token and
        answers 424 on exactly the broken connections that need a reconnect link.
        """
        client = self.client
        connection_id, integration_id = connection.connection_id, connection.provider_config_key
        if refresh_tags:
            connection = client.find_connection(connection_id, integration_id)
        tags = _connection_tags(connection)
        kwargs: dict[str, Any] = dict(session_kw)
        if tags:
            kwargs["tags"] = tags
        session = client.create_reconnect_session(connection_id, integration_id, **kwargs)
        customer = customer_of(connection)
        return self._record(
            session,
            "reconnect",
            end_user_id=customer.end_user_id,
            email=customer.email,
            display_name=customer.display_name,
            organization_id=customer.organization_id,
            integration_ids=[integration_id],
            connection_id=connection_id,
        )


# -- bulk -------------------------------------------------------------------------------------------


@dataclass
class BulkItem:
    connection_id: str
    integration_id: str
    end_user_id: str | None
    email: str | None
    link: str | None = field(default=None, repr=False)  # with its token (this run only): never in reprs
    expires_at: float | None = None
    record_id: int | None = None
    error: str | None = None
    record: LinkRecord | None = field(default=None, repr=False)
    customer: str | None = None  # the name people know the customer by (display name > email > id)

    @property
    def state(self) -> str:
        return "ok" if self.link else ("failed" if self.error else "not generated")


def bulk_items(connections: Iterable[Any]) -> list[BulkItem]:
    items = []
    for connection in connections:
        customer = customer_of(connection)
        items.append(
            BulkItem(
                connection.connection_id,
                connection.provider_config_key,
                customer.end_user_id,
                customer.email,
                customer=customer.display_name or customer.customer or None,
            )
        )
    return items


def generate_reconnect_links(
    issuer: LinkIssuer,
    connections: Sequence[Any],
    items: Sequence[BulkItem],
    *,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
    max_rate_limit_waits: int = 20,
    wait: Callable[[threading.Event, float], Any] | None = None,
    refresh_tags: bool = False,
    on_item: Callable[[int, BulkItem], None] | None = None,
) -> list[BulkItem]:
    """Fill ``items`` (from :func:`bulk_items`) with reconnect links, one connection after the other.

    ``on_item(index, copy)`` reports each finished item (from the worker thread). Rate limits: the
    client's RateLimiter paces calls and retries 429s; if it still gives up (RateLimitedError) we wait
    ``retry_after`` (cancellable) and retry the SAME connection, so none is lost. Other errors are
    recorded on the item and the run goes on. Items left when cancelled keep ``link=None`` and
    ``error=None`` ("not generated"): running again generates only those.
    """
    cancel = cancel or threading.Event()
    wait = wait or (lambda event, seconds: event.wait(seconds))
    total = len(items)
    done = sum(1 for i in items if i.link)
    for index, (connection, item) in enumerate(zip(connections, items, strict=True)):
        if item.link:
            continue
        item.error = None
        waits = 0
        while not cancel.is_set():
            try:
                issued = issuer.reconnect_link(connection, refresh_tags=refresh_tags)
            except RateLimitedError as exc:
                waits += 1
                if waits > max_rate_limit_waits:
                    item.error = exc.title
                    break
                delay = exc.retry_after if exc.retry_after is not None else 5.0
                if progress:
                    progress(done, total, f"Rate limited by Nango; waiting {delay:.0f} s")
                wait(cancel, max(0.0, delay))
            except CancelledError:
                break
            except NangoError as exc:
                item.error = str(exc)
                break
            else:
                item.link, item.expires_at = issued.url, issued.record.expires_at
                item.record_id, item.record = issued.record.id, issued.record
                done += 1
                break
        if on_item and (item.link or item.error):
            on_item(index, replace(item))
        if progress:
            progress(done, total, f"{done} of {total} links generated")
        if cancel.is_set():
            break
    return list(items)


CSV_HEADER = ("end_user", "email", "integration", "connection_id", "link", "expires_at")


def write_csv(items: Iterable[BulkItem], path: Path) -> int:
    """Export generated links (end user, email, integration, connection id, link, expires_at ISO UTC).

    The file contains live links: it is written where the admin chooses, never into our own dirs.
    Returns the number of rows written.
    """
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        for item in items:
            if not item.link:
                continue
            expires = datetime.fromtimestamp(item.expires_at or 0, UTC).isoformat().replace("+00:00", "Z")
            writer.writerow(
                (
                    item.end_user_id or "",
                    item.email or "",
                    item.integration_id,
                    item.connection_id,
                    item.link,
                    expires,
                )
            )
            count += 1
    return count


def message_template(record: LinkRecord, url: str, names: Mapping[str, str] | None = None) -> str:
    """A message the admin can paste to the customer; integrations by their display names (``names``:
    integration id -> display name, e.g. "GitHub" for ``github-prod``) when known, else by id."""
    minutes = max(1, round(record.remaining() / 60))
    greeting = f"Hi {record.display_name}," if record.display_name else "Hi,"
    labels = [(names or {}).get(key) or key for key in record.integration_ids]
    what = (
        f"reconnect your {labels[0]} account"
        if record.kind == "reconnect" and labels
        else "connect your account" + (f" ({', '.join(labels)})" if labels else "")
    )
    expires = datetime.fromtimestamp(record.expires_at, UTC).strftime("%H:%M UTC")
    return (
        f"{greeting}\n\nPlease use this secure link to {what}:\n{url}\n\n"
        f"The link is valid for about {minutes} minutes (until {expires}) and can only be used by you. "
        "If it has expired, just ask us for a new one.\n"
    )
