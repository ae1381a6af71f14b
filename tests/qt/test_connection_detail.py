"""ConnectionDetail against FakeNango: contents, lazy credentials, edits (server state checked), errors."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QGuiApplication, QStandardItem
from PySide6.QtWidgets import QWidget

from nango_desktop.domain.models import MASK, Connection
from nango_desktop.ui.connections.detail import ConnectionDetail, link_prefill
from nango_desktop.ui.widgets import DestructiveConfirmDialog
from tests.qt.test_connections_page import make_ctx

TIMEOUT = 20_000


@pytest.fixture
def ctx(qapp, nango_server, secret_store):
    ctx = make_ctx(nango_server, secret_store)
    ctx.errors = []
    ctx.errorRaised.connect(lambda title, detail: ctx.errors.append((title, detail)))
    window = QWidget()
    ctx.attach_window(window)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


@pytest.fixture
def detail(qtbot, ctx):
    widget = ConnectionDetail(ctx)
    qtbot.addWidget(widget)
    widget.resize(600, 700)
    widget.show()
    return widget


def listed(ctx, pred) -> Connection:
    return next(c for c in ctx.client().list_connections(limit=None) if pred(c))


def wait_idle(qtbot, detail) -> None:
    qtbot.waitUntil(lambda: not detail.busy.is_busy(), timeout=TIMEOUT)


def single_gets(server) -> list:
    return [r for r in server.requests if r.method == "GET" and r.path.startswith("/connections/")]


def test_shows_the_list_row_without_reading_credentials(qtbot, detail, ctx, nango_server):
    conn = listed(ctx, lambda c: c.errors and c.tags and c.metadata)
    detail.show_connection(conn)
    assert detail.objectName() == "connectionDetail" and not detail.body.isHidden()
    assert detail.title.text() == conn.customer.customer
    assert detail.subtitle.text() == f"{conn.connection_id} · {conn.provider_config_key}"
    assert detail.info_labels["integration"].text() == conn.provider_config_key
    assert detail.info_labels["email"].text() == (conn.customer.email or "—")
    error = conn.errors[0]
    assert error.log_id in detail.errors.texts()[0]
    assert detail.edited_tags() == conn.tags
    assert json.loads(detail.metadata.toPlainText()) == conn.metadata
    assert "Nango refreshes an expired access token" in detail.credentials_hint.text()
    assert single_gets(nango_server) == []  # nothing read that could refresh credentials
    detail.show_connection(None)
    assert detail.body.isHidden() and not detail.empty.isHidden()


def test_credentials_on_demand_masked_reveal_copy(qtbot, detail, ctx, nango_server):
    conn = listed(ctx, lambda c: c.provider_config_key == "slack")
    detail.show_connection(conn)
    detail.tabs.setCurrentWidget(detail.auth_tab)
    detail.show_credentials_button.click()
    wait_idle(qtbot, detail)
    assert len(single_gets(nango_server)) == 1
    stored = nango_server.find(conn.connection_id, conn.provider_config_key)
    field = detail.credentials_box.findChild(QWidget, "credential_access_token")
    assert field.edit.text() == MASK
    field.reveal.setChecked(True)
    assert field.edit.text() == stored["credentials"]["access_token"]
    field.reveal.setChecked(False)
    assert field.edit.text() == MASK
    field.copy()
    assert QGuiApplication.clipboard().text() == stored["credentials"]["access_token"]
    assert detail.expiry.text().startswith("Expires ")
    assert json.loads(detail.connection_config.toPlainText()) == stored["connection_config"]
    assert detail.info_labels["updated"].text() != "—"
    # another connection: credentials are forgotten
    detail.show_connection(listed(ctx, lambda c: c.connection_id != conn.connection_id))
    assert detail.full is None and detail.credentials_box.isHidden()


def test_tag_edit_round_trip_merges_concurrent_changes(qtbot, detail, ctx, nango_server):
    conn = listed(ctx, lambda c: len(c.tags) >= 3)
    detail.show_connection(conn)
    # someone else adds a tag meanwhile: read-modify-write must keep it
    stored = nango_server.find(conn.connection_id, conn.provider_config_key)
    stored["tags"] = {**stored["tags"], "concurrent": "yes"}
    nango_server.invalidate()
    model = detail.tags_model
    first_key = model.item(0, 0).text()
    model.item(0, 1).setText("new-value")
    removed = model.item(1, 0).text()
    model.removeRow(1)
    model.appendRow([QStandardItem("Team"), QStandardItem("support")])
    with qtbot.waitSignal(ctx.connectionChanged, timeout=TIMEOUT) as blocker:
        detail.tags_save.click()
    assert blocker.args == [conn.connection_id, conn.provider_config_key]
    tags = nango_server.find(conn.connection_id, conn.provider_config_key)["tags"]
    assert tags[first_key] == "new-value" and tags["team"] == "support" and tags["concurrent"] == "yes"
    assert removed not in tags
    patches = [r for r in nango_server.requests if r.method == "PATCH"]
    assert len(patches) == 1
    assert detail.edited_tags() == tags


def test_invalid_tags_are_refused_locally(qtbot, detail, ctx, nango_server):
    detail.show_connection(listed(ctx, lambda c: True))
    detail.tags_model.appendRow([QStandardItem("1bad key"), QStandardItem("x")])
    assert not detail.tags_save.isEnabled() and not detail.tags_errors.isHidden()
    assert "must start with a letter" in detail.tags_errors.text()
    detail.tags_model.removeRow(detail.tags_model.rowCount() - 1)
    detail.tags_model.appendRow([QStandardItem("end_user_email"), QStandardItem("a@b.c")])
    assert "valid email" in detail.tags_errors.text()


def test_server_400_on_tags_is_shown(qtbot, detail, ctx, nango_server):
    detail.show_connection(listed(ctx, lambda c: True))
    detail.tags_model.appendRow([QStandardItem("note"), QStandardItem("hello")])
    nango_server.fail_next(
        400,
        body={"error": {"code": "invalid_body", "message": "Tag value not allowed"}},
        path_prefix="/connections/",
    )
    detail.save_tags()
    qtbot.waitUntil(lambda: bool(ctx.errors), timeout=TIMEOUT)
    assert "Tag value not allowed" in ctx.errors[-1][0]
    assert "Tag value not allowed" in detail.tags_errors.text() and not detail.tags_errors.isHidden()


def test_metadata_edit_validates_and_replaces(qtbot, detail, ctx, nango_server):
    conn = listed(ctx, lambda c: c.metadata)
    detail.show_connection(conn)
    detail.metadata.setPlainText("[1, 2]")
    assert not detail.metadata_save.isEnabled() and "JSON object" in detail.metadata_errors.text()
    detail.metadata.setPlainText("{oops")
    assert "Invalid JSON" in detail.metadata_errors.text()
    detail.metadata.setPlainText('{"plan": "enterprise", "seats": 12}')
    assert detail.metadata_save.isEnabled() and detail.metadata_errors.isHidden()
    with qtbot.waitSignal(ctx.connectionChanged, timeout=TIMEOUT):
        detail.metadata_save.click()
    stored = nango_server.find(conn.connection_id, conn.provider_config_key)
    assert stored["metadata"] == {"plan": "enterprise", "seats": 12}


def test_sync_status_table_and_trigger(qtbot, detail, ctx, nango_server):
    conn = listed(ctx, lambda c: True)
    detail.show_connection(conn)
    syncs = detail.workbench.syncs  # the workbench's sync control replaces the basic Syncs tab
    assert detail.tabs.tabText(detail.tabs.indexOf(syncs)) == "Syncs"
    detail.tabs.setCurrentWidget(syncs)  # loads on first show
    qtbot.waitUntil(lambda: syncs.model.rowCount() > 0, timeout=TIMEOUT)
    names = [syncs.model.item(r, 0).text() for r in range(syncs.model.rowCount())]
    assert all(n.startswith(conn.provider_config_key) for n in names)
    syncs.view.selectRow(0)
    assert syncs.selected() == [names[0]]
    with qtbot.waitSignal(syncs.syncsLoaded, timeout=TIMEOUT):
        syncs.command("incremental")
    assert nango_server.triggered[-1]["syncs"] == [names[0]]
    assert nango_server.triggered[-1]["connection_id"] == conn.connection_id
    wait_idle(qtbot, detail)


def test_refresh_credentials(qtbot, detail, ctx, nango_server):
    conn = listed(ctx, lambda c: c.provider_config_key == "hubspot")
    detail.show_connection(conn)
    with qtbot.waitSignal(ctx.notified, timeout=TIMEOUT) as blocker:
        detail.refresh_credentials_button.click()
    assert blocker.args[0] == "Credentials refreshed"
    assert single_gets(nango_server)[-1].param("force_refresh") == "true"
    assert detail.tabs.currentWidget() is detail.auth_tab and detail.full is not None
    assert detail.notice.isHidden()


def test_refresh_exhausted_424_offers_a_reconnect_link(qtbot, detail, ctx, nango_server, monkeypatch):
    conn = listed(ctx, lambda c: c.provider_config_key == "hubspot")
    nango_server.mark_refresh_exhausted(conn.connection_id, conn.provider_config_key)
    requested = []
    monkeypatch.setattr(ctx, "request_reconnect_links", lambda conns: requested.append(list(conns)))
    detail.show_connection(conn)
    detail.refresh_credentials()
    qtbot.waitUntil(lambda: not detail.notice.isHidden(), timeout=TIMEOUT)
    assert "Refresh exhausted" in detail.notice_text.text() and "reconnect link" in detail.notice_text.text()
    assert "refresh limit" in ctx.errors[-1][0] and "424" in ctx.errors[-1][1]
    detail.notice_button.click()
    assert [c.connection_id for c in requested[0]] == [conn.connection_id]


@pytest.mark.parametrize(
    ("status", "title"),
    [(401, "API key was rejected"), (403, "lacks"), (429, "rate limit"), (500, "server had an error")],
)
def test_errors_are_shown(qtbot, detail, ctx, nango_server, status, title):
    detail.show_connection(listed(ctx, lambda c: True))
    nango_server.fail_next(status, path_prefix="/connections/")
    detail.load_full()
    qtbot.waitUntil(lambda: bool(ctx.errors), timeout=TIMEOUT)
    assert title in ctx.errors[-1][0] and str(status) in ctx.errors[-1][1]
    assert detail.full is None
    detail.load_full()  # still works afterwards
    qtbot.waitUntil(lambda: detail.full is not None, timeout=TIMEOUT)


def test_webhook_override(qtbot, detail, ctx, nango_server):
    conn = listed(ctx, lambda c: True)
    detail.show_connection(conn)
    detail.load_full()
    qtbot.waitUntil(lambda: detail.full is not None, timeout=TIMEOUT)
    detail.webhook_override.setText("ftp://nope")
    detail.save_webhook_override()
    assert "must start with" in detail.webhook_hint.text()
    detail.webhook_override.setText("https://hooks.example.com/nango")
    with qtbot.waitSignal(ctx.connectionChanged, timeout=TIMEOUT):
        detail.save_webhook_override()
    stored = nango_server.find(conn.connection_id, conn.provider_config_key)
    assert stored["webhook_url_override"] == "https://hooks.example.com/nango"
    detail.load_full()
    qtbot.waitUntil(lambda: detail.full is not None, timeout=TIMEOUT)
    assert detail.webhook_override.text() == "https://hooks.example.com/nango"


def test_delete_on_production_asks_to_type_the_id(qtbot, nango_server, secret_store, monkeypatch):
    ctx = make_ctx(nango_server, secret_store, production=True)
    try:
        widget = ConnectionDetail(ctx)
        qtbot.addWidget(widget)
        conn = listed(ctx, lambda c: True)
        widget.show_connection(conn)
        asked = []
        monkeypatch.setattr(
            DestructiveConfirmDialog, "ask", classmethod(lambda cls, parent, **kw: asked.append(kw) or True)
        )
        with qtbot.waitSignal(ctx.connectionChanged, timeout=TIMEOUT):
            widget.delete_button.click()
        assert asked[0]["production"] is True and asked[0]["connection_id"] == conn.connection_id
        assert nango_server.find(conn.connection_id, conn.provider_config_key) is None
    finally:
        ctx.shutdown(timeout=10.0)


def test_actions_and_prefill(qtbot, detail, ctx, monkeypatch):
    conn = listed(ctx, lambda c: c.customer.end_user_id and c.customer.organization_id)
    calls = []
    monkeypatch.setattr(
        ctx, "request_reconnect_links", lambda conns: calls.append(("reconnect", list(conns)))
    )
    monkeypatch.setattr(ctx, "request_new_link", lambda prefill=None: calls.append(("new", prefill)))
    detail.show_connection(conn)
    detail.reconnect_button.click()
    detail.new_link_button.click()
    detail.copy_id_button.click()
    assert calls[0] == ("reconnect", [conn])
    assert calls[1] == ("new", link_prefill(conn))
    assert calls[1][1]["end_user_id"] == conn.customer.end_user_id
    assert calls[1][1]["organization_id"] == conn.customer.organization_id
    assert QGuiApplication.clipboard().text() == conn.connection_id


def test_merge_tags():
    merged = ConnectionDetail.merge_tags(
        current={"a": "1", "b": "2", "new": "x"}, original={"a": "1", "b": "2"}, edited={"a": "9", "C": "3"}
    )
    assert merged == {"a": "9", "c": "3", "new": "x"}


def test_recent_webhook_events_slot(qtbot, detail, ctx):
    detail.show_connection(listed(ctx, lambda c: True))
    detail.tabs.setCurrentWidget(detail.webhooks_tab)
    assert detail._recent is not None
    assert detail.webhooks_tab.findChild(QWidget, "recentWebhookEvents") is not None


def test_errors_box_explains_each_error_with_copy_and_open_in_nango(qtbot, detail, ctx, nango_server):
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QLabel, QPushButton

    conn = listed(ctx, lambda c: c.has_auth_error and c.auth_error_log_id)
    opened: list[str] = []
    detail.errors.open_url = lambda url: opened.append(url) or True
    detail.show_connection(conn)
    box = detail.errors
    title = box.findChild(QLabel, "detailErrorTitle_0")
    assert title is not None and "Authorization error" in title.text()
    assert box.findChild(QLabel, "detailErrorLogId_0").text() == f"Log id: {conn.auth_error_log_id}"
    assert "reconnect" in box.texts()[0]
    box.findChild(QPushButton, "detailErrorCopy_0").click()  # a button, not an undocumented double-click
    assert QGuiApplication.clipboard().text() == conn.auth_error_log_id
    base = f"{ctx.profile.dashboard_base}/{ctx.profile.environment}"
    box.findChild(QPushButton, "detailErrorOpenLog_0").click()
    box.open_connection.click()
    box.open_integration.click()
    assert opened == [
        f"{base}/logs?operationId={conn.auth_error_log_id}",
        f"{base}/connections/{conn.provider_config_key}/{conn.connection_id}",
        f"{base}/integrations/{conn.provider_config_key}",
    ]
    ok = listed(ctx, lambda c: not c.errors)
    detail.show_connection(ok)
    assert not box.empty.isHidden() and box.findChild(QPushButton, "detailErrorCopy_0") is None


@pytest.mark.parametrize("exhausted", [False, True], ids=["backing-off", "exhausted"])
def test_refresh_424_banner_tells_back_off_from_exhausted(qtbot, detail, ctx, nango_server, exhausted):
    """Issue 14: a back-off (wait and retry) is not shown as "refresh exhausted" (send a reconnect link)."""
    conn = listed(ctx, lambda c: c.provider_config_key == "hubspot")
    cid, iid = conn.connection_id, conn.provider_config_key
    nango_server.expire_token(cid, iid)
    nango_server.fail_refresh(cid, iid)
    nango_server.refresh.max_failures = 1 if exhausted else 3
    stored = nango_server.find(cid, iid)
    stored["_refresh_backoff_until"] = nango_server.clock() + 30  # a failed attempt just happened
    if exhausted:
        stored["_refresh_exhausted"] = True
    detail.show_connection(conn)
    detail.refresh_credentials()
    qtbot.waitUntil(lambda: not detail.notice.isHidden(), timeout=TIMEOUT)
    text = detail.notice_text.text()
    if exhausted:
        assert text.startswith("Refresh exhausted") and "reconnect link" in text
        assert detail.notice_button.isVisibleTo(detail) and not detail.notice_retry.isVisibleTo(detail)
    else:
        assert text.startswith("Backing off") and "Wait about 30" in text and "exhausted" not in text.lower()
        assert detail.notice_retry.isVisibleTo(detail) and not detail.notice_button.isVisibleTo(detail)
    wait_idle(qtbot, detail)


def test_webhook_override_is_shown_before_editing_and_removed_only_on_purpose(
    qtbot, detail, ctx, nango_server, monkeypatch
):
    """Issue 14 item 5c: Save on the empty, not yet loaded field removed an existing override, unasked."""
    conn = listed(ctx, lambda c: True)
    stored = nango_server.find(conn.connection_id, conn.provider_config_key)
    stored["webhook_url_override"] = "https://hooks.example.com/keep"
    detail.show_connection(conn)
    assert not detail.webhook_override.isEnabled() and not detail.webhook_save.isEnabled()
    detail.save_webhook_override()  # even if called: nothing is sent before the value is loaded
    patches = lambda: [r for r in nango_server.requests if r.method == "PATCH"]  # noqa: E731
    assert patches() == [] and stored["webhook_url_override"] == "https://hooks.example.com/keep"
    detail.load_full()
    qtbot.waitUntil(lambda: detail.full is not None, timeout=TIMEOUT)
    assert detail.webhook_override.text() == "https://hooks.example.com/keep"
    assert detail.webhook_override.isEnabled() and detail.webhook_remove.isEnabled()
    detail.webhook_override.setText("")
    detail.save_webhook_override()  # an emptied field is not a removal
    assert patches() == [] and "Remove override" in detail.webhook_hint.text()
    asked = []
    answers = [False, True]
    monkeypatch.setattr(
        ConnectionDetail,
        "confirm_remove_override",
        staticmethod(lambda parent, cid, current: asked.append(current) or answers.pop(0)),
    )
    detail.remove_webhook_override()  # declined
    assert patches() == [] and asked == ["https://hooks.example.com/keep"]
    with qtbot.waitSignal(ctx.connectionChanged, timeout=TIMEOUT):
        detail.remove_webhook_override()
    assert stored["webhook_url_override"] is None and len(patches()) == 1
    assert not detail.webhook_remove.isEnabled()
    wait_idle(qtbot, detail)


def test_with_a_key_that_cannot_read_credentials_the_details_load_on_selection(
    qtbot, detail, ctx, nango_server
):
    """Issue 17: updated, connection config and webhook override without reading credentials. A support key
    without read_credentials (as NOTES.md recommends) gets the connection from GET /connections/{id} without
    credentials and without any refresh; once that is seen, the details load by themselves on selection."""
    nango_server.scopes = ["environment:connections:list", "environment:connections:read"]
    first = listed(ctx, lambda c: c.provider_config_key == "slack")
    detail.show_connection(first)
    assert single_gets(nango_server) == []  # not known yet: nothing read before the user asks
    detail.show_credentials_button.click()
    wait_idle(qtbot, detail)
    assert (
        "cannot read credentials" in detail.credentials_box.findChild(QWidget, "detailNoCredentials").text()
    )
    second = listed(
        ctx, lambda c: c.connection_id != first.connection_id and c.provider_config_key == "github"
    )
    stored = nango_server.find(second.connection_id, second.provider_config_key)
    stored["webhook_url_override"] = "https://hooks.example.com/second"
    detail.show_connection(second)
    qtbot.waitUntil(lambda: detail.full is not None, timeout=TIMEOUT)  # no click
    assert json.loads(detail.connection_config.toPlainText()) == stored["connection_config"]
    assert detail.webhook_override.text() == "https://hooks.example.com/second"
    assert detail.info_labels["updated"].text() not in ("—", "— (loaded with the credentials)")
    assert "cannot read credentials" in detail.credentials_hint.text() or detail.credentials_hint.isHidden()
    assert all(r.param("force_refresh") in (None, "false") for r in single_gets(nango_server))


def test_the_tabs_keep_their_order_with_the_workbench_installed(detail):
    """Issue 13: the old Syncs tab code is gone; the workbench's tabs sit where it was, after Metadata."""
    titles = [detail.tabs.tabText(i) for i in range(detail.tabs.count())]
    assert titles == [
        "Overview", "Tags", "Metadata", "Syncs", "Records", "Actions", "Proxy", "Credentials && config", "Webhooks",
    ]  # fmt: skip
    assert detail.tabs.widget(3) is detail.workbench.syncs
