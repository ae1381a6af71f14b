"""ProfileSession: what the GUI works with for one profile, opened when it becomes current, closed on a switch.

A session holds the profile's shared client, its connections store (the only loader of the list), its webhook
listener and event store (from the app-wide ``ListenerRegistry``: listeners outlive sessions), its workbench
run history, and the tasks and operations started through it. Pages bind to the session (``ctx.session``,
``sessionChanged``) with a :class:`~nango_desktop.session.binding.SignalTracker` and drop those bindings in one
call when the next session opens.

``close()`` cancels the tasks the session started and its connections load; results of those tasks that
arrive later are dropped (``closed`` is True), so a slow answer of the previous profile never lands in the
next one's views. Operations (``session.operations``) run against a session: it satisfies their ``Session``
protocol (``client``, ``show_error``, ``apply_changes``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from nango_desktop.qtutil.workers import Task
from nango_desktop.session.connections import ConnectionsStore

if TYPE_CHECKING:
    from nango_desktop.services.api import NangoClient
    from nango_desktop.session.link_tracker import LinkTracker
    from nango_desktop.session.listener import ListenerController
    from nango_desktop.session.listeners import ListenerRegistry
    from nango_desktop.session.operations import Changes
    from nango_desktop.settings import Profile
    from nango_desktop.store.events import EventStore
    from nango_desktop.store.workbench import WorkbenchHistory

log = logging.getLogger(__name__)


class ProfileSession(QObject):
    closing = Signal()  # close() was called: views drop their bindings to this session

    def __init__(
        self,
        profile: Profile,
        *,
        client: Callable[[], NangoClient],
        listeners: ListenerRegistry,
        show_error: Callable[[BaseException], None],
        apply_changes: Callable[[Changes], None],
        history: Callable[[], WorkbenchHistory] | None = None,
        link_tracker: Callable[[], LinkTracker] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self.name = profile.name
        self._client = client
        # The only loader and cache of this profile's connection list; views bind to it on sessionChanged.
        self.connections = ConnectionsStore(self.client, self, on_error=self._default_error)
        self._listeners = listeners
        self._show_error = show_error
        self._apply_changes = apply_changes
        self._history = history
        self._link_tracker = link_tracker
        self._tasks: list[Task] = []
        self.closed = False

    def __repr__(self) -> str:
        return f"<ProfileSession {self.name!r}{' closed' if self.closed else ''}>"

    # -- what the session holds -------------------------------------------------------------------
    def client(self) -> NangoClient:
        """The profile's shared client (any thread; reads the key from the keyring when not cached yet)."""
        return self._client()

    @property
    def listener(self) -> ListenerController | None:
        return self._listeners.listener_for(self.name)

    @property
    def event_store(self) -> EventStore | None:
        return self._listeners.event_store_for(self.name)

    @property
    def history(self) -> WorkbenchHistory | None:
        """The workbench run history (one file for every profile; rows carry this profile's name)."""
        return self._history() if self._history is not None else None

    @property
    def link_tracker(self) -> LinkTracker | None:
        """Issued links and their completion (app-wide like listeners: live tokens survive a switch)."""
        return self._link_tracker() if self._link_tracker is not None else None

    # -- tasks and operations -----------------------------------------------------------------------
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
        """Run ``fn(*args)`` on the pool for this profile; callbacks run on the GUI thread unless the session
        was closed meanwhile. Errors go to the error banner by default."""
        task = Task(
            fn,
            *args,
            tag=tag,
            on_done=self._guard(on_done),
            on_error=self._guard(on_error or self._default_error),
            on_progress=self._guard(on_progress),
            cancel=cancel,
        )
        self._tasks = [t for t in self._tasks if not t.delivered] + [task]
        return task.start()

    def _guard(self, fn: Callable[..., None] | None) -> Callable[..., None] | None:
        if fn is None:
            return None

        def call(*args: Any) -> None:
            if not self.closed:
                fn(*args)

        return call

    def _default_error(self, exc: BaseException) -> None:
        from nango_desktop.services.errors import CancelledError

        if not isinstance(exc, CancelledError) and not self.closed:
            self._show_error(exc)

    def show_error(self, exc: BaseException, parent: Any = None) -> None:
        if not self.closed:
            self._show_error(exc)

    def apply_changes(self, changes: Changes) -> None:
        """An operation's change notice: the changed rows are re-read by the connections store."""
        if not self.closed:
            self._apply_changes(changes)

    # -- lifetime -----------------------------------------------------------------------------------
    def close(self) -> None:
        """The profile stops being current: cancel this session's tasks and its connections load."""
        if self.closed:
            return
        self.closing.emit()
        self.closed = True
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        self.connections.reset()
        log.debug("Closed %r", self)
