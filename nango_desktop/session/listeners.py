"""ListenerRegistry: one webhook listener and one event store per profile, for the whole run.

Listeners belong to profiles, not to the window or the current session: switching profile leaves every
listener as it is (a running one keeps receiving on its own port until it is stopped). ``listener_for(name)``
and ``event_store_for(name)`` create them on first use; ``listenersChanged`` fires when any listener starts,
stops or fails (the status bar lists every running one). ``drop(name)`` stops and forgets a profile's listener
and closes its store (profile removed or renamed); ``shutdown()`` drops them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

if TYPE_CHECKING:
    from nango_desktop.services.secrets import SecretStore
    from nango_desktop.session.listener import ListenerController
    from nango_desktop.settings import Settings
    from nango_desktop.store.events import EventStore

log = logging.getLogger(__name__)


class ListenerRegistry(QObject):
    listenersChanged = Signal()  # a listener of any profile started, stopped or failed

    def __init__(
        self,
        settings: Callable[[], Settings],
        secrets: SecretStore,
        *,
        notify: Callable[[str, str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._secrets = secrets
        self._notify = notify
        self._event_stores: dict[str, EventStore] = {}  # profile name -> store (open for the run)
        self._listeners: dict[str, ListenerController] = {}  # profile name -> controller

    def event_store_for(self, name: str) -> EventStore | None:
        """The event store of profile ``name`` (opened once, kept for the run; None if unknown/unavailable)."""
        store = self._event_stores.get(name)
        profile = self._settings().get(name)
        if store is None and profile is not None:
            try:
                from nango_desktop.store.events import EventStore, event_store_path
            except ImportError:
                log.warning("Webhook event store unavailable in this build")
                return None
            listener = profile.listener
            store = self._event_stores[name] = EventStore(
                event_store_path(name),  # the same file the CLI's `events` command reads
                profile=name,
                retention_count=listener.retention_count or None,
                retention_days=listener.retention_days or None,
                retention_unverified=listener.retention_unverified_count or None,
            )
        return store

    def listener_for(self, name: str) -> ListenerController | None:
        """The listener controller of profile ``name`` (one per profile for the run; None if unavailable)."""
        listener = self._listeners.get(name)
        profile = self._settings().get(name)
        if listener is None and profile is not None:
            store = self.event_store_for(name)
            if store is None:
                return None
            secrets = self._secrets
            from nango_desktop.services.rotation import active_signing_keys  # noqa: PLC0415 - http stack, first listener
            from nango_desktop.session.listener import ListenerController  # noqa: PLC0415

            listener = ListenerController(
                store,
                name,
                profile.listener,
                lambda: active_signing_keys(secrets, name),
                notify=self._notify,
                port_check=lambda: self.port_conflict(name),
                parent=self,
            )
            self._listeners[name] = listener
            listener.stateChanged.connect(self._on_listener_state)
        return listener

    def get(self, name: str) -> ListenerController | None:
        """The listener of ``name`` if one was created (never creates one)."""
        return self._listeners.get(name)

    def port_conflict(self, name: str) -> str | None:
        """Why the listener of ``name`` cannot start: another profile's listener holds its port (None if not)."""
        profile = self._settings().get(name)
        if profile is None or not profile.listener.port:
            return None  # port 0: any free port
        for other, listener in self.running().items():
            if other != name and listener.settings.port == profile.listener.port:
                return (
                    f"Port {profile.listener.port} is used by the listener of profile “{other}”. Each profile "
                    "listens on its own port: choose another one for this profile (Webhooks → Listener settings)."
                )
        return None

    def listeners(self) -> dict[str, ListenerController]:
        """Every listener controller created this run, by profile name."""
        return dict(self._listeners)

    def running(self) -> dict[str, ListenerController]:
        """The listeners receiving webhooks now, by profile name."""
        return {name: c for name, c in self._listeners.items() if c.state == "listening"}

    def drop(self, name: str) -> None:
        """Stop and forget the listener and event store of profile ``name`` (profile removed or renamed)."""
        listener = self._listeners.pop(name, None)
        if listener is not None:
            try:
                listener.shutdown()
            except Exception:  # noqa: BLE001 - a broken listener must not block the others
                log.exception("Stopping the webhook listener of %s failed", name)
            listener.deleteLater()
        store = self._event_stores.pop(name, None)
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001
                log.exception("Closing the event store of %s failed", name)
        if listener is not None:
            self.listenersChanged.emit()

    def shutdown(self) -> None:
        for name in list(self._listeners) + list(self._event_stores):
            self.drop(name)

    @Slot(str, str)
    def _on_listener_state(self, _state: str, _message: str) -> None:
        self.listenersChanged.emit()
