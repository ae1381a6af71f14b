"""Reconnect links and the result view against FakeNango: tags, apiURL, copy, QR, countdown, revoke, inspect."""

from __future__ import annotations

import time

import pytest
import segno
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from nango_desktop.domain.links import LinkStatus, token_of
from nango_desktop.domain.models import Connection
from nango_desktop.session.link_tracker import tracker_for
from nango_desktop.ui.links import actions
from nango_desktop.ui.links.qr import read_modules
from nango_desktop.ui.links.result import LinkResultDialog, format_remaining
from tests.nango_server import list_item


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def result_dialogs() -> list[LinkResultDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, LinkResultDialog) and w.isVisible()]


@pytest.fixture
def clock(profile_ctx) -> Clock:
    clock = Clock()
    tracker_for(profile_ctx).clock = clock
    return clock


@pytest.fixture
def reconnect(qtbot, profile_ctx, nango_server, clock):
    """Issue a reconnect link for the first connection through actions.reconnect_links; returns its view."""
    opened: list[LinkResultDialog] = []

    def issue(index: int = 0):
        conn = Connection.model_validate(list_item(nango_server.connections[index]))
        before = set(result_dialogs())  # a dialog another test left open is not ours
        actions.reconnect_links(profile_ctx, None, [conn])
        qtbot.waitUntil(lambda: bool(set(result_dialogs()) - before))
        dialog = next(d for d in result_dialogs() if d not in before)
        opened.append(dialog)
        return dialog.view

    yield issue
    for dialog in opened:
        dialog.close()


def test_reconnect_reads_and_sends_the_current_tags(reconnect, nango_server):
    conn = nango_server.connections[0]
    conn["tags"] = dict(conn["tags"], plan="enterprise")  # changed since the list was loaded
    nango_server.invalidate()
    view = reconnect(0)
    # the tags come from the list endpoint, never the refreshing GET /connections/{id} (issue 14)
    assert not nango_server.requests_to(f"/connections/{conn['connection_id']}", "GET")
    listed = nango_server.requests_to("/connections", "GET")
    assert listed and listed[-1].param("connectionId") == conn["connection_id"]
    (request,) = nango_server.requests_to("/connect/sessions/reconnect", "POST")
    assert request.body == {
        "connection_id": conn["connection_id"],
        "integration_id": conn["provider_config_key"],
        "tags": conn["tags"],
    }
    assert request.body["tags"]["plan"] == "enterprise"
    record = view.record
    assert (record.kind, record.connection_id, record.integration_ids) == (
        "reconnect", conn["connection_id"], [conn["provider_config_key"]]
    )  # fmt: skip
    assert (
        record.end_user_id == conn["tags"]["end_user_id"] and record.email == conn["tags"]["end_user_email"]
    )


def test_completed_reconnect_keeps_the_tags(reconnect, nango_server):
    conn = nango_server.connections[0]
    before = dict(conn["tags"])
    view = reconnect(0)
    nango_server.complete_session(token_of(view.url))
    assert nango_server.connections[0]["tags"] == before


def test_self_hosted_link_carries_the_api_url(reconnect, nango_server):
    view = reconnect(0)
    (token,) = nango_server.sessions
    api = nango_server.url.replace(":", "%3A").replace("/", "%2F")
    assert view.url == f"{nango_server.connect_ui_url.rstrip('/')}/?session_token={token}&apiURL={api}"
    assert view.link_edit.text() == view.url


def test_copy_link_and_message(reconnect):
    view = reconnect(0)
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == view.url
    view.copy_message_button.click()
    message = QGuiApplication.clipboard().text()
    assert view.url in message and "reconnect your" in message


def test_qr_code_decodes_to_the_link(reconnect):
    view = reconnect(0)
    image = view.qr.pixmap().toImage()
    expected = [[bool(module) for module in row] for row in segno.make_qr(view.url, error="m").matrix]
    assert read_modules(image) == expected
    other = [[bool(m) for m in row] for row in segno.make_qr(view.url + "x", error="m").matrix]
    assert read_modules(image) != other


def test_countdown_and_expiry(qtbot, reconnect, clock, profile_ctx):
    view = reconnect(0)
    record = view.record
    tracker = tracker_for(profile_ctx)
    assert abs((record.expires_at - clock()) - 1800) < 60  # Nango's fixed 30 minutes
    clock.now = record.expires_at - 61
    view.tick()
    assert view.countdown.text() == "01:01" == format_remaining(61)
    assert view.copy_button.isEnabled() and record.id in tracker.tokens
    clock.now = record.expires_at + 1
    with qtbot.waitSignal(tracker.linkChanged, timeout=5000):
        view.tick()
    assert view.record.status is LinkStatus.EXPIRED
    assert tracker.store.get(record.id).status is LinkStatus.EXPIRED
    assert record.id not in tracker.tokens  # the token is dropped once the link is dead
    assert not view.copy_button.isEnabled() and not view.revoke_button.isEnabled()
    assert view.countdown.text() == "expired" and "Expired" in view.status_label.text()


def test_revoke_deletes_the_session(qtbot, reconnect, nango_server, profile_ctx):
    view = reconnect(0)
    token = token_of(view.url)
    tracker = tracker_for(profile_ctx)
    with qtbot.waitSignal(tracker.linkChanged, timeout=10_000):
        view.revoke_button.click()
    (delete,) = nango_server.requests_to("/connect/session", "DELETE")
    assert nango_server.sessions[token]["deleted"]
    assert view.record.status is LinkStatus.REVOKED and "Revoked" in view.status_label.text()
    assert tracker.store.get(view.record.id).status is LinkStatus.REVOKED
    assert view.record.id not in tracker.tokens
    assert not view.revoke_button.isEnabled()


def test_inspect_shows_the_session_without_its_token(qtbot, reconnect, nango_server):
    view = reconnect(0)
    view.inspect_button.click()
    qtbot.waitUntil(lambda: "reconnecting" in view.inspect_output.toPlainText().lower(), timeout=10_000)
    text = view.inspect_output.toPlainText()
    assert nango_server.connections[0]["provider_config_key"] in text
    assert token_of(view.url) not in text
    assert nango_server.requests_to("/connect/session", "GET")


def test_reopened_live_link_shows_the_full_link(qtbot, reconnect, profile_ctx):
    view = reconnect(0)
    dialog = LinkResultDialog(tracker_for(profile_ctx), view.record)
    qtbot.addWidget(dialog)
    assert dialog.view.url == view.url and dialog.view.copy_button.isEnabled()


def test_reopened_link_without_token_cannot_be_copied(qtbot, reconnect, profile_ctx):
    view = reconnect(0)
    tracker = tracker_for(profile_ctx)
    tracker.tokens.drop(view.record.id)
    dialog = LinkResultDialog(tracker, view.record)
    qtbot.addWidget(dialog)
    assert dialog.view.url is None and not dialog.view.copy_button.isEnabled()
    assert "session_token" not in dialog.view.link_edit.text()


def test_reconnect_error_goes_to_the_error_banner(qtbot, profile_ctx, nango_server):
    conn = Connection.model_validate(list_item(nango_server.connections[0]))
    nango_server.connections.pop(0)
    nango_server.invalidate()
    before = set(result_dialogs())  # dialogs other tests left open are not ours
    actions.reconnect_links(profile_ctx, None, [conn])
    qtbot.waitUntil(lambda: bool(profile_ctx.pending_errors()), timeout=10_000)  # no window: buffered
    (title, detail), *_ = profile_ctx.pending_errors()
    assert title.startswith("Not found") and conn.connection_id in detail
    assert not set(result_dialogs()) - before


def test_message_names_integrations_by_display_name(qtbot, reconnect, nango_server):
    view = reconnect()
    integration = view.record.integration_ids[0]
    display = next(i["display_name"] for i in nango_server.integrations if i["unique_key"] == integration)
    assert display != integration
    qtbot.waitUntil(lambda: f"reconnect your {display} account" in view.message.toPlainText())


def test_qr_code_is_whole_when_inspect_opens(qtbot, reconnect):
    """Issue 14 item 8: opening Inspect squeezed the QR code's row and cropped the code."""
    from PySide6.QtWidgets import QApplication

    view = reconnect(0)
    dialog = view.window()
    dialog.show()
    qtbot.waitExposed(dialog)
    pixmap = view.qr.pixmap().size()
    view.inspect_button.click()
    qtbot.waitUntil(lambda: "reconnecting" in view.inspect_output.toPlainText().lower(), timeout=10_000)
    QApplication.processEvents()
    shown = view.qr.contentsRect().size()
    assert shown.width() >= pixmap.width() and shown.height() >= pixmap.height(), (shown, pixmap)
    assert view.inspect_output.isVisible() and view.inspect_output.height() > 0
