"""Connect-link operations (``session.operations`` style): every link call to the API is a named ``Op``.

Widgets (the New link dialog, the bulk reconnect dialog, the result view) and the ``LinkTracker`` call these;
they never build clients or tasks. The issuer is prepared on the GUI thread from the tracker (profile, link
history, live tokens) and runs on the worker with the session's shared client.

    links.new_link(ctx.session, tracker, request, parent=self).success(self._on_issued).run()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nango_desktop.services.errors import InvalidKeyError
from nango_desktop.services.links import (
    BulkItem,
    IssuedLink,
    LinkIssuer,
    LinkRequest,
    generate_reconnect_links,
    poll_link,
)
from nango_desktop.session.operations import Op, Session

if TYPE_CHECKING:
    from pydantic import SecretStr

    from nango_desktop.domain.links import LinkRecord, LinkStatus
    from nango_desktop.domain.models import ConnectSessionInfo
    from nango_desktop.services.api import NangoClient
    from nango_desktop.session.link_tracker import LinkTracker

PollResult = tuple[int, "LinkStatus", str, "str | None"]


def _issuer(tracker: LinkTracker) -> Callable[[NangoClient], LinkIssuer]:
    """GUI thread: what the issuer needs of the tracker (profile, history, tokens), bound to a client later."""
    profile, store, tokens = tracker.ctx.profile, tracker.store, tracker.tokens

    def make(client: NangoClient) -> LinkIssuer:
        if profile is None:
            raise InvalidKeyError("No profile is configured", "Create a profile with File → New profile.")
        return LinkIssuer(client, store, tokens, profile)

    return make


def new_link(
    session: Session | None, tracker: LinkTracker, request: LinkRequest, *, parent: Any = None
) -> Op[IssuedLink]:
    """POST /connect/sessions for a new customer connection; the link is recorded and its token kept."""
    who = request.end_user_id.strip() or "a customer"
    return _issue(session, tracker, lambda issuer: issuer.new_link(request), f"Create a connect link for {who}", parent)


def reconnect_link(
    session: Session | None, tracker: LinkTracker, connection: Any, *, parent: Any = None
) -> Op[IssuedLink]:
    """POST /connect/sessions/reconnect for one connection, sending its current tags (read again first)."""
    name = f"Create a reconnect link for {connection.connection_id}"
    return _issue(session, tracker, lambda issuer: issuer.reconnect_link(connection), name, parent)


def _issue(
    session: Session | None,
    tracker: LinkTracker,
    call: Callable[[LinkIssuer], IssuedLink],
    name: str,
    parent: Any,
) -> Op[IssuedLink]:
    issuer = _issuer(tracker)
    return Op(session, lambda client: call(issuer(client)), name=name, parent=parent)


def bulk_reconnect(
    session: Session | None,
    tracker: LinkTracker,
    connections: Sequence[Any],
    items: list[BulkItem],
    *,
    on_item: Callable[[int, BulkItem], None],
    parent: Any = None,
) -> Op[list[BulkItem]]:
    """Reconnect links for several connections, one at a time; ``on_item(row, item)`` from the worker as each
    ends (thread-safe: an EventBridge emit), progress as ``(done, total, message)``; Cancel stops after the
    current request and keeps what was generated."""
    issuer = _issuer(tracker)
    connections = list(connections)

    def work(client: NangoClient, progress: Callable[..., None], cancel: threading.Event) -> list[BulkItem]:
        return generate_reconnect_links(
            issuer(client), connections, items, cancel=cancel, progress=progress, on_item=on_item
        )

    return Op(session, work, name=f"Reconnect links for {len(connections)} connections", parent=parent)


def revoke_link(session: Session | None, token: SecretStr, *, parent: Any = None) -> Op[None]:
    """DELETE /connect/session with the link's token: the link stops working at once."""
    return Op(session, lambda client: client.delete_connect_session(token), name="Revoke a link", parent=parent)


def inspect_link(session: Session | None, token: SecretStr, *, parent: Any = None) -> Op[ConnectSessionInfo]:
    """GET /connect/session with the link's token: what Nango knows of the session."""
    return Op(session, lambda client: client.get_connect_session(token), name="Inspect a link", parent=parent)


def poll_links(
    session: Session | None, records: list[LinkRecord], memory: dict[int, bool], *, parent: Any = None
) -> Op[list[PollResult]]:
    """The links of ``records`` that Nango shows as completed (list endpoint only). One poll runs at a time,
    so ``memory`` (reconnect link id -> had an auth error when first polled) is never shared by two threads."""

    def work(client: NangoClient) -> list[PollResult]:
        results: list[PollResult] = []
        for record in records:
            outcome = poll_link(client, record, memory)
            if outcome is not None:
                results.append((record.id, *outcome))
        return results

    return Op(session, work, name=f"Poll {len(records)} connect links", parent=parent)
