"""LinkTracker: the live state of issued links for the GUI (one per AppContext; session layer, no widgets).

- keeps the session tokens of live links (:class:`SessionTokens`, memory and, with a secure keyring,
  the keyring) and drops them when a link stops being alive;
- marks links expired when their 30 minutes are over (a 1 s QTimer over an in-memory list);
- completion tracking: auth webhooks from the local listener (``ctx.listener.eventReceived``) that match
  a pending link complete or fail it, notify the admin and emit ``ctx.connectionChanged``;
- without a running listener it polls Nango instead (QTimer-driven, off-thread calls, a few links per
  tick, skipped while the rate-limit budget is low);
- revoke and inspect, off-thread.

Every API call goes through a named operation of :mod:`nango_desktop.session.links` on the current session.
The tracker outlives sessions, like listeners: the live tokens it holds in memory (without a secure keyring)
must survive a profile switch, and it follows the current profile's pending links on ``profileChanged``.

``tracker_for(ctx)`` returns the context's tracker (a child QObject of the context), creating it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from nango_desktop.domain.links import LinkRecord, LinkStatus, with_token
from nango_desktop.domain.webhooks import is_verified, parse_body, summarize
from nango_desktop.services.errors import InvalidKeyError
from nango_desktop.services.links import IssuedLink, LinkIssuer, match_event, outcome_of
from nango_desktop.session import links as link_ops
from nango_desktop.session.binding import SignalTracker
from nango_desktop.session.operations import list_integrations
from nango_desktop.store.links import LinkStore
from nango_desktop.store.tokens import SessionTokens

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from nango_desktop.services.api import NangoClient
    from nango_desktop.session.listener import ListenerController
    from nango_desktop.session.profile import ProfileSession
    from nango_desktop.settings import Profile

log = logging.getLogger(__name__)

TRACKER_NAME = "linkTracker"


def _keyring_backend(ctx: LinkHost) -> Any | None:
    """The process keyring when the app's SecretStore considers it secure, else None (memory only)."""
    secrets = getattr(ctx, "secrets", None)
    try:
        if secrets is None or not secrets.is_secure:
            return None
        import keyring

        return keyring.get_keyring()
    except Exception:  # noqa: BLE001 - no keyring: memory only
        return None


class LinkHost(Protocol):
    """What the tracker needs of its host (``ui.context.AppContext``; the session layer cannot import the UI)."""

    profile: Profile | None
    session: ProfileSession | None
    secrets: Any
    connectionChanged: SignalInstance
    profileChanged: SignalInstance

    @property
    def link_store(self) -> LinkStore | None: ...
    @property
    def listener(self) -> ListenerController | None: ...
    def notify(self, title: str, message: str) -> None: ...
    def run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any: ...
    def cached_key(self, profile_name: str) -> str | None: ...
    def client(self) -> NangoClient: ...


class LinkTracker(QObject):
    """See the module docstring. ``linkChanged(LinkRecord)`` fires on every new link and status change."""

    linkChanged = Signal(object)
    integrationNamesChanged = Signal()  # integration_names has new display names

    SWEEP_MS = 1000
    POLL_MS = 20_000
    POLL_MAX_MS = 300_000  # polling backs off (doubling) up to 5 min while no pending link changes
    POLL_BATCH = 5
    LOW_BUDGET = 0.2  # skip a poll tick when less than this share of the rate limit remains

    def __init__(
        self,
        ctx: LinkHost,
        *,
        store: LinkStore | None = None,
        tokens: SessionTokens | None = None,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(TRACKER_NAME)
        self.ctx = ctx
        self.clock = clock
        self._own_store = store
        # the keyring (if secure) is found on first need, on a worker: never on the GUI thread at start-up
        self.tokens = tokens if tokens is not None else SessionTokens(resolve=lambda: _keyring_backend(ctx))
        self._pending: dict[int, LinkRecord] = {}
        self.integration_names: dict[str, str] = {}  # integration id -> display name (message templates)
        self._names_task: Any = None
        self._polling = False
        self._poll_cursor = 0
        self._listener: Any = None
        self._bound = SignalTracker()  # connections to the profile's listener, dropped in one call
        self._sweep = QTimer(self)
        self._sweep.setInterval(self.SWEEP_MS)
        self._sweep.timeout.connect(self.sweep)
        self._poll = QTimer(self)
        self._poll.setInterval(self.POLL_MS)
        self._poll_base = self.POLL_MS
        self._poll_memory: dict[int, bool] = {}  # reconnect link id -> had an auth error when first polled
        self._poll.timeout.connect(self.poll)
        if hasattr(ctx, "profileChanged"):
            ctx.profileChanged.connect(self._on_profile_changed)
        self._on_profile_changed(getattr(ctx, "profile", None))

    # -- plumbing -------------------------------------------------------------------------------------
    @property
    def store(self) -> LinkStore:
        store = getattr(self.ctx, "link_store", None) or self._own_store
        if store is None:
            self._own_store = store = LinkStore()
        return store

    @property
    def profile_name(self) -> str | None:
        profile = getattr(self.ctx, "profile", None)
        return profile.name if profile is not None else None

    def issuer(self) -> LinkIssuer:
        """For the current profile (the client is fetched on the worker: keyring reads may block)."""
        if self.ctx.profile is None:
            raise InvalidKeyError("No profile is configured", "Create a profile with File → New profile.")
        return LinkIssuer(self.ctx.client, self.store, self.tokens, self.ctx.profile)

    def remember_integrations(self, integrations: Any) -> None:
        """Display names of the profile's integrations, for messages to customers (GET /integrations)."""
        for integration in integrations:
            name = getattr(integration, "display_name", "") or ""
            if name:
                self.integration_names[integration.unique_key] = name
        self.integrationNamesChanged.emit()

    def fetch_integration_names(self) -> None:
        """Load the display names (off the GUI thread, one request at a time); ``integrationNamesChanged``
        follows. Views connect to that signal (a deleted view is disconnected by Qt, never called)."""
        if self._names_task is not None:
            return
        op = list_integrations(getattr(self.ctx, "session", None), parent=self)
        self._names_task = op.success(self._on_names).failure(self._on_names_failed).run()

    @Slot(object)
    def _on_names(self, integrations: object) -> None:
        self._names_task = None
        self.remember_integrations(integrations)

    @Slot(object)
    def _on_names_failed(self, exc: object) -> None:
        self._names_task = None
        log.debug("Integration names not loaded: %r", exc)

    @Slot(object)
    def _on_profile_changed(self, _profile: object = None) -> None:
        self.integration_names = {}
        self.attach_listener()
        name = self.profile_name
        self._pending = {r.id: r for r in self.store.pending(name)} if name else {}
        self.sweep()
        self._update_timers()
        if self._pending:  # live links of an earlier run: their tokens may be in the keyring (worker)
            self.ctx.run(self._load_tokens, list(self._pending), name)

    def _load_tokens(self, link_ids: list[int], profile: str) -> int:
        """Worker: pull the tokens of live links from the keyring into memory."""
        return sum(1 for link_id in link_ids if self.tokens.get(link_id, profile=profile) is not None)

    def attach_listener(self) -> None:
        """Follow ``ctx.listener`` (rebuilt when the profile changes)."""
        self._listener = getattr(self.ctx, "listener", None)
        self._bound.follow(self._listener, lambda listener: [(listener.eventReceived, self.on_event)])

    def listener_running(self) -> bool:
        self.attach_listener()
        return bool(self._listener is not None and getattr(self._listener, "running", False))

    def _update_timers(self) -> None:
        for timer in (self._sweep, self._poll):
            if self._pending and not timer.isActive():
                timer.start()
            elif not self._pending and timer.isActive():
                timer.stop()

    # -- links ----------------------------------------------------------------------------------------
    def pending(self) -> list[LinkRecord]:
        return list(self._pending.values())

    def add(self, issued: IssuedLink | LinkRecord) -> LinkRecord:
        """Track a link just issued (the worker already stored it and its token)."""
        record = issued.record if isinstance(issued, IssuedLink) else issued
        if record.status is LinkStatus.PENDING and record.profile == self.profile_name:
            self._pending[record.id] = record
            self._update_timers()
        self.linkChanged.emit(record)
        return record

    def url_of(self, record: LinkRecord) -> str | None:
        """The full link (with its token) while the link is alive and its token is known, else None."""
        token = self.tokens.get(record.id)
        if token is None or not record.is_alive(self.clock()):
            return None
        return with_token(record.link, token.get_secret_value())

    def set_status(
        self,
        record_id: int,
        status: LinkStatus,
        detail: str | None = None,
        *,
        connection_id: str | None = None,
        integration_id: str | None = None,
    ) -> LinkRecord | None:
        """Change a pending link's status (no-op when it is no longer pending); notifies on completion."""
        updated = self.store.set_status(record_id, status, detail, connection_id=connection_id)
        if updated is None:
            return None
        self._pending.pop(record_id, None)
        self._drop_token(updated)
        self._update_timers()
        self.linkChanged.emit(updated)
        if status in (LinkStatus.COMPLETED, LinkStatus.FAILED):
            who = updated.customer or "the customer"
            verb = "completed" if status is LinkStatus.COMPLETED else "failed"
            self.ctx.notify(f"Connect link {verb}", f"{who}: {detail or status.value}")
            conn_id = connection_id or updated.connection_id
            integ = integration_id or (updated.integration_ids[0] if updated.integration_ids else "")
            if conn_id and hasattr(self.ctx, "connectionChanged"):
                self.ctx.connectionChanged.emit(conn_id, integ)
        return updated

    def _drop_token(self, record: LinkRecord) -> None:
        self.tokens.forget(record.id)
        self.ctx.run(self.tokens.delete_from_keyring, record.id, record.profile)  # keyring calls may block

    @Slot()
    def sweep(self) -> None:
        """Expire pending links whose time is over."""
        now = self.clock()
        for record in [r for r in self._pending.values() if r.expires_at <= now]:
            self.set_status(record.id, LinkStatus.EXPIRED, "The link expired unused")

    # -- completion: webhooks ----------------------------------------------------------------------------
    @Slot(object, bool)
    def on_event(self, event: Any, duplicate: bool = False) -> None:
        if duplicate or not self._pending:
            return
        if not is_verified(event):
            return  # only a verified webhook may change a link: unsigned, invalid and no-key ones are shown only
        summary = getattr(event, "summary", None)
        if summary is None:
            body, problem = parse_body(getattr(event, "body", b"") or b"")
            if problem:
                return
            summary = summarize(body)
        if str(getattr(event, "profile", "") or self.profile_name) != self.profile_name:
            return
        matches = match_event(summary, self._pending.values())
        if matches:
            status, detail = outcome_of(summary)
            self.set_status(
                matches[0].id,
                status,
                detail,
                connection_id=summary.connection_id,
                integration_id=summary.integration,
            )

    # -- completion: polling ---------------------------------------------------------------------------
    @Slot()
    def poll(self) -> None:
        """Without a running listener, check a few pending links against Nango (off-thread)."""
        if self._polling or not self._pending or self.listener_running():
            return
        info = self._rate_limit_info()
        if (
            info
            and info.limit
            and info.remaining is not None
            and info.remaining < info.limit * self.LOW_BUDGET
        ):
            return
        records = sorted(self._pending.values(), key=lambda r: r.id)
        start = self._poll_cursor % len(records)
        batch = (records[start:] + records[:start])[: self.POLL_BATCH]
        self._poll_cursor = start + len(batch)
        self._polling = True
        op = link_ops.poll_links(self.ctx.session, batch, self._poll_memory, parent=self)
        op.success(self._on_polled).failure(self._on_poll_error).run()

    def poll_every(self, ms: int) -> None:
        """The base polling interval (backs off from there while nothing changes)."""
        self._poll_base = ms
        self._poll.setInterval(ms)

    def _rate_limit_info(self) -> Any:
        """The client's last X-RateLimit-* values, when its key is already in memory (no keyring read here)."""
        profile = self.ctx.profile
        if profile is None or not self.ctx.cached_key(profile.name):
            return None
        try:
            return self.ctx.client().rate_limit
        except Exception:  # noqa: BLE001
            return None

    def _on_polled(self, results: list[tuple[int, LinkStatus, str, str | None]]) -> None:
        self._polling = False
        # back off while nothing changes (each tick costs up to POLL_BATCH list requests), reset on a change
        interval = self._poll.interval()
        self._poll.setInterval(self._poll_base if results else min(interval * 2, self.POLL_MAX_MS))
        for record_id, status, detail, connection_id in results:
            self.set_status(record_id, status, detail, connection_id=connection_id)

    def _on_poll_error(self, exc: BaseException) -> None:
        self._polling = False
        log.info("Polling connect links failed: %s", exc)

    # -- revoke / inspect ------------------------------------------------------------------------------
    def revoke(self, record: LinkRecord, *, on_done: Callable[[], None] | None = None) -> None:
        """DELETE /connect/session with the link's token, then mark it revoked."""
        token = self.tokens.get(record.id)
        if token is None:
            self.set_status(record.id, LinkStatus.REVOKED, "Marked revoked (the session token is gone)")
            if on_done:
                on_done()
            return

        def done(_result: object) -> None:
            self.set_status(record.id, LinkStatus.REVOKED, "Revoked by the admin")
            if on_done:
                on_done()

        link_ops.revoke_link(self.ctx.session, token, parent=self).success(done).run()

    def inspect(
        self, record: LinkRecord, on_done: Callable[[Any], None], on_error: Callable[[BaseException], None]
    ) -> None:
        """GET /connect/session with the link's token; ``on_done(ConnectSessionInfo)``."""
        token = self.tokens.get(record.id)
        if token is None:
            on_error(LookupError("The session token of this link is no longer available."))
            return
        link_ops.inspect_link(self.ctx.session, token, parent=self).success(on_done).failure(on_error).run()


def tracker_for(ctx: LinkHost) -> LinkTracker:
    """The context's LinkTracker, created on first use as a child of the context."""
    owner = ctx if isinstance(ctx, QObject) else None
    found = owner.findChild(LinkTracker, TRACKER_NAME) if owner is not None else None
    return found if found is not None else LinkTracker(ctx, parent=owner)
