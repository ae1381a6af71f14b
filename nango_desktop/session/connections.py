"""ConnectionsStore: the only loader and cache of the connection list of the current profile.

The list is held as compact rows (``domain.connection_rows.ConnectionRow``: one tuple of interned strings per
connection, built from the page's plain dicts on the loading worker; no pydantic model per row: 100,000 of them
cost ~220 MB). A row reads like a ``Connection`` for what the list's readers use (ids, status, ``customer``,
``created``...); ``row.connection()`` builds the full model (the selected connection, an export).

Every view binds to its signals once and never loads the list itself:

- ``loadStarted(Task)``: a load of the whole list began (views show progress; ``Task`` can be cancelled).
- ``pageLoaded(list[ConnectionRow])``: one more page of that load, in API order, on the GUI thread.
- ``pagePrepared(list[ConnectionRow], prepared)``: right after ``pageLoaded``, when a view registered a page
  preparer (``set_page_preparer``): its result for that page, computed on the loading worker.
- ``loaded(list[ConnectionRow])``: the load fetched every page; ``connections()`` is now that list.
- ``loadFinished(bool complete)``: after ``loaded`` (True), or after a failure or cancel (False).
- ``loadFailed(exc)``: the load failed (not emitted for a cancel).
- ``connectionUpdated(Connection)`` / ``connectionRemoved(connection_id, integration_id)``: one row changed
  (``refresh_connection`` re-read it: the full model); views update that row, nobody republishes the list.

During a load ``connections()`` keeps the previous complete list until the new one is complete. A profile
switch calls ``reset()``: the load in flight is cancelled and its late pages are ignored.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from nango_desktop.domain.connection_rows import ConnectionRow, row_of_connection
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import CancelledError
from nango_desktop.services.raw_page import connection_rows, gentle_parsing

if TYPE_CHECKING:
    from nango_desktop.domain.models import Connection
    from nango_desktop.services.api import NangoClient

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (connection_id, integration_id)
PAGE_SIZE = 1000
PAGES_IN_FLIGHT = 1  # pages handed to the GUI thread and not yet taken by it


def key_of(conn: Connection | ConnectionRow) -> Key:
    return (conn.connection_id, conn.provider_config_key)


def rows_of(items: Iterable[Connection | ConnectionRow]) -> list[ConnectionRow]:
    """Compact rows of models (rows are kept as they are)."""
    return [c if isinstance(c, ConnectionRow) else row_of_connection(c) for c in items]


def page_rows(page: list[Any]) -> list[ConnectionRow]:
    """Worker: the rows of one page of the client (plain dicts of a raw listing, or models)."""
    if page and isinstance(page[0], dict):
        return connection_rows(page)
    return rows_of(page)


class PageCredit:
    """Back-pressure between a loading worker and the GUI thread: the worker hands a page over only once the GUI
    thread took the previous one (``PAGES_IN_FLIGHT``). Pages queued faster than the GUI takes them would be
    delivered in one batch of events, with no timer and no repaint between them."""

    def __init__(self, pages: int | None = None) -> None:
        self._free = threading.Semaphore(PAGES_IN_FLIGHT if pages is None else pages)

    def __enter__(self) -> PageCredit:
        gentle_parsing(True)  # this worker's pages are parsed in short GIL slices (services/raw_page.py)
        return self

    def __exit__(self, *_exc: object) -> None:
        gentle_parsing(False)  # pool threads are reused

    def wait(self, cancel: threading.Event, loaded: int) -> None:
        """Worker: block until the next page may be handed over (CancelledError when ``cancel`` is set)."""
        while not self._free.acquire(timeout=0.05):
            if cancel.is_set():
                raise CancelledError(detail=f"Cancelled after {loaded:,} connections")

    def taken(self) -> None:
        """GUI thread: a page was taken (whether used or dropped)."""
        self._free.release()


class ConnectionsStore(QObject):
    loadStarted = Signal(object)  # Task
    pageLoaded = Signal(object)  # list[ConnectionRow]
    pagePrepared = Signal(object, object)  # (list[ConnectionRow], the preparer's result for it)
    loaded = Signal(object)  # list[ConnectionRow], the complete list
    loadFinished = Signal(bool)  # complete
    loadFailed = Signal(object)  # exception
    connectionUpdated = Signal(object)  # Connection
    connectionRemoved = Signal(str, str)  # (connection_id, integration_id)
    # (generation, list[ConnectionRow], prepared, credit); emitted on the worker thread
    _pageReady = Signal(int, object, object, object)

    def __init__(
        self,
        client_provider: Callable[[], NangoClient] | None = None,
        parent: QObject | None = None,
        *,
        page_size: int | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._client_provider = client_provider
        self._page_size = page_size or PAGE_SIZE
        self._on_refresh_error = on_error
        self._connections: list[ConnectionRow] = []
        self._index: dict[Key, int] | None = None
        self._incoming: list[ConnectionRow] = []
        self._complete = False
        self._generation = 0
        self._task: Task | None = None
        self._preparer: Callable[[list[ConnectionRow]], Any] | None = None
        self._pageReady.connect(self._on_page, Qt.ConnectionType.QueuedConnection)

    # -- content ------------------------------------------------------------------------------------------
    def connections(self) -> list[ConnectionRow]:
        """The last complete list, as compact rows (do not mutate)."""
        return self._connections

    def __len__(self) -> int:
        return len(self._connections)

    def get(self, connection_id: str, integration_id: str) -> ConnectionRow | None:
        row = self._row_of((connection_id, integration_id))
        return None if row is None else self._connections[row]

    def arrived(self) -> list[ConnectionRow]:
        """The connections the load in flight delivered so far (a view that binds mid-load catches up)."""
        return list(self._incoming)

    @property
    def is_complete(self) -> bool:
        """True when the cache holds a complete list (a load finished, or ``set_connections``)."""
        return self._complete

    @property
    def is_loading(self) -> bool:
        return self._task is not None

    @property
    def task(self) -> Task | None:
        return self._task

    def set_connections(self, connections: Iterable[Connection | ConnectionRow]) -> None:
        """Replace the list without loading (tests, imports): cancels a load, emits ``loaded``."""
        self._stop()
        self._connections = rows_of(connections)
        self._index = None
        self._complete = True
        self.loaded.emit(self._connections)

    def reset(self) -> None:
        """Profile switch: cancel the load in flight and forget the list (no signal: pages follow the profile)."""
        self._stop()
        previous = [self._connections]
        self._connections = []
        self._index = None
        self._complete = False
        Task(release_in_chunks, previous, on_error=_ignore, name="release connections").start()

    def set_page_preparer(self, preparer: Callable[[list[ConnectionRow]], Any] | None) -> None:
        """Run ``preparer(page)`` on the loading worker for every page of the next loads; its result comes with
        ``pagePrepared``. One preparer per store (the connections table); it must not touch Qt objects."""
        self._preparer = preparer

    # -- loading --------------------------------------------------------------------------------------------
    def load(self) -> Task:
        """(Re)load every connection. A load already in flight is cancelled and replaced."""
        if self._client_provider is None:
            raise RuntimeError("ConnectionsStore has no client provider")
        self._stop()
        self._incoming = []
        generation = self._generation
        task = Task(
            self._fetch,
            generation,
            tag=generation,
            on_done=partial(self._on_done, generation),
            on_error=partial(self._on_error, generation),
            name="load connections",
        )
        self._task = task
        task.start()
        self.loadStarted.emit(task)
        return task

    def cancel(self) -> None:
        """Stop the current load (``loadFinished(False)`` follows); the cached list stays."""
        if self._task is not None:
            self._task.cancel()

    def wait(self, timeout: float = 10.0) -> bool:
        return self._task is None or self._task.wait(timeout)

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = None
        self._incoming = []
        self._generation += 1

    def _fetch(self, generation: int, *, cancel: threading.Event, progress: Any) -> int:
        """Worker thread: fetch every page and hand each one to the GUI thread."""
        client = self._client_provider()  # type: ignore[misc]
        loaded = 0
        with PageCredit() as credit:
            for raw in client.iter_connection_pages(page_size=self._page_size, cancel=cancel, raw=True):
                page = page_rows(raw)
                del raw
                loaded += len(page)
                preparer = self._preparer
                prepared = None if preparer is None else preparer(page)
                credit.wait(cancel, loaded)
                self._pageReady.emit(generation, page, prepared, credit)
                progress(loaded, None, f"Loading… {loaded:,} connections")
        return loaded

    @Slot(int, object, object, object)
    def _on_page(
        self, generation: int, page: list[ConnectionRow], prepared: Any = None, credit: Any = None
    ) -> None:
        try:
            self._take_page(generation, page, prepared)
        finally:
            if credit is not None:
                credit.taken()  # the worker may hand over its next page

    def _take_page(self, generation: int, page: list[ConnectionRow], prepared: Any) -> None:
        if generation != self._generation:
            return  # a page of a replaced or cancelled load
        # The connections live as long as the session: keep the cyclic GC from re-scanning them on every
        # full collection (each would stall every thread for ~1 s at 100k rows). Refcounting still frees them.
        gc.freeze()
        self._incoming.extend(page)
        self.pageLoaded.emit(page)
        if prepared is None and self._preparer is not None:
            prepared = self._preparer(page)  # the preparer was registered while this page was in flight
        if prepared is not None:
            self.pagePrepared.emit(page, prepared)

    def _on_done(self, generation: int, _loaded: int) -> None:
        # Delivered after every page of this load (same worker thread, same event queue, FIFO).
        if generation != self._generation:
            return
        self._task = None
        previous = [self._connections]
        self._connections, self._incoming = self._incoming, []
        self._index = None
        Task(release_in_chunks, previous, on_error=_ignore, name="release connections").start()
        self._complete = True
        self.loaded.emit(self._connections)
        self.loadFinished.emit(True)

    def _on_error(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._task = None
        self._incoming = []
        if not isinstance(exc, CancelledError):
            self.loadFailed.emit(exc)
        self.loadFinished.emit(False)

    # -- one connection ---------------------------------------------------------------------------------------
    def refresh_connection(self, connection_id: str, integration_id: str) -> Task | None:
        """Re-read one connection (list endpoint: no credentials); update, add or remove it everywhere."""
        if self._client_provider is None:
            return None
        provider = self._client_provider

        def fetch() -> list[Connection]:
            return provider().list_connections(
                connection_id=connection_id, integration_ids=[integration_id], limit=None
            )

        return Task(
            fetch,
            on_done=partial(self._on_refreshed, self._generation, (connection_id, integration_id)),
            on_error=self._refresh_failed,
            name="refresh connection",
        ).start()

    def _on_refreshed(self, generation: int, key: Key, rows: Sequence[Connection]) -> None:
        if generation != self._generation:
            return  # the profile changed or the list was replaced meanwhile
        match = next((c for c in rows if key_of(c) == key), None)
        if match is None:
            self.remove_connection(*key)
        else:
            self.update_connection(match)

    def _refresh_failed(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            return
        if self._on_refresh_error is not None:
            self._on_refresh_error(exc)
        else:
            log.warning("Refreshing a connection failed: %s", exc)

    def update_connection(self, conn: Connection) -> None:
        """Replace the cached connection (same id and integration), or add it on top; emit ``connectionUpdated``."""
        row = self._row_of(key_of(conn))
        new = row_of_connection(conn)
        if row is None:
            self._connections.insert(0, new)
            self._index = None
        else:
            self._connections[row] = new
        self.connectionUpdated.emit(conn)

    def remove_connection(self, connection_id: str, integration_id: str) -> bool:
        row = self._row_of((connection_id, integration_id))
        if row is not None:
            del self._connections[row]
            self._index = None
        self.connectionRemoved.emit(connection_id, integration_id)
        return row is not None

    def _row_of(self, key: Key) -> int | None:
        if self._index is None:
            self._index = {key_of(c): i for i, c in enumerate(self._connections)}
        return self._index.get(key)


def release_in_chunks(box: list[list], chunk: int = 500) -> None:
    """Worker: drop the last references to a big list of connections a few hundred at a time.

    Freeing 10^5 objects in one go is one C call that holds the GIL for ~0.5 s: the GUI thread would stall.
    Small slices give the interpreter a chance to switch threads between them. Views holding the same list
    keep their objects alive: only the list is cleared, not the connections."""
    while box:
        items = box.pop()
        while items:
            del items[-chunk:]


def _ignore(exc: BaseException) -> None:
    log.debug("Releasing connections failed: %r", exc)
