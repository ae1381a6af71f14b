"""AppContext: what every page gets (docs/ARCHITECTURE.md, "GUI composition").

Lives in the GUI thread. Owns the settings, the secret store, one shared ``NangoClient`` per profile (one
rate-limit budget and connection pool), the current profile's ``ProfileSession`` (``session``; a new one on
every switch: ``sessionChanged``, then ``profileChanged``), the app-wide ``listener_registry`` (listeners belong
to profiles and outlive sessions; ``listenersChanged``), and the plumbing for errors, notifications and
navigation (signals the main window connects to). Pages bind to the session, not to the context's internals.

Threading: ``client()`` may be called from any thread. API keys are read from the keyring on a worker (after
the first paint in the app: ``start_background``) and cached in memory for the run; a key not cached yet is read
in the calling thread, so call ``client()`` inside the function given to a task.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QWidget

from nango_desktop.qtutil.bridge import EventBridge
from nango_desktop.qtutil.errors import describe_error, register_secret
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import CancelledError, InvalidKeyError
from nango_desktop.services.secrets import SecretKind, SecretStore
from nango_desktop.session.clients import close_client, shared_client_class
from nango_desktop.session.connections import ConnectionsStore
from nango_desktop.session.listeners import ListenerRegistry
from nango_desktop.session.operations import Changes
from nango_desktop.session.profile import ProfileSession
from nango_desktop.settings import Profile, Settings, save_settings

if TYPE_CHECKING:
    from nango_desktop.domain.connection_rows import ConnectionRow
    from nango_desktop.services.api import NangoClient
    from nango_desktop.session.link_tracker import LinkTracker
    from nango_desktop.session.listener import ListenerController
    from nango_desktop.store.events import EventStore
    from nango_desktop.store.workbench import WorkbenchHistory

log = logging.getLogger(__name__)



class AppContext(QObject):
    profileChanged = Signal(object)  # Profile | None, after switching profile
    apiCall = Signal(object)  # CallInfo, on the GUI thread
    connectionChanged = Signal(str, str)  # (connection_id, integration_id) -> connections_store re-reads it
    errorRaised = Signal(str, str)  # (title, detail) -> the main window's error banner
    notified = Signal(str, str)  # (title, message) -> tray / status bar
    navigateRequested = Signal(str, dict)  # (page, kw)
    keyLoaded = Signal(str, bool)  # (profile name, a key is available)
    settingsChanged = Signal(object)  # Settings, after a profile was added / edited / removed
    listenersChanged = Signal()  # a listener of any profile started, stopped or failed
    sessionChanged = Signal(object)  # ProfileSession | None, the new current session (before profileChanged)

    def __init__(
        self,
        settings: Settings,
        secrets: SecretStore | None = None,
        *,
        settings_path: Path | None = None,
        client_factory: Callable[..., NangoClient] | None = None,
        start_background: bool = True,
        parent: QObject | None = None,
    ) -> None:
        """``start_background=False``: the keyring is not touched until ``start_background()`` (the app calls
        it once its window has painted, so start-up never waits on the keyring's imports or D-Bus)."""
        super().__init__(parent)
        self.settings = settings
        self.secrets = secrets or SecretStore()
        self.settings_path = settings_path
        self._client_factory = client_factory
        self.profile: Profile | None = settings.current()
        self.window: QWidget | None = None
        self._pending_errors: list[tuple[str, str]] = []
        self._keys: dict[str, str] = {}
        self._key_lock = threading.Lock()
        self._clients: dict[str, NangoClient] = {}
        self._retired_clients: list[NangoClient] = []
        self._link_store: Any = None
        self._history: WorkbenchHistory | None = None
        self.keys_without_credentials: set[str] = set()  # profiles whose key cannot read credentials
        # One listener and event store per profile for the whole run (they outlive sessions).
        self.listener_registry = ListenerRegistry(lambda: self.settings, self.secrets, notify=self.notify, parent=self)
        self.listener_registry.listenersChanged.connect(self.listenersChanged)
        self._save_lock = threading.Lock()
        self._save_seq = 0
        self._call_bridge = EventBridge(self)
        self._call_bridge.received.connect(self._on_call)
        # Without a profile the views follow an empty store that never loads; each session has its own.
        self._no_profile_store = ConnectionsStore(None, self)
        self.connectionChanged.connect(self._on_connection_changed)
        self.session: ProfileSession | None = None
        self._background_started = False
        self.settings.current_profile = self.profile.name if self.profile is not None else None
        self._open_session()
        if start_background:
            self.start_background()

    def start_background(self) -> None:
        """Read the current profile's key and name the keyring backend, on workers (once)."""
        if self._background_started:
            return
        self._background_started = True
        self.prefetch_key()
        # Naming the keyring backend may ask D-Bus who serves it: do it once, off the GUI thread.
        self.run(lambda: self.secrets.backend_name, on_error=self._ignore_error)

    # -- profiles -----------------------------------------------------------------------------------
    def set_profile(self, name: str | None) -> None:
        """Make ``name`` current: stop the old listener, drop per-profile state, save, emit profileChanged."""
        profile = self.settings.get(name)
        if profile is None and name is not None:
            raise KeyError(f"no profile named {name!r}")
        if profile == self.profile and (profile is None or profile.name == self.settings.current_profile):
            return
        self._drop_profile_state()
        self.profile = profile
        self.settings.current_profile = profile.name if profile else None
        self.save_settings()
        self.prefetch_key()
        self._profile_switched(profile)

    def upsert_profile(
        self, profile: Profile, *, old_name: str | None = None, make_current: bool = True
    ) -> None:
        """Add or replace ``profile`` (renamed from ``old_name``), save, and optionally switch to it."""
        was_running = False
        if old_name and old_name != profile.name:
            old = self.listener_registry.get(old_name)
            was_running = old is not None and old.state == "listening"
            self._drop_listener(old_name)  # its store file and keys follow the name
            self.settings.remove(old_name)
            with self._key_lock:
                self._keys.pop(old_name, None)
            self._retire_client(old_name)
        self.settings.upsert(profile)
        self._retire_client(profile.name)  # URL or key may have changed
        existing = self.listener_registry.get(profile.name)
        if existing is not None:  # edited listener settings: a running listener restarts with them
            existing.apply_settings(profile.listener)
        elif was_running:  # renamed while listening: it keeps listening under its new name
            renamed = self.listener_for(profile.name)
            if renamed is not None:
                renamed.start()
        if self.profile is not None and self.profile.name in (profile.name, old_name):
            self._drop_profile_state()
            self.profile = profile
            self.settings.current_profile = profile.name
            self.save_settings()
            self.settingsChanged.emit(self.settings)
            self._profile_switched(profile)
        elif make_current or self.profile is None:
            self.settingsChanged.emit(self.settings)
            self.set_profile(profile.name)
        else:
            self.save_settings()
            self.settingsChanged.emit(self.settings)

    def remove_profile(self, name: str) -> None:
        """Forget the profile (settings) and its keys (keyring, on a worker); switch to another one."""
        was_current = self.profile is not None and self.profile.name == name
        self._drop_listener(name)
        self.settings.remove(name)
        with self._key_lock:
            self._keys.pop(name, None)
        self._retire_client(name)
        self.run(self.secrets.delete_profile, name)
        self.settingsChanged.emit(self.settings)
        if was_current:
            self._drop_profile_state()
            self.profile = self.settings.current()
            self.settings.current_profile = self.profile.name if self.profile else None
            self.prefetch_key()
            self._profile_switched(self.profile)
        self.save_settings()

    def save_settings(self) -> Task:
        """Save a snapshot of the settings on a worker (atomic write; only the newest snapshot is written)."""
        self._save_seq += 1
        seq, snapshot = self._save_seq, self.settings.model_copy(deep=True)
        return self.run(self._write_settings, seq, snapshot)

    def _write_settings(self, seq: int, snapshot: Settings) -> None:
        with self._save_lock:
            if seq == self._save_seq:
                save_settings(snapshot, self.settings_path)

    def _drop_profile_state(self) -> None:
        """Switching away from the current profile: its session closes (its tasks and connections load are
        cancelled); its listener keeps running (listeners belong to profiles)."""
        if self.session is not None:
            self.session.close()
            self.session = None

    def _open_session(self) -> ProfileSession | None:
        if self.session is not None:
            self.session.close()
        self.session = None if self.profile is None else self._new_session(self.profile)
        return self.session

    def _new_session(self, profile: Profile) -> ProfileSession:
        return ProfileSession(
            profile,
            client=lambda: self._client_for(self._current_or(profile)),
            listeners=self.listener_registry,
            show_error=self.show_error,
            apply_changes=self.apply_changes,
            history=self.workbench_history,
            link_tracker=self.link_tracker,
            parent=self,
        )

    def _current_or(self, profile: Profile) -> Profile:
        """The current profile object when it is still ``profile`` (edited in place), else ``profile``."""
        current = self.profile
        return current if current is not None and current.name == profile.name else profile

    def _profile_switched(self, profile: Profile | None) -> None:
        """The one place a profile switch is announced: open its session, then tell the views."""
        self.sessionChanged.emit(self._open_session())
        self.profileChanged.emit(profile)

    def _drop_listener(self, name: str) -> None:
        """Stop and forget the listener and event store of profile ``name`` (profile removed or renamed)."""
        self.listener_registry.drop(name)

    # -- API access ---------------------------------------------------------------------------------
    def prefetch_key(self) -> Task | None:
        """Read the current profile's API key on a worker and cache it (keyring calls may block)."""
        if self.profile is None:
            return None
        return self.run(
            self._fetch_key, self.profile.name, on_done=self._key_fetched, on_error=self._key_fetch_failed
        )

    def _fetch_key(self, name: str) -> tuple[str, bool]:
        key = self.secrets.get(name, SecretKind.API_KEY)
        if key:
            self.cache_key(name, key)
        return name, bool(key)

    def _key_fetched(self, result: tuple[str, bool]) -> None:
        self.keyLoaded.emit(*result)

    def _key_fetch_failed(self, exc: BaseException) -> None:
        self.show_error(exc)
        if self.profile is not None:
            self.keyLoaded.emit(self.profile.name, False)

    def cache_key(self, profile_name: str, key: str) -> None:
        """Remember the API key for this run (memory only) and make sure it is redacted everywhere."""
        register_secret(key)
        with self._key_lock:
            changed = self._keys.get(profile_name) not in (None, key)
            self._keys[profile_name] = key
        if changed:
            self._retire_client(profile_name)

    def cached_key(self, profile_name: str) -> str | None:
        with self._key_lock:
            return self._keys.get(profile_name)

    def api_key(self, profile_name: str) -> str:
        """The cached key, else read from the secret store (blocking). Raises InvalidKeyError when none."""
        key = self.cached_key(profile_name)
        if key is None:
            if QThread.currentThread() is self.thread():
                log.debug("API key of %s read on the GUI thread (not prefetched yet)", profile_name)
            key = self.secrets.get(profile_name, SecretKind.API_KEY)
            if key:
                self.cache_key(profile_name, key)
        if not key:
            raise InvalidKeyError(
                "No API key is stored for this profile",
                f"Profile “{profile_name}” has no API key in {self.secrets.backend_name}. "
                "Use File → Edit profile to enter it.",
            )
        return key

    def client(self) -> NangoClient:
        """The shared NangoClient of the current profile (``close()`` on it is a no-op; the context closes it)."""
        return self._client_for(self.profile)

    def _client_for(self, profile: Profile | None) -> NangoClient:
        if profile is None:
            raise InvalidKeyError("No profile is configured", "Create a profile with File → New profile.")
        with self._key_lock:
            existing = self._clients.get(profile.name)
        if existing is None or existing.base_url != profile.api_url.rstrip("/"):
            client = self.make_client(profile.api_url, self.api_key(profile.name))
            with self._key_lock:
                existing = self._clients.setdefault(profile.name, client)
            if existing is not client:
                close_client(client)
        if hasattr(
            existing, "max_rows"
        ):  # the profile's limits (an edit applies at once); test doubles lack them
            existing.deadline, existing.max_rows = profile.request_deadline, profile.max_connection_rows
        return existing

    def make_client(self, api_url: str, key: str, **kw: Any) -> NangoClient:
        """A new shared-style client reporting its calls to ``apiCall`` (the profile dialog uses it too)."""
        factory = self._client_factory or shared_client_class()
        return factory(api_url, key, on_call=self._call_bridge.post, **kw)

    def _retire_client(self, profile_name: str) -> None:
        with self._key_lock:
            client = self._clients.pop(profile_name, None)
        if client is not None:
            self._retired_clients.append(client)  # tasks may still use it; closed at shutdown

    @Slot(object)
    def _on_call(self, info: object) -> None:
        self.apiCall.emit(info)

    # -- tasks --------------------------------------------------------------------------------------
    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int | None, str], None] | None = None,
        cancel: threading.Event | None = None,
        tag: object = None,
    ) -> Task:
        """Run ``fn(*args)`` on the pool; callbacks run on the GUI thread. Errors go to ``show_error`` by default."""
        return Task(
            fn,
            *args,
            tag=tag,
            on_done=on_done,
            on_error=on_error or self._default_error,
            on_progress=on_progress,
            cancel=cancel,
        ).start()

    def _ignore_error(self, exc: BaseException) -> None:
        log.debug("Ignored background error: %r", exc)

    def _default_error(self, exc: BaseException) -> None:
        if not isinstance(exc, CancelledError):
            self.show_error(exc)

    # -- errors, notifications, navigation ------------------------------------------------------------
    def show_error(self, exc: BaseException, parent: QWidget | None = None) -> None:
        """Show ``exc`` in the main window's error banner (buffered until the window is attached)."""
        title, detail = describe_error(exc)
        log.warning("%s: %s", title, detail)
        self.show_message_error(title, detail)

    def show_message_error(self, title: str, detail: str = "") -> None:
        if self.window is None:
            self._pending_errors.append((title, detail))
        self.errorRaised.emit(title, detail)

    def attach_window(self, window: QWidget) -> list[tuple[str, str]]:
        """Called by the main window once it can show errors; returns (and forgets) the ones raised before."""
        self.window = window
        pending, self._pending_errors = self._pending_errors, []
        return pending

    def pending_errors(self) -> list[tuple[str, str]]:
        return list(self._pending_errors)

    def notify(self, title: str, message: str) -> None:
        """A desktop notification when a tray is available, else a status-bar message (the window decides)."""
        log.info("Notification: %s — %s", title, message)
        self.notified.emit(title, message)

    def navigate(self, page: str, **kw: Any) -> None:
        from nango_desktop.ui.pages import PAGES

        if page not in PAGES:
            raise ValueError(f"unknown page {page!r}; expected one of {PAGES}")
        self.navigateRequested.emit(page, kw)

    def request_new_link(self, prefill: dict | None = None) -> None:
        actions = self._links_actions()
        if actions is not None:
            actions.new_link(self, self.window, prefill)

    def request_reconnect_links(self, connections: Sequence[Any]) -> None:
        actions = self._links_actions()
        if actions is not None:
            actions.reconnect_links(self, self.window, list(connections))

    def _links_actions(self) -> Any:
        try:
            from nango_desktop.ui.links import actions
        except ImportError as exc:
            self.show_message_error("Connect links are not available in this build", str(exc))
            return None
        return actions

    # -- shared connections cache ---------------------------------------------------------------------
    @property
    def connections_store(self) -> ConnectionsStore:
        """The current session's connection list (its only loader); an empty one that never loads without a
        profile. Views bind to it on ``sessionChanged`` (each session has its own store)."""
        return self.session.connections if self.session is not None else self._no_profile_store

    @property
    def connections(self) -> list[ConnectionRow]:
        """The last complete connection list of the current profile (``connections_store``; compact rows)."""
        return self.connections_store.connections()

    def apply_changes(self, changes: Changes) -> None:
        """The change notice of an operation (session.operations): views update themselves through the store."""
        for connection_id, integration_id in changes.connections:
            self.connectionChanged.emit(connection_id, integration_id)
        if changes.connections_list and self.profile is not None:
            self.connections_store.load()

    @Slot(str, str)
    def _on_connection_changed(self, connection_id: str, integration_id: str) -> None:
        if self.profile is not None:
            self.connections_store.refresh_connection(connection_id, integration_id)

    # -- lazily created per-profile services -------------------------------------------------------------
    @property
    def event_store(self) -> EventStore | None:
        """The current profile's event store."""
        return self.session.event_store if self.session is not None else None

    def event_store_for(self, name: str) -> EventStore | None:
        """The event store of profile ``name`` (``listener_registry``)."""
        return self.listener_registry.event_store_for(name)

    @property
    def link_store(self) -> Any:
        if self._link_store is None:
            try:
                from nango_desktop.store.links import LinkStore
            except ImportError:
                log.warning("Link store unavailable in this build")
                return None
            self._link_store = LinkStore()
        return self._link_store

    def link_tracker(self) -> LinkTracker:
        """Issued links and their completion (session layer), created on first use as a child of the context."""
        from nango_desktop.session.link_tracker import tracker_for

        return tracker_for(self)

    def workbench_history(self) -> WorkbenchHistory:
        """The workbench run history (one file; rows carry the profile name), opened on first use."""
        if self._history is None:
            from nango_desktop.store.workbench import WorkbenchHistory

            self._history = WorkbenchHistory()
        return self._history

    @property
    def listener(self) -> ListenerController | None:
        """The current profile's listener controller."""
        return self.session.listener if self.session is not None else None

    def listener_for(self, name: str) -> ListenerController | None:
        """The listener controller of profile ``name`` (``listener_registry``)."""
        return self.listener_registry.listener_for(name)

    def listeners(self) -> dict[str, ListenerController]:
        """Every listener controller created this run, by profile name."""
        return self.listener_registry.listeners()

    def running_listeners(self) -> dict[str, ListenerController]:
        """The listeners receiving webhooks now, by profile name (the current profile's included)."""
        return self.listener_registry.running()

    # -- shutdown -----------------------------------------------------------------------------------
    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop the listener, cancel and wait for tasks, close clients and stores. True if all tasks ended."""
        from nango_desktop.qtutil.workers import wait_for_all

        self._drop_profile_state()
        self.listener_registry.shutdown()
        ok = wait_for_all(timeout, cancel=True)
        with self._key_lock:
            clients = [*self._clients.values(), *self._retired_clients]
            self._clients.clear()
            self._retired_clients.clear()
        for client in clients:
            close_client(client)
        if self._link_store is not None and hasattr(self._link_store, "close"):
            self._link_store.close()
            self._link_store = None
        if self._history is not None:
            self._history.close()
            self._history = None
        return ok
