"""Operations: each user action that calls the API, as a named object (Anki ``aqt/operations``).

An ``Op`` wraps the worker ``Task``: ``fn(client)`` runs on the pool with the profile's shared client; on the GUI
thread ``success(result)`` or ``failure(exc)`` run (failure defaults to the error banner), and the op's change
notice is applied by the session: the changed connections are re-read by the ``ConnectionsStore`` so every
view updates that row itself. Widgets build ops through the named functions below; they never build clients
or tasks.

    delete_connection(ctx, conn, parent=self).success(lambda _: ...).run(busy=self.busy, message="Deleting…")
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import shiboken6
from PySide6.QtCore import QObject

from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import CancelledError, InvalidKeyError, NotFoundError

if TYPE_CHECKING:
    from nango_desktop.domain.models import Connection
    from nango_desktop.services.api import NangoClient

log = logging.getLogger(__name__)

T = TypeVar("T")
Key = tuple[str, str]


class Session(Protocol):
    """What an operation needs of the session (``ProfileSession``; ``AppContext`` provides it too). An op
    given no session (no profile) fails with "No profile is configured"."""

    def client(self) -> NangoClient: ...
    def show_error(self, exc: BaseException, parent: Any = None) -> None: ...
    def apply_changes(self, changes: Changes) -> None: ...


class Tracker(Protocol):
    def track(self, task: Task, message: str) -> Any: ...


@dataclass(frozen=True)
class Changes:
    """What an operation changed: the session refreshes exactly that (one row each, in every view)."""

    connections: tuple[Key, ...] = ()
    connections_list: bool = False  # the whole list (e.g. an import): reload it
    extra: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.connections or self.connections_list or self.extra)


class Op(Generic[T]):
    """One API call on the pool, with success/failure on the GUI thread and a change notice."""

    def __init__(
        self,
        session: Session | None,
        fn: Callable[[NangoClient], T] | Callable[[NangoClient, Callable[..., None], threading.Event], T],
        *,
        name: str,
        parent: Any = None,
        changes: Changes = Changes(),
        changes_on_failure: Callable[[BaseException], Changes] | None = None,
    ) -> None:
        self._session = session
        self._fn = fn
        self.name = name
        self._parent = parent
        self.changes = changes
        self._changes_on_failure = changes_on_failure
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._progress: Callable[[int, int | None, str], None] | None = None
        self.task: Task | None = None

    def success(self, fn: Callable[[T], None]) -> Op[T]:
        self._success = fn
        return self

    def failure(self, fn: Callable[[BaseException], None]) -> Op[T]:
        self._failure = fn
        return self

    def progress(self, fn: Callable[[int, int | None, str], None]) -> Op[T]:
        """``fn(done, total, message)`` on the GUI thread, for an op whose work takes ``progress=``."""
        self._progress = fn
        return self

    def run(
        self, *, busy: Tracker | None = None, message: str = "", cancel: threading.Event | None = None
    ) -> Task:
        """Start the op on the pool. Work declared as ``fn(client, progress, cancel)`` gets the task's
        progress reporter and cancel event (``cancel``: the caller's, so a Cancel button can set it)."""
        session, fn = self._session, self._fn
        if _takes_progress(fn):

            def work(progress: Callable[..., None], cancel: threading.Event) -> T:
                return fn(_client_of(session), progress, cancel)  # type: ignore[call-arg]

        else:

            def work(progress: Callable[..., None], cancel: threading.Event) -> T:
                return fn(_client_of(session))  # type: ignore[call-arg]

        task = Task(
            work,
            on_done=self._done,
            on_error=self._failed,
            on_progress=self._on_progress,
            cancel=cancel,
            name=self.name,
        )
        self.task = task.start()
        if busy is not None:
            busy.track(task, message or f"{self.name}…")
        return task

    def _on_progress(self, done: int, total: int | None, message: str) -> None:
        if self._progress is not None and not self._parent_gone():
            self._progress(done, total, message)

    def _parent_gone(self) -> bool:
        """The widget that asked was destroyed meanwhile (a dialog closed before its answer): its callbacks
        would touch deleted C++ objects, so they are skipped (the session still applies the changes)."""
        parent = self._parent
        return isinstance(parent, QObject) and not shiboken6.isValid(parent)

    def _done(self, result: Any) -> None:
        if self.changes and self._session is not None:
            self._session.apply_changes(self.changes)
        if self._success is not None and not self._parent_gone():
            self._success(result)

    def _failed(self, exc: BaseException) -> None:
        if self._changes_on_failure is not None and self._session is not None:
            changes = self._changes_on_failure(exc)
            if changes:
                self._session.apply_changes(changes)
        if self._parent_gone():
            log.debug("%s: %s (its window is gone)", self.name, exc)
            return
        if self._failure is not None:
            self._failure(exc)
        elif self._session is None:
            log.warning("%s: %s", self.name, exc)
        elif not isinstance(exc, CancelledError):
            self._session.show_error(exc, self._parent)


def _takes_progress(fn: Callable[..., Any]) -> bool:
    try:
        return len(inspect.signature(fn).parameters) == 3
    except (TypeError, ValueError):
        return False


def _client_of(session: Session | None) -> NangoClient:
    if session is None:
        raise InvalidKeyError("No profile is configured", "Create a profile with File → New profile.")
    return session.client()


# -- named operations --------------------------------------------------------------------------------------
def delete_connection(session: Session | None, conn: Connection, *, parent: Any = None) -> Op[None]:
    """DELETE the connection; the row disappears everywhere (also when Nango says it was already gone)."""
    key = (conn.connection_id, conn.provider_config_key)
    return Op(
        session,
        lambda client: client.delete_connection(*key),
        name=f"Delete {key[0]}",
        parent=parent,
        changes=Changes(connections=(key,)),
        changes_on_failure=lambda exc: (
            Changes(connections=(key,)) if isinstance(exc, NotFoundError) else Changes()
        ),
    )


def list_integrations(session: Session | None, *, parent: Any = None) -> Op[list[Any]]:
    return Op(session, lambda client: client.list_integrations(), name="List integrations", parent=parent)


def save_tags(
    session: Session | None,
    conn: Connection,
    merge: Callable[[dict[str, str]], dict[str, str]],
    *,
    parent: Any = None,
) -> Op[dict[str, str]]:
    """Re-read the connection's tags, apply the user's edits (``merge(current) -> merged``), check Nango's rules
    and PATCH them; the result is the merged tags. NotFoundError when the connection is gone meanwhile."""
    from nango_desktop.domain.tags import validate_tags
    from nango_desktop.services.errors import BadRequestError

    cid, iid = key = (conn.connection_id, conn.provider_config_key)

    def work(client: NangoClient) -> dict[str, str]:
        current = client.list_connections(connection_id=cid, integration_ids=[iid], limit=None)
        match = next((c for c in current if (c.connection_id, c.provider_config_key) == key), None)
        if match is None:
            raise NotFoundError(None, f"Connection {cid} ({iid}) no longer exists")
        merged = merge(match.tags)
        problems = validate_tags(merged)
        if problems:
            raise BadRequestError("The merged tags break Nango's rules", "\n".join(problems), errors=problems)
        client.patch_connection(cid, iid, tags=merged)
        return merged

    return Op(session, work, name=f"Save tags of {cid}", parent=parent, changes=Changes(connections=(key,)))


def set_metadata(
    session: Session | None, conn: Connection, value: dict[str, Any], *, parent: Any = None
) -> Op[Any]:
    key = (conn.connection_id, conn.provider_config_key)
    return Op(
        session,
        lambda client: client.set_metadata(*key, value),
        name=f"Save metadata of {key[0]}",
        parent=parent,
        changes=Changes(connections=(key,)),
    )


def load_connection(
    session: Session | None, conn: Connection, *, force_refresh: bool = False, parent: Any = None
) -> Op[Any]:
    """GET /connections/{id}: the full connection with its credentials (Nango may refresh them when read).
    ``force_refresh``: ask Nango to refresh now; a success clears its auth error, so the row is re-read."""
    key = (conn.connection_id, conn.provider_config_key)
    return Op(
        session,
        lambda client: client.get_connection(*key, force_refresh=force_refresh),
        name=f"Load {key[0]}",
        parent=parent,
        changes=Changes(connections=(key,)) if force_refresh else Changes(),
    )


def set_webhook_override(
    session: Session | None, conn: Connection, url: str, *, parent: Any = None
) -> Op[None]:
    """PATCH the connection's webhook URL override ("" removes it: the environment's URL is used again)."""
    key = (conn.connection_id, conn.provider_config_key)
    return Op(
        session,
        lambda client: client.patch_connection(*key, webhook_url_override=url),
        name=f"Save the webhook URL of {key[0]}",
        parent=parent,
        changes=Changes(connections=(key,)),
    )


class _KeyCheck:
    """The session of a key check: a throw-away client for a profile that is not saved yet."""

    def __init__(self, make_client: Callable[[], NangoClient]) -> None:
        self._make_client = make_client

    def client(self) -> NangoClient:
        return self._make_client()

    def show_error(self, exc: BaseException, parent: Any = None) -> None:
        log.info("Key check failed: %s", exc)

    def apply_changes(self, changes: Changes) -> None:
        """A key check changes nothing."""


def check_key(make_client: Callable[[], NangoClient], *, parent: Any = None) -> Op[str | None]:
    """List one connection with a new profile's URL and key (the profile dialog's "Test and save").
    ``make_client`` runs on the worker (it may read the stored key from the keyring). The result is None, or a
    warning when the key is valid but cannot list connections (a missing scope)."""
    from nango_desktop.services.errors import MissingScopeError

    def work(client: NangoClient) -> str | None:
        try:
            client.list_connections(limit=1)
        except MissingScopeError as exc:  # the key is valid; it just cannot list connections
            return exc.title
        finally:
            getattr(client, "really_close", client.close)()
        return None

    return Op(_KeyCheck(make_client), work, name="Check the API key", parent=parent)


def rotate_signing_key(
    session: Session | None, secrets: Any, profile_name: str, minutes: int, *, parent: Any = None
) -> Op[Any]:
    """Rotate the environment's webhook signing key on Nango; the new key becomes current in the keyring and
    the old one stays valid for ``minutes`` (``services.rotation``). The result is a ``RotationResult``."""
    from nango_desktop.services.rotation import rotate_signing_key as rotate

    return Op(
        session,
        lambda client: rotate(client, secrets, profile_name, minutes=minutes),
        name="Rotate the webhook signing key",
        parent=parent,
    )
