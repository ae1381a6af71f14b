"""Completion tracking: signed auth webhooks on the local listener, and polling without a listener."""

from __future__ import annotations

import pytest

from nango_desktop.domain.links import LinkStatus, token_of
from nango_desktop.domain.models import Connection
from nango_desktop.services.links import LinkRequest
from nango_desktop.services.secrets import SecretKind
from nango_desktop.session.link_tracker import tracker_for
from nango_desktop.settings import ListenerSettings, Profile, Settings
from nango_desktop.ui.context import AppContext
from tests.nango_server import list_item
from tests.webhook_helpers import SIGNING_KEY, post_webhook


@pytest.fixture
def ctx(qapp, nango_server, secret_store):
    profile = Profile(name="track", api_url=nango_server.url, listener=ListenerSettings(port=0))
    secret_store.set(profile.name, SecretKind.SIGNING_KEY, SIGNING_KEY)
    context = AppContext(Settings(profiles=[profile], current_profile=profile.name), secret_store)
    context.cache_key(profile.name, nango_server.secret_key)
    yield context
    context.shutdown(timeout=10.0)
    context.deleteLater()


@pytest.fixture
def listening(qtbot, ctx):
    assert ctx.listener.start(), ctx.listener.message
    return ctx.listener


@pytest.fixture
def notes(ctx) -> list[tuple[str, str]]:
    received: list[tuple[str, str]] = []
    ctx.notified.connect(lambda title, message: received.append((title, message)))
    return received


def issue(qtbot, ctx, fn, *args):
    """Issue a link off-thread like the GUI does, and track it."""
    tracker = tracker_for(ctx)
    done = []
    issuer = tracker.issuer()
    ctx.run(getattr(issuer, fn), *args, on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    tracker.add(done[0])
    return done[0]


def test_new_link_completed_by_a_signed_webhook(qtbot, ctx, listening, nango_server, notes):
    tracker = tracker_for(ctx)
    issued = issue(qtbot, ctx, "new_link", LinkRequest(end_user_id="u_77", allowed_integrations=["github"]))
    assert tracker._poll.isActive() and tracker._sweep.isActive()
    body = nango_server.complete_session(token_of(issued.url), connection_id="new-conn-1")
    with (
        qtbot.waitSignal(ctx.connectionChanged, timeout=10_000) as changed,
        qtbot.waitSignal(tracker.linkChanged, timeout=10_000) as blocker,
    ):
        status, _reply = post_webhook(listening.url, body, key=SIGNING_KEY)
    assert status == 200
    record = blocker.args[0]
    assert record.id == issued.record.id and record.status is LinkStatus.COMPLETED
    assert record.connection_id == "new-conn-1" and "github" in record.status_detail
    assert changed.args == ["new-conn-1", "github"]
    assert notes and notes[-1][0] == "Connect link completed" and "u_77" in notes[-1][1]
    assert tracker.store.get(record.id).status is LinkStatus.COMPLETED
    assert record.id not in tracker.tokens and not tracker.pending()
    assert not tracker._poll.isActive()


def test_reconnect_failure_marks_the_link_failed(qtbot, ctx, listening, nango_server, notes):
    tracker = tracker_for(ctx)
    conn = Connection.model_validate(list_item(nango_server.connections[3]))
    issued = issue(qtbot, ctx, "reconnect_link", conn)
    body = nango_server.complete_session(token_of(issued.url), success=False)
    assert body["operation"] == "override"
    with (
        qtbot.waitSignal(ctx.connectionChanged, timeout=10_000) as changed,
        qtbot.waitSignal(tracker.linkChanged, timeout=10_000) as blocker,
    ):
        post_webhook(listening.url, body, key=SIGNING_KEY)
    record = blocker.args[0]
    assert record.status is LinkStatus.FAILED and "aborted" in record.status_detail
    assert changed.args == [conn.connection_id, conn.provider_config_key]
    assert notes[-1][0] == "Connect link failed"


def test_unrelated_and_forged_webhooks_change_nothing(qtbot, ctx, listening, nango_server):
    tracker = tracker_for(ctx)
    conn = Connection.model_validate(list_item(nango_server.connections[0]))
    issued = issue(qtbot, ctx, "reconnect_link", conn)
    body = nango_server.complete_session(token_of(issued.url))
    other = dict(body, connectionId="someone-else")
    refresh = dict(body, operation="refresh")
    received = []
    listening.eventReceived.connect(lambda event, _dup: received.append(event))
    post_webhook(listening.url, other, key=SIGNING_KEY)
    post_webhook(listening.url, refresh, key=SIGNING_KEY)
    post_webhook(listening.url, body, key="not-the-signing-key")  # accepted and flagged, but not trusted
    qtbot.waitUntil(lambda: len(received) == 3, timeout=10_000)
    assert tracker.store.get(issued.record.id).status is LinkStatus.PENDING
    assert [r.id for r in tracker.pending()] == [issued.record.id]


def test_without_a_listener_the_timer_polls_nango(qtbot, ctx, nango_server, notes):
    tracker = tracker_for(ctx)
    assert not tracker.listener_running()
    broken = nango_server.connections[1]
    broken["errors"] = [{"type": "auth", "log_id": "log-1"}]  # a reconnect link is for a broken connection
    nango_server.invalidate()
    conn = Connection.model_validate(list_item(broken))
    reconnect = issue(qtbot, ctx, "reconnect_link", conn)
    new = issue(qtbot, ctx, "new_link", LinkRequest(end_user_id="u_poll", allowed_integrations=["slack"]))
    before = len(nango_server.requests)
    tracker.poll_every(50)
    tracker._poll.start()
    qtbot.waitUntil(lambda: len(nango_server.requests) > before + 2, timeout=10_000)
    assert tracker.store.get(reconnect.record.id).status is LinkStatus.PENDING  # nothing happened yet

    nango_server.complete_session(token_of(reconnect.url))
    nango_server.complete_session(token_of(new.url), connection_id="polled-conn")
    qtbot.waitUntil(lambda: not tracker.pending(), timeout=10_000)
    done_reconnect = tracker.store.get(reconnect.record.id)
    done_new = tracker.store.get(new.record.id)
    assert done_reconnect.status is LinkStatus.COMPLETED
    assert done_new.status is LinkStatus.COMPLETED and done_new.connection_id == "polled-conn"
    assert len(notes) == 2
    # polling stops once nothing is pending
    assert not tracker._poll.isActive()
    # the calls were the bounded ones: GET the reconnected connection, list the end user's connections
    polled = nango_server.requests[before:]
    # only the list endpoint: never GET /connections/{id}, which refreshes tokens and answers 424 (issue 14)
    assert {(r.method, r.path) for r in polled} == {("GET", "/connections")}
    assert any(r.param("connectionId") == conn.connection_id for r in polled)


def test_no_polling_while_the_listener_runs(qtbot, ctx, listening, nango_server):
    tracker = tracker_for(ctx)
    issue(qtbot, ctx, "new_link", LinkRequest(end_user_id="u_1"))
    before = len(nango_server.requests)
    tracker.poll()
    assert not tracker._polling and len(nango_server.requests) == before


def test_pending_links_survive_a_restart_of_the_tracker(qtbot, ctx, nango_server):
    issued = issue(qtbot, ctx, "new_link", LinkRequest(end_user_id="u_2"))
    tracker = tracker_for(ctx)
    tracker.setParent(None)
    tracker.deleteLater()
    fresh = tracker_for(ctx)
    assert fresh is not tracker
    assert [r.id for r in fresh.pending()] == [issued.record.id]


def test_live_tokens_come_back_from_the_keyring_after_a_restart(qtbot, ctx, nango_server):
    issued = issue(qtbot, ctx, "new_link", LinkRequest(end_user_id="u_3"))
    old = tracker_for(ctx)
    old.setParent(None)
    old.deleteLater()
    fresh = tracker_for(ctx)  # a new run: nothing in memory yet
    qtbot.waitUntil(lambda: issued.record.id in fresh.tokens, timeout=10_000)
    assert fresh.url_of(fresh.pending()[0]) == issued.url


def test_history_page_lists_filters_reopens_and_updates_live(qtbot, qtmodeltester, ctx, nango_server):
    from nango_desktop.ui.links.page import COLUMNS, LinksPage

    tracker = tracker_for(ctx)
    conn = Connection.model_validate(list_item(nango_server.connections[2]))
    reconnect = issue(qtbot, ctx, "reconnect_link", conn)
    new = issue(
        qtbot, ctx, "new_link", LinkRequest(end_user_id="u_page", email="page@acme.com", display_name="Pat")
    )
    page = LinksPage(ctx)
    qtbot.addWidget(page)
    assert page.objectName() == "linksPage"
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    qtmodeltester.check(page.model)

    def row_of(record_id):
        return next(i for i, r in enumerate(page.model.records) if r.id == record_id)

    def cell(record_id, column):
        return page.model.index(row_of(record_id), COLUMNS.index(column)).data()

    assert cell(new.record.id, "Customer") == "Pat" and cell(new.record.id, "Kind") == "New"
    assert cell(reconnect.record.id, "Connection") == conn.connection_id
    assert cell(reconnect.record.id, "Integration") == conn.provider_config_key
    assert cell(new.record.id, "Status") == "Waiting for the customer"
    assert cell(new.record.id, "Expires").startswith("in ")
    assert cell(new.record.id, "By") == new.record.created_by

    # text filter (debounced search box; Enter flushes) and status filter
    page.search.setText("page@acme")
    page.search.flush()
    qtbot.waitUntil(lambda: [r.id for r in page.model.records] == [new.record.id], timeout=10_000)
    page.search.clear()
    page.search.flush()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)

    # reopen a live link: the full link is back
    assert page.select(new.record.id)
    dialog = page.open_selected()
    qtbot.addWidget(dialog)
    assert dialog.view.url == new.url

    # revoke from the page: the row changes live, and the status filter follows
    assert page.select(reconnect.record.id) and page.revoke_button.isEnabled()
    with qtbot.waitSignal(tracker.linkChanged, timeout=10_000):
        page.revoke_button.click()
    assert cell(reconnect.record.id, "Status") == "Revoked"
    # the footer follows at once, not only after a reload (issue 14 item 7: it said "1 waiting" after a revoke)
    assert page.count_label.text() == "2 links, 1 waiting for the customer"
    assert nango_server.sessions[token_of(reconnect.url)]["deleted"]
    page.status_filter.setCurrentIndex(page.status_filter.findData("revoked"))
    qtbot.waitUntil(lambda: [r.id for r in page.model.records] == [reconnect.record.id], timeout=10_000)
    assert "1 link, 0 waiting" in page.count_label.text()
    page.focus_search()


def test_history_columns_show_the_customer_whole_at_1280(qtbot, ctx, nango_server, tmp_home):
    """The issue: the Customer column was squeezed to ~45 px (names wrapped to "Em… Hop…")."""
    from nango_desktop.ui.links.page import COLUMNS, LinksPage

    name = "Margaret Dijkstra-Hamilton"
    issue(
        qtbot, ctx, "new_link", LinkRequest(end_user_id="u_w", email="margaret@acme.com", display_name=name)
    )
    page = LinksPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 600)  # the page area of a 1280 window
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.columns.fitted, timeout=10_000)
    header = page.table.horizontalHeader()
    customer = COLUMNS.index("Customer")
    assert header.sectionSize(customer) >= page.table.fontMetrics().horizontalAdvance(name)
    assert not page.table.wordWrap()
    total = sum(header.sectionSize(c) for c in range(header.count()) if not header.isSectionHidden(c))
    assert total <= page.table.viewport().width() + 1  # Status and Expires on screen


@pytest.mark.parametrize("kind", ["unsigned", "invalid", "no_key"])
def test_only_a_verified_webhook_changes_anything(qtbot, ctx, nango_server, notes, secret_store, kind):
    """Issue 14 item 5: unsigned, invalid and not-checked (no key) events are stored and shown, flagged, and
    complete no link, touch no connection row and send no notification (an unsigned POST used to complete
    a pending link while a signing key was set)."""
    if kind == "no_key":
        secret_store.delete("track", SecretKind.SIGNING_KEY)
    ctx.settings.profiles[0].listener.notify_auth_failures = True
    assert ctx.listener.start(), ctx.listener.message
    tracker = tracker_for(ctx)
    conn = Connection.model_validate(list_item(nango_server.connections[0]))
    issued = issue(qtbot, ctx, "reconnect_link", conn)
    body = nango_server.complete_session(token_of(issued.url), success=False)
    received, changed = [], []
    ctx.listener.eventReceived.connect(lambda event, _dup: received.append(event))
    ctx.connectionChanged.connect(lambda *args: changed.append(args))
    key = {"unsigned": None, "invalid": "not-the-signing-key", "no_key": SIGNING_KEY}[kind]
    status, _ = post_webhook(ctx.listener.url, body, key=key)
    assert status == 200  # accepted and stored: the Webhooks page shows it, flagged
    qtbot.waitUntil(lambda: len(received) == 1, timeout=10_000)
    assert str(received[0].verification.status) == kind
    ctx.listener._flush_alerts()  # a notification would be sent now
    assert tracker.store.get(issued.record.id).status is LinkStatus.PENDING
    assert changed == [] and notes == []


def test_polling_backs_off_while_nothing_changes_and_resets_on_a_change(qtbot, ctx, nango_server):
    """Issue 14 item 5d: polling every 20 s forever cost requests (and, before, refreshes); while no pending
    link changes the interval doubles up to 5 min, and the next change brings it back to 20 s."""
    tracker = tracker_for(ctx)
    first = issue(qtbot, ctx, "new_link", LinkRequest(end_user_id="u_back", allowed_integrations=["slack"]))
    issue(qtbot, ctx, "new_link", LinkRequest(end_user_id="u_back2", allowed_integrations=["slack"]))
    assert tracker._poll.interval() == tracker.POLL_MS == 20_000
    tracker._poll.stop()  # ticks driven by hand: each poll() is one timer tick

    def tick() -> int:
        tracker.poll()
        qtbot.waitUntil(lambda: not tracker._polling, timeout=10_000)
        return tracker._poll.interval()

    assert [tick() for _ in range(6)] == [40_000, 80_000, 160_000, 300_000, 300_000, 300_000]
    nango_server.complete_session(token_of(first.url), connection_id="backoff-conn")
    intervals = [tick(), tick()]  # the batch covers both links: the change is seen on the first tick
    assert intervals[0] == 20_000 and tracker.store.get(first.record.id).status is LinkStatus.COMPLETED
    assert intervals[1] == 40_000  # and backs off again from there
