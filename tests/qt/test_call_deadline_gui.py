"""Issue 18 in the GUI: Cancel ends a stalled load at once and keeps the rows loaded; the profile's deadline and
row ceiling reach the client (FakeNango on loopback, real event loop)."""

from __future__ import annotations

from functools import partial

import pytest
from PySide6.QtWidgets import QWidget

from nango_desktop.services.api import NangoClient
from nango_desktop.services.secrets import SecretKind
from nango_desktop.settings import Profile, Settings
from nango_desktop.ui.connections.page import ConnectionsPage
from nango_desktop.ui.context import AppContext

READ_TIMEOUT = 120.0  # only the Cancel or the deadline can end these loads in time


def _ctx(server, secret_store, **profile_fields) -> AppContext:
    profile = Profile(name="test", api_url=server.url, **profile_fields)
    secret_store.set(profile.name, SecretKind.API_KEY, server.secret_key)
    ctx = AppContext(
        Settings(profiles=[profile], current_profile=profile.name),
        secret_store,
        client_factory=partial(NangoClient, max_retries=0, timeout=READ_TIMEOUT),
    )
    ctx.cache_key(profile.name, server.secret_key)
    ctx.errors = []
    ctx.errorRaised.connect(lambda title, detail: ctx.errors.append((title, detail)))
    ctx.attach_window(QWidget())
    return ctx


@pytest.fixture
def make_ctx(qapp, nango_server, secret_store):
    made: list[AppContext] = []

    def make(**fields) -> AppContext:
        made.append(_ctx(nango_server, secret_store, **fields))
        return made[-1]

    yield make
    for ctx in made:
        ctx.shutdown(timeout=10.0)
        ctx.deleteLater()


def test_cancel_ends_a_stalled_load_at_once_and_keeps_the_rows(qtbot, make_ctx, nango_server):
    ctx = make_ctx()
    gate = nango_server.stall_body_next(times=1, path_prefix="/connections", after=1)
    ctx.connections_store._page_size = 10
    page = ConnectionsPage(ctx)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.model.rowCount() == 10 and gate.held == 1, timeout=10_000)
    assert page.busy.cancel_button.isVisible() or page.busy.cancel_button.isEnabled()
    task = ctx.connections_store.task
    with qtbot.waitSignal(ctx.connections_store.loadFinished, timeout=10_000) as blocker:
        page.busy.request_cancel()
    assert blocker.args == [False]
    assert task.wait(5.0), "the worker is still blocked in the stalled read"
    assert gate.held == 1  # the server still stalls: the client ended the call itself
    assert page.model.rowCount() == 10  # the rows that arrived are kept
    assert ctx.errors == []  # a Cancel is not an error
    gate.release()


def test_the_profiles_deadline_ends_a_stalled_load_with_a_clear_error(qtbot, make_ctx, nango_server):
    ctx = make_ctx(request_deadline=1.0)
    nango_server.stall_body_next(times=5, path_prefix="/connections")
    assert ctx.client().deadline == 1.0
    with qtbot.waitSignal(ctx.connections_store.loadFailed, timeout=10_000) as blocker:
        ctx.connections_store.load()
    exc = blocker.args[0]
    assert "did not answer within 1 s" in exc.title and "waited 1." in exc.detail


def test_profile_limits_reach_the_shared_client_at_once(make_ctx):
    ctx = make_ctx(max_connection_rows=1234, request_deadline=7.0)
    client = ctx.client()
    assert (client.max_rows, client.deadline) == (1234, 7.0)
    edited = ctx.profile.model_copy(update={"max_connection_rows": 0, "request_deadline": 90.0})
    ctx.upsert_profile(edited)  # the profile dialog's save
    client = ctx.client()
    assert (client.max_rows, client.deadline) == (0, 90.0)
