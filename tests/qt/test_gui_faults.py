"""Issue 7 items 2, 3 and 5 at the GUI level: API faults, keyring states and unexpected exceptions, seen
through the real pages (ConnectionsPage, ConnectionDetail) and the AppContext, against FakeNango over loopback.

Every fault must end the same way: no crash, no hang (everything below waits with a bounded timeout on a
running event loop), rows already loaded kept, and one clear message in the error banner (``ctx.errorRaised``,
what ``ctx.show_error`` emits for the main window). Waits injected into the client (Retry-After, backoff) go
through a recording ``sleep``, so a 429 storm takes no wall-clock time.

Already covered elsewhere and not repeated here: a first-page 401/403/429/5xx on the page
(test_connections_page.py), 401/403/429/500/424 in the detail (test_connection_detail.py), the client's
retry rules (tests/unit/test_api_errors.py, tests/integration/test_client_vs_fake.py).
"""

from __future__ import annotations

import sys
import threading
from functools import partial

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QWidget

from nango_desktop.qtutil.errors import install_crash_hooks
from nango_desktop.qtutil.workers import task_pool
from nango_desktop.services.api import NangoClient
from nango_desktop.services.ratelimit import RateLimiter
from nango_desktop.services.secrets import SecretKind, SecretStore
from nango_desktop.session import connections as store_module
from nango_desktop.settings import Profile, Settings
from nango_desktop.ui.connections import page as page_module
from nango_desktop.ui.connections.model import ConnectionsModel
from nango_desktop.ui.connections.page import ConnectionsPage
from nango_desktop.ui.context import AppContext
from tests.helpers import MemoryKeyring
from tests.nango_server import ManualClock

TIMEOUT = 30_000
PAGE = 10  # connections per request, so a 50-connection load takes 5 requests (+1 empty)


class Recorder:
    """An injected ``sleep``: records the waits the client asked for, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.waits.append(seconds)


def make_ctx(
    server, secrets: SecretStore, *, cache_key: bool = True, factory=None, **client_kw
) -> AppContext:
    profile = Profile(name="faults", api_url=server.url)
    if cache_key:
        secrets.set(profile.name, SecretKind.API_KEY, server.secret_key)
    ctx = AppContext(
        Settings(profiles=[profile], current_profile=profile.name),
        secrets,
        client_factory=factory or (partial(NangoClient, **client_kw) if client_kw else None),
    )
    if cache_key:
        ctx.cache_key(profile.name, server.secret_key)
    ctx.errors = []
    ctx.errorRaised.connect(lambda title, detail: ctx.errors.append((title, detail)))
    ctx.window = QWidget()  # stands in for the main window: errors go out as errorRaised
    ctx.attach_window(ctx.window)
    return ctx


@pytest.fixture
def contexts(qapp):
    made: list[AppContext] = []
    yield made
    for ctx in made:
        ctx.shutdown(timeout=10.0)
        ctx.deleteLater()


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(page_module, "ConnectionsModel", partial(ConnectionsModel, page_size=PAGE))
    monkeypatch.setattr(store_module, "PAGE_SIZE", PAGE)  # the session's store loads the list


def open_page(qtbot, ctx) -> ConnectionsPage:
    page = ConnectionsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    return page


def loaded(qtbot, page) -> None:
    qtbot.waitUntil(lambda: not page.model.is_loading and page.model.rowCount() > 0, timeout=TIMEOUT)


# -- API faults --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "title", "status"),
    [
        ("revoke", "The API key was rejected", "401"),
        ("5xx", "The Nango server had an error", "503"),
        ("timeout", "did not answer in time", "no answer within"),
    ],
)
def test_fault_in_the_middle_of_a_load_keeps_the_rows_and_says_why(
    qtbot, nango_server, secret_store, contexts, small_pages, fault, title, status
):
    """401 after the key was revoked in the dashboard / a 5xx burst longer than the retries / a server that
    stops answering, after two pages: those rows stay, the counter says the list is incomplete, one banner."""
    sleeps = Recorder()
    ctx = make_ctx(nango_server, secret_store, sleep=sleeps, timeout=0.5, max_retries=2)
    contexts.append(ctx)
    pages_seen = []

    def on_request(request) -> None:
        if request.path == "/connections" and request.method == "GET":
            pages_seen.append(request.param("page"))
            if len(pages_seen) == 3 and fault == "revoke":
                nango_server.revoke_key()  # this very request is refused

    nango_server.on_request = on_request
    if fault == "5xx":
        nango_server.fail_next(503, times=10, path_prefix="/connections", after=2)
    if fault == "timeout":
        # after two pages every /connections answer takes 20 s; the client gives up after 0.5 s (x3 tries)
        nango_server.on_request = lambda r: (
            on_request(r),
            len(pages_seen) == 2 and nango_server.set_delay(20.0, path_prefix="/connections"),
        )
    page = open_page(qtbot, ctx)
    qtbot.waitUntil(lambda: bool(ctx.errors), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not page.model.is_loading, timeout=TIMEOUT)
    assert len(ctx.errors) == 1
    shown_title, detail = ctx.errors[0]
    assert title in shown_title and status in detail
    assert nango_server.secret_key not in shown_title + detail
    assert page.model.rowCount() == 2 * PAGE  # the pages read before the fault are kept
    assert not page.model.is_complete and "incomplete" in page.counter.text()
    assert ctx.connections == []  # an incomplete list is not published to the other pages
    if fault == "5xx":
        assert sleeps.waits == [0.5, 1.0]  # exponential backoff, then a clear error
    # once the cause is gone, Refresh loads everything
    nango_server.on_request = None
    nango_server.restore_key()
    nango_server.clear_faults()
    with qtbot.waitSignal(ctx.connections_store.loaded, timeout=TIMEOUT):
        page.refresh()
    assert page.model.rowCount() == 50 and page.model.is_complete


def test_opening_a_connection_deleted_meanwhile_says_so(qtbot, nango_server, secret_store, contexts):
    ctx = make_ctx(nango_server, secret_store, max_retries=0)
    contexts.append(ctx)
    page = open_page(qtbot, ctx)
    loaded(qtbot, page)
    gone = page.model.connection(3)
    with nango_server.lock:  # deleted in the dashboard (or by a colleague) after the list was loaded
        nango_server.connections = [
            c for c in nango_server.connections if c["connection_id"] != gone.connection_id
        ]
        nango_server.invalidate()
    page.detail.show_connection(gone)
    page.detail.load_full()
    qtbot.waitUntil(lambda: bool(ctx.errors), timeout=TIMEOUT)
    title, detail = ctx.errors[-1]
    assert title == "Not found (it may have been deleted)"
    assert "404" in detail and gone.connection_id in detail
    assert page.detail.full is None
    # the list learns of it too: the row of the deleted connection goes away
    qtbot.waitUntil(lambda: page.model.rowCount() == 49, timeout=TIMEOUT)
    ids = {page.model.connection(r).connection_id for r in range(page.model.rowCount())}
    assert gone.connection_id not in ids
    # the app keeps working: another connection opens
    other = next(
        page.model.connection(r)
        for r in range(49)
        if page.model.connection(r).connection_id != gone.connection_id
    )
    page.detail.show_connection(other)
    page.detail.load_full()
    qtbot.waitUntil(lambda: page.detail.full is not None, timeout=TIMEOUT)
    assert page.detail.full.connection_id == other.connection_id and len(ctx.errors) == 1


def test_429_storm_honours_retry_after_across_concurrent_tasks(qtbot, nango_server, secret_store, contexts):
    """Four 429s (Retry-After: 7) hit whichever concurrent tasks ask first: the list load, the integrations
    and three detail reads. Each waits what the server said; everything completes, no banner."""
    sleeps = Recorder()
    ctx = make_ctx(nango_server, secret_store, sleep=sleeps, max_retries=5)
    contexts.append(ctx)
    nango_server.fail_next(429, times=4, headers={"Retry-After": "7"})
    page = open_page(qtbot, ctx)
    fulls = []
    for conn in nango_server.connections[:3]:
        ctx.run(
            lambda c=conn: ctx.client().get_connection(c["connection_id"], c["provider_config_key"]),
            on_done=fulls.append,
        )
    qtbot.waitUntil(lambda: len(fulls) == 3 and page.model.is_complete, timeout=TIMEOUT)
    assert page.model.rowCount() == 50
    assert ctx.errors == []
    assert sleeps.waits.count(7.0) == 4  # each 429 was waited out for its Retry-After


class Gate:
    """An injected ``sleep`` that blocks until the test opens it, then moves a manual clock forward."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.waits: list[float] = []
        self.blocked = 0

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.waits.append(seconds)
            self.blocked += 1
        self.opened.wait(60)
        with self.lock:
            self.blocked -= 1
            self.clock.advance(seconds)


def test_a_429_holds_back_every_task_of_the_profile(qtbot, nango_server, secret_store, contexts):
    """A task gets 429 with Retry-After: 30 and waits it out. Five more tasks start meanwhile (three calls
    each): they share the profile's client and so its rate budget, so none of them sends a request before
    the wait is over. Then everything completes, no banner."""
    clock = ManualClock()
    gate = Gate(clock)

    def factory(url, key, **kw):
        limiter = RateLimiter(clock=clock, wall=clock, sleep=gate)
        return NangoClient(url, key, rate_limiter=limiter, sleep=gate, **kw)

    ctx = make_ctx(nango_server, secret_store, factory=factory)
    contexts.append(ctx)
    nango_server.fail_next(429, times=1, headers={"Retry-After": "30"}, path_prefix="/integrations")
    tasks, results = 6, []
    assert task_pool().maxThreadCount() >= tasks + 2  # all six run at once, whatever the number of cores

    def work() -> list[int]:
        return [len(ctx.client().list_integrations()) for _ in range(3)]

    try:
        ctx.run(work, on_done=results.append)
        qtbot.waitUntil(lambda: gate.blocked == 1, timeout=TIMEOUT)  # waiting out the 429
        for _ in range(tasks - 1):
            ctx.run(work, on_done=results.append)
        qtbot.waitUntil(lambda: gate.blocked == tasks, timeout=TIMEOUT)  # every task holds back
        assert len(nango_server.requests_to("/integrations")) == 1 and not results
    finally:
        gate.opened.set()
    qtbot.waitUntil(lambda: len(results) == tasks, timeout=TIMEOUT)
    assert ctx.errors == [] and all(len(r) == 3 for r in results)
    assert gate.waits[0] == 30.0  # the Retry-After the server asked for
    assert len(nango_server.requests_to("/integrations")) == 1 + tasks * 3


# -- keyring states at startup ---------------------------------------------------------------------------


class HangingKeyring(KeyringBackend):
    """Never answers until released (an unanswered unlock prompt, a stuck D-Bus daemon)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service, username):
        self.release.wait()

    def set_password(self, service, username, password):
        self.release.wait()

    def delete_password(self, service, username):
        self.release.wait()


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service, username):
        raise KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password


@pytest.mark.parametrize(
    ("backend", "title"),
    [
        ("none", "No secure keyring is available"),
        ("locked", "The system keyring is locked"),
        ("hangs", "The system keyring is not responding"),
        ("deleted", "No API key is stored for this profile"),
    ],
)
def test_keyring_trouble_at_startup_is_explained_and_a_key_kept_in_memory_works(
    qtbot, nango_server, contexts, backend, title
):
    """The key is read on a worker when the profile opens. Whatever the keyring does (no backend, locked and
    unlock refused, no answer, key deleted in Seahorse), the GUI thread keeps running, the banner says what
    is wrong, and with the key kept in memory for this run the connections load."""
    memory = MemoryKeyring()
    hanging = HangingKeyring()
    backends = {"none": fail.Keyring(), "locked": LockedKeyring(), "hangs": hanging, "deleted": memory}
    secrets = SecretStore(backends[backend], timeout=0.5)
    if backend == "deleted":
        secrets.set("faults", SecretKind.API_KEY, nango_server.secret_key)
        memory.store.clear()  # removed outside the app
    try:
        ctx = make_ctx(nango_server, secrets, cache_key=False)
        contexts.append(ctx)
        with qtbot.waitSignal(ctx.keyLoaded, timeout=TIMEOUT) as key_loaded:
            pass
        assert key_loaded.args == ["faults", False]
        page = open_page(qtbot, ctx)
        qtbot.waitUntil(lambda: any(title in t for t, _ in ctx.errors), timeout=TIMEOUT)
        qtbot.waitUntil(lambda: not page.model.is_loading, timeout=TIMEOUT)
        assert page.model.rowCount() == 0
        details = " ".join(d for _, d in ctx.errors)
        assert "memory" in details or "Edit profile" in details  # says what the user can do
        # the user chooses "keep the key in memory for this run" (what the profile dialog offers)
        secrets.keep_in_memory("faults", SecretKind.API_KEY, nango_server.secret_key)
        with qtbot.waitSignal(ctx.connections_store.loaded, timeout=TIMEOUT):
            page.refresh()
        assert page.model.rowCount() == 50
    finally:
        hanging.release.set()


# -- unexpected exceptions on any thread ----------------------------------------------------------------


class Exploder(QObject):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    @Slot()
    def explode(self) -> None:
        raise RuntimeError(self.message)


@pytest.fixture
def crash_handler(qapp):
    handler = install_crash_hooks()
    yield handler
    handler.uninstall()
    for dialog in list(handler.dialogs):
        dialog.close()


@pytest.mark.qt_no_exception_capture
def test_exceptions_in_a_gui_slot_and_a_worker_thread_give_redacted_crash_reports(
    qtbot, crash_handler, nango_server, secret_store, contexts
):
    ctx = make_ctx(nango_server, secret_store)  # registers the API key as a known secret, like the app
    contexts.append(ctx)
    token = "nango_connect_session_" + "ab12" * 16
    message = (
        f"boom with {nango_server.secret_key} and Authorization: Bearer {nango_server.secret_key} {token}"
    )
    exploder = Exploder(message)
    QTimer.singleShot(0, exploder.explode)  # raised inside a slot, by the event loop (GUI thread)
    qtbot.waitUntil(lambda: len(crash_handler.reports) == 1, timeout=TIMEOUT)

    worker = threading.Thread(target=exploder.explode, name="fault-worker")
    worker.start()
    worker.join(10)
    qtbot.waitUntil(lambda: len(crash_handler.reports) == 2, timeout=TIMEOUT)

    for report in crash_handler.reports:
        assert "RuntimeError" in report and "boom with" in report
        assert nango_server.secret_key not in report and token not in report
    assert "Thread: fault-worker" in crash_handler.reports[1]
    assert len(crash_handler.dialogs) == 2
    for dialog in crash_handler.dialogs:
        assert dialog.thread() is QApplication.instance().thread()
        assert nango_server.secret_key not in dialog.text.toPlainText() + dialog.summary_label.text()
    assert sys.excepthook == crash_handler._sys_hook  # still installed: the app keeps running
