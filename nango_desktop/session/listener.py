"""ListenerController: the GUI's handle on one profile's webhook listener (built by ``session.listeners``).

It wraps a Qt-free :class:`~nango_desktop.services.webhook_server.WebhookServer` (its own thread) and an
:class:`~nango_desktop.qtutil.bridge.EventBridge`: the server calls ``on_event`` on its request threads,
events wait in a thread-safe inbox and the bridge wakes the GUI thread, where a bound slot drains the inbox
and re-emits the events as ``eventsReceived`` (one batch) and ``eventReceived`` (each).

State is never silently stale: ``stateChanged(state, message)`` reports "listening" (message = URL),
"stopped" or "error" (message = what went wrong and what to do), and a watchdog timer notices a server
thread that died and reports it as an error.

Opt-in desktop notifications (``ListenerSettings.notify_auth_failures``) for auth failures and refresh
errors are coalesced so a burst gives one notification, not hundreds.
"""

from __future__ import annotations

import collections
import http.client
import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from nango_desktop.domain.events import ForwardResult
from nango_desktop.domain.webhooks import is_verified
from nango_desktop.qtutil.bridge import EventBridge
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.forwarder import Forwarder
from nango_desktop.services.webhook_server import (
    HEALTH_PATH,
    ListenerError,
    WebhookServer,
    is_loopback,
    tunables,
)
from nango_desktop.settings import ListenerSettings

log = logging.getLogger(__name__)

__all__ = ["ListenerController", "UserError", "is_loopback", "webhook_url_for_nango"]

STOPPED, LISTENING, ERROR = "stopped", "listening", "error"
PROBE_TIMEOUT = 3.0
# What the WebhookServer is built with: changing one of these restarts a running listener.
RESTART_FIELDS = (
    "host",
    "port",
    "path",
    "reject_invalid",
    "reject_unsigned",
    "accept_legacy_signatures",
    "max_body_bytes",
    "forward_to",
    "max_connections",
    "reserved_share",
    "per_peer_share",
    "first_byte_timeout",
    "unverified_rate",
    "unverified_burst",
)


class UserError(ValueError):
    """A problem the user can fix (bad setting, missing forward URL); ``title`` and ``detail`` are shown."""

    def __init__(self, title: str, detail: str = "") -> None:
        super().__init__(f"{title}: {detail}" if detail else title)
        self.title, self.detail = title, detail


def webhook_url_for_nango(settings: ListenerSettings) -> str | None:
    """The URL to configure in Nango: the public (tunnel) URL plus the listener path, when one is set."""
    base = (settings.public_url or "").strip().rstrip("/")
    if not base:
        return None
    path = settings.path if settings.path.startswith("/") else "/" + settings.path
    return base if base.endswith(path) else base + path


class ListenerController(QObject):
    """Start/stop the listener of one profile and deliver its events on the GUI thread."""

    stateChanged = Signal(str, str)  # (state, message)
    eventReceived = Signal(object, bool)  # (StoredEvent, duplicate)
    eventsReceived = Signal(object)  # list[(StoredEvent, duplicate)]: the same events, one batch per drain
    forwarded = Signal(object)  # ForwardResult of a forward or a replay
    settingsChanged = Signal(object)  # ListenerSettings, after apply_settings()

    WATCHDOG_MS = 1000
    STOP_JOIN_SECONDS = 3.0
    NOTIFY_DELAY_MS = 1500
    PROBE_EVERY = 5  # watchdog ticks between two health requests

    def __init__(
        self,
        store: Any,
        profile: str,
        settings: ListenerSettings,
        keys: Callable[[], Sequence[str]],
        *,
        notify: Callable[[str, str], None] | None = None,
        server_factory: Callable[..., WebhookServer] = WebhookServer,
        port_check: Callable[[], str | None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._port_check = port_check  # another profile's listener on our port? (its message, else None)
        self.store = store
        self.profile = profile
        self._settings = settings.model_copy()
        # one key cache rule for every listener (services/rotation.KeyCache): a locked keyring keeps the last
        # keys read, a key deleted or expired stops verifying
        from nango_desktop.services.rotation import KeyCache, without_expired_previous  # noqa: PLC0415

        self.keys = KeyCache(keys, prune=partial(without_expired_previous, profile))
        self._notify = notify
        self._server_factory = server_factory
        self._server: WebhookServer | None = None
        self._state, self._message = STOPPED, ""
        self._storage = ""  # the running listener's disk problem ("" = none), see storage_problem
        self._inbox: collections.deque[tuple[Any, bool]] = collections.deque()
        self._inbox_lock = threading.Lock()
        self._bridge = EventBridge(self)
        self._bridge.received.connect(self._on_bridge)
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(self.WATCHDOG_MS)
        self._watchdog.timeout.connect(self._check_alive)
        self._ticks, self._failed_probes = 0, 0
        self._probe: Task | None = None
        self._alerts: list[Any] = []
        self._notify_timer = QTimer(self)
        self._notify_timer.setSingleShot(True)
        self._notify_timer.setInterval(self.NOTIFY_DELAY_MS)
        self._notify_timer.timeout.connect(self._flush_alerts)

    def __repr__(self) -> str:
        return f"<ListenerController {self.profile!r} {self._state}>"

    # -- state --------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def storage_problem(self) -> str:
        """While listening: why events cannot be stored ("Disk full at PATH: ..."; Nango gets 503), else ""."""
        return self._storage if self._state == LISTENING else ""

    @property
    def message(self) -> str:
        return self._message

    @property
    def url(self) -> str | None:
        return self._server.url if self._server is not None and self._state == LISTENING else None

    @property
    def settings(self) -> ListenerSettings:
        return self._settings

    @property
    def running(self) -> bool:
        return self._state == LISTENING

    def _set_state(self, state: str, message: str = "") -> None:
        if (state, message) == (self._state, self._message):
            return
        self._state, self._message = state, message
        log.info("Webhook listener for %s: %s %s", self.profile, state, message)
        self.stateChanged.emit(state, message)

    # -- control ------------------------------------------------------------------------------------
    @Slot()
    def start(self) -> bool:
        """Bind and start serving; True on success. Errors are reported through ``stateChanged``."""
        if self._server is not None:
            return self._state == LISTENING
        s = self._settings
        conflict = self._port_check() if self._port_check is not None else None
        if conflict:
            self._set_state(ERROR, conflict)
            return False
        self.keys.invalidate()
        try:
            server = self._server_factory(
                self.store,
                profile=self.profile,
                host=s.host,
                port=s.port,
                path=s.path,
                keys=self.keys,
                reject_invalid=s.reject_invalid,
                reject_unsigned=s.reject_unsigned,
                accept_legacy_only=s.accept_legacy_signatures,
                max_body_bytes=s.max_body_bytes,
                on_event=self._post_event,
                forward_to=s.forward_to or None,
                on_forward=self._bridge.post,
                on_state=self._post_state,
                **tunables(s),
            )
            server.start()
        except ListenerError as exc:
            self._set_state(ERROR, f"{exc.title}. {exc.detail}".strip())
            return False
        except OSError as exc:
            self._set_state(ERROR, f"Could not listen on {s.host}:{s.port}: {exc.strerror or exc}")
            return False
        self._server = server
        self._ticks, self._failed_probes = 0, 0
        self._watchdog.start()
        self._set_state(LISTENING, server.url)
        return True

    @Slot()
    def stop(self) -> None:
        """Stop serving. The server is shut down on a helper thread joined for a bounded time."""
        self._storage = ""
        self._watchdog.stop()
        server, self._server = self._server, None
        if server is not None and not _stop_bounded(server, self.STOP_JOIN_SECONDS):
            log.warning(
                "Webhook listener for %s did not stop within %ss", self.profile, self.STOP_JOIN_SECONDS
            )
        self._set_state(STOPPED, "")

    @Slot()
    def toggle(self) -> None:
        if self._server is not None:
            self.stop()
        else:
            self.start()

    def restart(self) -> bool:
        self.stop()
        return self.start()

    def apply_settings(self, settings: ListenerSettings) -> None:
        """Use new settings; a running listener is restarted when anything it was started with changed."""
        before, after = self._settings.model_dump(), settings.model_dump()
        self._settings = settings.model_copy()
        if before == after:
            return
        if self._server is not None and any(before[f] != after[f] for f in RESTART_FIELDS):
            self.restart()
        self.settingsChanged.emit(self._settings)

    @property
    def warning(self) -> str | None:
        """Set while listening on a non-loopback address (reachable from other machines)."""
        return getattr(self._server, "warning", None) if self._server is not None else None

    def replay(self, event: Any, url: str | None = None) -> ForwardResult:
        """Blocking (run it on a worker): post ``event`` again to ``url`` or the forward URL, re-signed with the
        current key and marked as a replay. The result is recorded in the store and emitted as ``forwarded``."""
        target = url or self._settings.forward_to
        if not target:
            raise UserError(
                "Nowhere to replay to", "Set a forward URL in the listener settings: replays go there."
            )
        forwarder = Forwarder(target, self.store, keys=self.keys, on_result=self._bridge.post)
        try:
            return forwarder.replay(event)
        finally:
            forwarder.stop()

    def shutdown(self) -> None:
        """Clean shutdown (app exit, profile switch): stop the listener and drop pending notifications."""
        self._notify_timer.stop()
        self._alerts.clear()
        self.stop()

    # -- events -------------------------------------------------------------------------------------
    def _post_event(self, event: Any, duplicate: bool) -> None:  # listener threads
        # Events wait in the inbox; only the first one after a drain wakes the GUI thread, so a flood costs
        # one queued call per GUI drain instead of one per event.
        with self._inbox_lock:
            wake = not self._inbox
            self._inbox.append((event, duplicate))
        if wake:
            self._bridge.post(_DRAIN)

    def _post_state(self, state: str, message: str) -> None:  # listener threads
        if state in (ERROR, "storage"):
            self._bridge.post(_ServerState(state, message))

    @Slot(object)
    def _on_bridge(self, item: object) -> None:  # GUI thread (queued from the bridge)
        if isinstance(item, ForwardResult):
            self.forwarded.emit(item)
            return
        if isinstance(item, _ServerState) and item.state == "storage":
            # the store cannot be written (disk full, read-only, locked) or can again: views re-read the state
            self._storage = item.message
            self.stateChanged.emit(self._state, self._message)
            return
        if isinstance(item, _ServerState):
            self._check_alive()
            return
        if item is _DRAIN:
            self.drain()

    def drain(self) -> list[tuple[Any, bool]]:
        """Deliver the events waiting in the inbox (GUI thread): ``eventsReceived`` once, ``eventReceived`` each."""
        with self._inbox_lock:
            batch = list(self._inbox)
            self._inbox.clear()
        if not batch:
            return batch
        self.eventsReceived.emit(batch)
        notify = self._settings.notify_auth_failures
        for event, duplicate in batch:
            self.eventReceived.emit(event, duplicate)
            if notify and not duplicate and is_alert(event):
                self._alerts.append(event)
        if self._alerts and not self._notify_timer.isActive():
            self._notify_timer.start()
        return batch

    @Slot()
    def _flush_alerts(self) -> None:
        alerts, self._alerts = self._alerts, []
        if not alerts or self._notify is None:
            return
        if len(alerts) == 1:
            summary = alerts[0].summary
            title = "Nango: refresh failed" if summary.operation == "refresh" else "Nango: auth failed"
            message = summary.describe()
        else:
            title = f"Nango: {len(alerts)} auth failures"
            message = "; ".join(sorted({e.summary.connection_id or "?" for e in alerts}))[:300]
        self._notify(title, message)

    @Slot()
    def _check_alive(self) -> None:
        """Watchdog tick: the server must still say "listening", its thread must be alive, and every
        ``PROBE_EVERY`` ticks a health request (on a worker) must get an answer."""
        server = self._server
        if server is None:
            self._watchdog.stop()
            return
        thread = getattr(server, "_thread", None)
        if not server.running or (thread is not None and not thread.is_alive()):
            self._report_dead(server, getattr(server, "error", None))
            return
        self._ticks += 1
        if self._ticks % self.PROBE_EVERY == 0 and self._probe is None:
            self._probe = Task(_probe_health, server.url, tag=server, name="listener-health").start()
            self._probe.signals.succeeded.connect(self._on_probe)
            self._probe.signals.failed.connect(self._on_probe_failed)

    @Slot(object, object)
    def _on_probe(self, server: object, _result: object) -> None:
        self._probe = None
        self._failed_probes = 0

    @Slot(object, object)
    def _on_probe_failed(self, server: object, exc: object) -> None:
        self._probe = None
        if server is not self._server:
            return
        self._failed_probes += 1
        log.warning("Webhook listener health check failed (%d): %s", self._failed_probes, exc)
        if self._failed_probes >= 2:
            self._report_dead(self._server, f"it does not answer: {exc}")

    def _report_dead(self, server: Any, cause: object) -> None:
        self._watchdog.stop()
        self._server = None
        _stop_bounded(server, 0)  # clean up in the background: a hung server must not block the GUI
        why = f" ({cause})" if cause else ""
        self._set_state(
            ERROR, f"The listener stopped unexpectedly{why}; events are not being received. Start it again."
        )


def _probe_health(url: str) -> int:
    """Worker: GET <listener>/healthz with a short timeout; raises when the listener does not answer."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=PROBE_TIMEOUT)
    try:
        conn.request("GET", HEALTH_PATH)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


_DRAIN = object()  # bridge marker: events are waiting in the inbox


class _ServerState(NamedTuple):
    state: str
    message: str


def is_alert(event: Any) -> bool:
    """Auth failures and refresh errors: what opted-in users get a desktop notification for."""
    if not is_verified(event):  # an unverified body may be forged: shown, never notified
        return False
    summary = getattr(event, "summary", None)
    return summary is not None and summary.is_auth_failure


def _stop_bounded(server: WebhookServer, seconds: float) -> bool:
    """Run ``server.stop()`` on a helper thread; wait at most ``seconds``. True if it finished."""
    thread = threading.Thread(target=_stop_quietly, args=(server,), name="listener-stop", daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def _stop_quietly(server: WebhookServer) -> None:
    try:
        server.stop()
    except Exception:  # noqa: BLE001 - stopping must not raise into the GUI
        log.exception("Error while stopping the webhook listener")
