"""The webhook inspector (WebhooksPage, EventsModel, EventDetail, RecentEventsWidget) with a real AppContext.

Events are posted over real HTTP, from other threads, to the listener started from the page; the store is
a real SQLite file; everything waits on the Qt event loop (qtbot.waitUntil / waitSignal), never sleeps.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest
from PySide6.QtGui import QGuiApplication

from nango_desktop.services.secrets import SecretKind, SecretStore
from nango_desktop.services.signing import key_fingerprint, sign_headers, verify
from nango_desktop.settings import ListenerSettings, Profile, Settings
from nango_desktop.store.events import EventFilter, EventStore
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.webhooks import model as m
from nango_desktop.ui.webhooks.detail import curl_command, error_position
from nango_desktop.ui.webhooks.page import RecentEventsWidget, WebhooksPage
from tests.helpers import MemoryKeyring
from tests.webhook_helpers import (
    PREVIOUS_KEY,
    SIGNING_KEY,
    async_action_webhook,
    auth_webhook,
    forward_webhook,
    nango_headers,
    nango_json,
    post_raw,
    post_webhook,
    running_listener,
    sync_webhook,
)


@pytest.fixture
def ctx(qtbot, tmp_path):
    secrets = SecretStore(MemoryKeyring())
    secrets.set("test", SecretKind.SIGNING_KEY, SIGNING_KEY)
    secrets.set("test", SecretKind.PREVIOUS_SIGNING_KEY, PREVIOUS_KEY)
    settings = Settings(profiles=[Profile(name="test", listener=ListenerSettings(port=0))])
    context = AppContext(settings, secrets, settings_path=tmp_path / "profiles.json")
    yield context
    context.shutdown()


@pytest.fixture
def page(qtbot, ctx):
    widget = WebhooksPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.detail_pane.set_open(True)  # the offscreen screen is narrow: the pane would start closed
    widget.show()
    return widget


def start(qtbot, page) -> str:
    page.toggle_button.click()
    qtbot.waitUntil(lambda: page.state_label.property("state") == "listening")
    return page._listener.url


def post_from_thread(url, payloads, key=SIGNING_KEY, **kw) -> threading.Thread:
    def run():
        for payload in payloads:
            post_webhook(url, payload, key, **kw)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def deliver(qtbot, page, url, payloads, key=SIGNING_KEY, **kw) -> None:
    """Post from another thread and wait until the table shows them (flushed)."""
    before = page.model.received_total
    thread = post_from_thread(url, payloads, key, **kw)
    qtbot.waitUntil(
        lambda: page.model.received_total >= before + len(payloads) and not page.model.pending_count()
    )
    thread.join()


def post_keepalive(url, payloads, key=SIGNING_KEY) -> None:
    """Post like a busy Nango: one keep-alive connection, signed bodies, one after the other."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        for payload in payloads:
            raw = nango_json(payload)
            conn.request("POST", parts.path, body=raw, headers=nango_headers(raw, key))
            response = conn.getresponse()
            response.read()
            assert response.status == 200
    finally:
        conn.close()


def column(page, col) -> list[str]:
    return [page.model.index(r, col).data() for r in range(page.model.rowCount())]


def select_event(qtbot, page, event_id):
    row = page.model.row_of(event_id)
    page.select_row(row)
    qtbot.waitUntil(lambda: page.detail.event is not None and page.detail.event.id == event_id)


# -- listener state ------------------------------------------------------------------------------------


def test_start_stop_from_the_page_and_state_always_visible(qtbot, page):
    assert "Stopped" in page.state_label.text()
    assert page.toggle_button.text() == "Start listener"
    url = start(qtbot, page)
    assert url in page.state_label.text()
    assert page.toggle_button.text() == "Stop listener"
    page.copy_url_button.click()
    assert QGuiApplication.clipboard().text() == url
    page.toggle_button.click()
    qtbot.waitUntil(lambda: page.state_label.property("state") == "stopped")
    assert "Stopped" in page.state_label.text() and page.toggle_button.text() == "Start listener"


def test_port_in_use_shows_error_with_suggestion(qtbot, page):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        page.port_spin.setValue(port)
        page.apply_settings()
        page.toggle_button.click()
        qtbot.waitUntil(lambda: page.state_label.property("state") == "error")
    text = page.state_label.text()
    assert f"Port {port} is already in use" in text and "choose another port" in text
    assert page.settings_panel.isVisible(), "the settings where the port is fixed are opened"
    assert page.toggle_button.text() == "Start listener"


def test_non_loopback_bind_shows_a_warning(qtbot, page):
    page.settings_toggle.setChecked(True)
    assert not page.bind_warning.isVisible()
    page.host_edit.setCurrentText("0.0.0.0")
    assert page.bind_warning.isVisible() and "other machines" in page.bind_warning.text()
    page.host_edit.setCurrentText("127.0.0.1")
    assert not page.bind_warning.isVisible()


def test_reachability_panel_builds_and_saves_the_public_url(qtbot, page, ctx, tmp_path):
    assert page.reach_panel.isVisible(), "shown while no public URL is configured"
    assert (
        "never delivers webhooks to localhost"
        in page.reach_panel.findChildren(type(page.state_label))[0].text()
    )
    assert not page.copy_nango_button.isEnabled()
    page.public_edit.setText("https://tunnel.example.com/")
    assert page.nango_url.text() == "https://tunnel.example.com/webhooks/nango"
    page.public_edit.editingFinished.emit()
    assert ctx.profile.listener.public_url == "https://tunnel.example.com/"
    saved = tmp_path / "profiles.json"
    qtbot.waitUntil(lambda: saved.exists() and "tunnel.example.com" in saved.read_text())
    page.copy_nango_button.click()
    assert QGuiApplication.clipboard().text() == "https://tunnel.example.com/webhooks/nango"


# -- live table -----------------------------------------------------------------------------------------


def test_events_posted_from_another_thread_appear_in_the_table(qtbot, page, qtmodeltester):
    url = start(qtbot, page)
    payloads = [
        auth_webhook(connection_id="c1", integration="hubspot-crm"),
        auth_webhook(connection_id="c2", integration="slack", operation="refresh", success=False),
        sync_webhook(connection_id="c3", integration="hubspot-crm"),
        async_action_webhook(connection_id="c4"),
        forward_webhook(connection_id="c5"),
        [{"subscriptionType": "contact.creation", "objectId": 7}],  # a raw provider payload (unwrapped)
    ]
    thread = post_from_thread(url, payloads)
    qtbot.waitUntil(lambda: page.model.rowCount() == 6)
    thread.join()
    assert column(page, m.TYPE) == ["raw", "forward", "async_action", "sync", "auth", "auth"]  # newest first
    assert column(page, m.CONNECTION) == ["", "c5", "c4", "c3", "c2", "c1"]
    assert column(page, m.SIGNATURE) == ["verified"] * 6
    row_c2 = page.model.row_of(page.model.event_at(4).id)
    assert page.model.index(row_c2, m.SUCCESS).data() == "FAILED"
    assert page.model.index(row_c2, m.OPERATION).data() == "refresh"
    assert page.model.index(row_c2, m.END_USER).data() == "u1"
    assert "refresh_token_external_error" in page.model.index(row_c2, m.SUCCESS).data(
        m.Qt.ItemDataRole.ToolTipRole
    )
    assert page.count_label.text().startswith("6")
    qtmodeltester.check(page.model)


def test_duplicate_is_counted_not_shown_twice(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="dup")] * 3)
    assert page.model.rowCount() == 1
    qtbot.waitUntil(lambda: page.model.event_at(0).duplicates == 2)
    assert page.model.index(0, m.DUPLICATES).data() == "2"
    assert ctx.event_store.count() == 1


def test_filters_by_type_operation_success_integration_connection(qtbot, page):
    url = start(qtbot, page)
    deliver(
        qtbot,
        page,
        url,
        [
            auth_webhook(connection_id="c1", integration="hubspot-crm"),
            auth_webhook(connection_id="c2", integration="slack", operation="refresh", success=False),
            sync_webhook(connection_id="c3", integration="hubspot-crm"),
            sync_webhook(connection_id="c4", integration="slack", success=False),
        ],
    )

    def shown_after(change) -> list[str]:
        change()
        qtbot.waitUntil(lambda: not page.model.loading and not page._filter_timer.isActive())
        return sorted(column(page, m.CONNECTION))

    assert shown_after(lambda: page.type_combo.setCurrentText("sync")) == ["c3", "c4"]
    assert shown_after(lambda: page.success_combo.setCurrentText("failure")) == ["c4"]
    assert shown_after(lambda: page.type_combo.setCurrentIndex(0)) == ["c2", "c4"]
    assert shown_after(lambda: page.operation_combo.setCurrentText("refresh")) == ["c2"]
    page.clear_filters()
    assert shown_after(lambda: page.integration_combo.setCurrentText("hubspot-crm")) == ["c1", "c3"]
    assert shown_after(lambda: page.connection_edit.setText("c3")) == ["c3"]
    page.clear_filters()
    qtbot.waitUntil(lambda: page.model.rowCount() == 4)
    assert page.integration_combo.findText("slack") > 0, "integrations seen are offered in the filter"

    # live events respect the filter too
    assert shown_after(lambda: page.type_combo.setCurrentText("sync")) == ["c3", "c4"]
    deliver(qtbot, page, url, [auth_webhook(connection_id="c5"), sync_webhook(connection_id="c6")])
    assert sorted(column(page, m.CONNECTION)) == ["c3", "c4", "c6"]


def test_full_text_search_in_bodies_runs_in_the_store(qtbot, page):
    url = start(qtbot, page)
    deliver(
        qtbot,
        page,
        url,
        [
            auth_webhook(connection_id="c1", tags={"project": "Zebra-Project"}),
            auth_webhook(connection_id="c2", tags={"project": "lion"}),
            sync_webhook(connection_id="c3", model="ZebraModel"),
        ],
    )
    page.search_edit.setText("zebra")
    page.search_edit.flush()
    qtbot.waitUntil(lambda: not page.model.loading and sorted(column(page, m.CONNECTION)) == ["c1", "c3"])
    deliver(
        qtbot,
        page,
        url,
        [auth_webhook(connection_id="c4", tags={"z": "zebra"}), auth_webhook(connection_id="c5")],
    )
    assert sorted(column(page, m.CONNECTION)) == ["c1", "c3", "c4"]
    page.search_edit.clear()
    page.search_edit.flush()
    qtbot.waitUntil(lambda: page.model.rowCount() == 5)


# -- detail ---------------------------------------------------------------------------------------------


def test_detail_shows_the_signature_check(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="right")])
    deliver(qtbot, page, url, [auth_webhook(connection_id="previous")], key=PREVIOUS_KEY)
    deliver(qtbot, page, url, [auth_webhook(connection_id="legacy")], hmac=False)
    deliver(qtbot, page, url, [auth_webhook(connection_id="wrong")], key="not-the-key")
    deliver(qtbot, page, url, [auth_webhook(connection_id="unsigned")], key=None)
    by_connection = {e.summary.connection_id: e for e in page.model.events()}
    assert [
        page.model.index(page.model.row_of(by_connection[c].id), m.SIGNATURE).data() for c in by_connection
    ] == [
        "unsigned",
        "invalid",
        "invalid",  # legacy signature only: refused by default (issue 19 item 2)
        "verified",
        "verified",
    ]

    def signature_text(connection_id) -> str:
        select_event(qtbot, page, by_connection[connection_id].id)
        return page.detail.signature_view.toPlainText()

    text = signature_text("right")
    assert "Verified with X-Nango-Hmac-Sha256 and the current key" in text
    assert text.count("match") == 2 and "does not match" not in text
    assert "fingerprint " + key_fingerprint(SIGNING_KEY) in text
    assert "the previous key (#1)" in signature_text("previous")
    legacy = signature_text("legacy")
    assert "Invalid" in legacy and "legacy signature only: refused" in legacy
    wrong = signature_text("wrong")
    event = by_connection["wrong"]
    assert "Invalid" in wrong and "does not match" in wrong
    assert event.verification.hmac_result == event.verification.legacy_result == "mismatch"
    assert event.verification.received_hmac in wrong
    for value in sign_headers(SIGNING_KEY, event.body).values():  # no signing oracle (issue 19 item 1)
        assert value not in wrong and value not in page.detail.signature_view.toHtml()
    assert "Unsigned" in signature_text("unsigned") and "(not sent)" in signature_text("unsigned")
    assert SIGNING_KEY not in page.detail.signature_view.toHtml()


def test_detail_body_headers_raw_and_malformed_position(qtbot, page):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="ünïcode")])
    event = page.model.event_at(0)
    select_event(qtbot, page, event.id)
    assert page.detail.body_view.toPlainText() == json.dumps(
        json.loads(event.body), indent=2, ensure_ascii=False
    )
    assert page.detail.raw_view.toPlainText() == event.body.decode()
    headers = {
        page.detail.headers_model.item(r, 0).text(): page.detail.headers_model.item(r, 1).text()
        for r in range(page.detail.headers_model.rowCount())
    }
    assert headers["X-Nango-Hmac-Sha256"] == event.verification.received_hmac
    assert not page.detail.problem.isVisible()

    raw = b'{"type":"auth","connectionId":"c1",oops}'
    thread = threading.Thread(target=post_raw, args=(url, raw, nango_headers(raw)))
    thread.start()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2 and not page.model.pending_count())
    thread.join()
    bad = page.model.event_at(0)
    assert page.model.index(0, m.TYPE).data() == "malformed"
    select_event(qtbot, page, bad.id)
    assert page.detail.problem.isVisible() and "line 1, column 36" in page.detail.problem.text()
    (selection,) = page.detail.body_view.extraSelections()
    assert selection.cursor.selectionStart() == raw.index(b"oops") == error_position(raw)[0]


def test_pin_from_detail_updates_row_and_store(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="keep")])
    event = page.model.event_at(0)
    select_event(qtbot, page, event.id)
    page.detail.pin_button.click()
    assert page.model.index(0, m.PINNED).data() == "★"
    qtbot.waitUntil(lambda: ctx.event_store.get(event.id).pinned)
    assert page.detail.pin_button.text() == "Unpin"
    page.pinned_check.setChecked(True)
    qtbot.waitUntil(
        lambda: page.model.filter.pinned is True and not page.model.loading and page.model.rowCount() == 1
    )
    select_event(qtbot, page, event.id)  # a filter change clears the detail
    page.detail.pin_button.click()
    qtbot.waitUntil(lambda: not ctx.event_store.get(event.id).pinned)

    menu = page.context_menu()  # the table's right-click menu acts on the selected event
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[:4] == ["Pin", "Open connection", "Copy as curl", "Replay"]
    menu.findChild(type(menu.actions()[0]), "actionPinWebhook").trigger()
    qtbot.waitUntil(lambda: ctx.event_store.get(event.id).pinned)
    assert page.detail.pin_button.text() == "Unpin"


def test_open_connection_navigates(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="c-42", integration="slack")])
    select_event(qtbot, page, page.model.event_at(0).id)
    with qtbot.waitSignal(ctx.navigateRequested) as nav:
        page.detail.open_button.click()
    assert nav.args == ["connections", {"connection_id": "c-42", "integration_id": "slack"}]


def test_copy_as_curl_resends_the_exact_request(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="çurl", tags={"q": 'it\'s "quoted"'})])
    event = page.model.event_at(0)
    select_event(qtbot, page, event.id)
    page.detail.curl_button.click()
    command = QGuiApplication.clipboard().text()
    assert command.startswith("curl ") and "X-Nango-Hmac-Sha256" in command and url in command
    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    done = threading.Event()
    threading.Thread(
        target=lambda: (subprocess.run(["sh", "-c", command], check=True, capture_output=True), done.set())
    ).start()
    qtbot.waitUntil(lambda: done.is_set() and page.model.event_at(0).duplicates == 1)
    assert page.model.rowCount() == 1, "the same bytes and signature: recognised as a duplicate delivery"


def test_detail_without_a_signing_key(qtbot):
    from nango_desktop.store.events import StoredEvent
    from nango_desktop.ui.webhooks.detail import EventDetail

    raw = nango_json(auth_webhook())
    headers = nango_headers(raw)
    event = StoredEvent(9, time.time(), "127.0.0.1", "POST", "/w", headers, raw, verify(raw, headers, []), None,
                        None, 0, False, "p", None)  # fmt: skip
    detail = EventDetail()
    qtbot.addWidget(detail)
    detail.set_event(event)
    text = detail.signature_view.toPlainText()
    assert "Not checked: no webhook signing key is configured" in text
    assert headers["X-Nango-Hmac-Sha256"] in text and "fingerprint" not in text
    assert not detail.open_button.isEnabled(), "no summary given: nothing to open"


def test_curl_command_for_binary_body():
    from nango_desktop.store.events import StoredEvent

    raw = b"\xff\x00{'"
    event = StoredEvent(1, 0.0, "127.0.0.1", "POST", "/w", {"Content-Type": "application/json"}, raw,
                        verify(raw, {}, []), "bad", None, 0, False, "p", None)  # fmt: skip
    command = curl_command(event, "http://127.0.0.1:1/w")
    assert command.startswith("printf '\\xff\\x00\\x7b\\x27' | curl")
    assert "--data-binary @-" in command


# -- export ---------------------------------------------------------------------------------------------


def test_export_selected_and_filtered_events_as_json(qtbot, page, tmp_path, monkeypatch):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id=f"c{i}") for i in range(4)] + [sync_webhook()])
    target = tmp_path / "out.json"
    monkeypatch.setattr(WebhooksPage, "ask_export_path", staticmethod(lambda parent, suggested: str(target)))

    page.select_row(0)
    page.table.selectionModel().select(
        page.model.index(2, 0),
        page.table.selectionModel().SelectionFlag.Select | page.table.selectionModel().SelectionFlag.Rows,
    )
    with qtbot.waitSignal(page.exportFinished) as done:
        page.export_selected_action.trigger()
    assert done.args == [str(target), 2]
    exported = json.loads(target.read_text())
    assert sorted(e["id"] for e in exported) == sorted(e.id for e in page.selected_events())
    assert exported[0]["verification"]["status"] == "verified" and "body_json" in exported[0]

    page.type_combo.setCurrentText("auth")
    qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() == 4)
    with qtbot.waitSignal(page.exportFinished) as done:
        page.export_filtered_action.trigger()
    assert done.args[1] == 4
    assert {e["summary"]["type"] for e in json.loads(target.read_text())} == {"auth"}
    assert not list(tmp_path.glob(".out.json.*")), "no temp file left behind"


# -- forward and replay, notifications, links ----------------------------------------------------------


def test_forward_and_replay_show_status_in_detail(qtbot, page, ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(WebhooksPage, "confirm_replay", staticmethod(lambda parent, event, url: True))
    with EventStore(tmp_path / "target.sqlite3", profile="target") as target_store:
        with running_listener(target_store) as target:
            page.settings_toggle.setChecked(True)
            page.forward_edit.setText(target.url)
            page.apply_settings()
            assert ctx.profile.listener.forward_to == target.url
            url = start(qtbot, page)
            deliver(qtbot, page, url, [sync_webhook(connection_id="fwd")])
            event = page.model.event_at(0)
            select_event(qtbot, page, event.id)
            qtbot.waitUntil(lambda: "200" in page.detail.forwards_view.toPlainText(), timeout=10_000)
            assert target.url in page.detail.forwards_view.toPlainText()
            assert page.detail.replay_button.isEnabled()
            page.detail.replay_button.click()
            qtbot.waitUntil(lambda: "replay" in page.detail.forwards_view.toPlainText(), timeout=10_000)
            replayed = target_store.list(1, filters=EventFilter(replay=True))
            assert replayed and replayed[0].replay_of == event.id


def test_auth_failure_notification_is_opt_in(qtbot, page, ctx, monkeypatch):
    from nango_desktop.session.listener import ListenerController

    notes: list = []
    ctx.notified.connect(lambda title, message: notes.append(title))
    page.notify_check.setChecked(True)
    page.apply_settings()
    assert ctx.profile.listener.notify_auth_failures
    monkeypatch.setattr(page._listener, "NOTIFY_DELAY_MS", 0)
    page._listener._notify_timer.setInterval(0)
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(success=False, connection_id="broken")])
    qtbot.waitUntil(lambda: notes == ["Nango: auth failed"])
    assert ListenerController.NOTIFY_DELAY_MS > 0


def test_recent_events_widget_and_navigation_to_an_event(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="mine"), auth_webhook(connection_id="other")])
    recent = RecentEventsWidget(ctx, "mine")
    qtbot.addWidget(recent)
    recent.show()
    qtbot.waitUntil(lambda: recent.list.count() == 1)
    deliver(qtbot, page, url, [sync_webhook(connection_id="mine")])
    assert recent.list.count() == 2 and "sync" in recent.list.item(0).text()
    wanted = recent.list.item(1).data(m.EventIdRole)
    with qtbot.waitSignal(ctx.navigateRequested) as nav:
        recent.list.itemClicked.emit(recent.list.item(1))
    assert nav.args == ["webhooks", {"event_id": wanted}]
    page.on_navigate(**nav.args[1])
    qtbot.waitUntil(lambda: page.detail.event is not None and page.detail.event.id == wanted)
    assert page.selected_rows() == [page.model.row_of(wanted)]

    empty = RecentEventsWidget(ctx, "nobody")
    qtbot.addWidget(empty)
    empty.show()
    qtbot.waitUntil(lambda: not empty.list.isVisible() and empty.empty.isVisible())


def test_navigate_to_an_event_outside_the_table_loads_it(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="a"), sync_webhook(connection_id="b")])
    first = page.model.event_at(1)
    page.type_combo.setCurrentText("sync")
    qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() == 1)
    page.on_navigate(event_id=first.id)
    qtbot.waitUntil(lambda: page.detail.event is not None and page.detail.event.id == first.id)


# -- responsiveness and the model on its own ------------------------------------------------------------


def test_page_stays_live_and_usable_while_2000_events_arrive(qtbot, page, ctx):
    """8 keep-alive senders stop half-way with their connections open (a deterministic point in the middle of
    the ingestion): the page already shows what arrived and answers the user; then the rest arrives, nothing
    lost or doubled. The GUI stall while ingesting is a figure: benchmarks/bench_webhooks_gui.py."""
    url = start(qtbot, page)
    halfway = threading.Barrier(9)  # 8 senders + the test
    go_on = threading.Event()
    failures: list[BaseException] = []

    def send(t: int) -> None:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            for i in range(250):
                if i == 125:
                    halfway.wait(timeout=60)
                    assert go_on.wait(timeout=60)
                raw = nango_json(auth_webhook(connection_id=f"t{t}-{i}"))
                conn.request("POST", parts.path, body=raw, headers=nango_headers(raw))
                response = conn.getresponse()
                response.read()
                assert response.status == 200, response.status
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failures.append(exc)
            halfway.abort()
        finally:
            conn.close()

    senders = [threading.Thread(target=send, args=(t,)) for t in range(8)]
    for sender in senders:
        sender.start()
    try:
        qtbot.waitUntil(lambda: halfway.n_waiting == 8 or bool(failures), timeout=60_000)
        assert not failures, failures
        # half-way, connections open: the table shows the 1000 events so far, the user can pick and filter
        qtbot.waitUntil(
            lambda: page.model.rowCount() == 1000 and not page.model.pending_count(), timeout=20_000
        )
        wanted = page.model.event_at(500)
        select_event(qtbot, page, wanted.id)
        page.search_edit.setText(wanted.summary.connection_id)
        page.search_edit.flush()
        qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() == 1, timeout=20_000)
        page.search_edit.clear()  # back to every event: the newest page from the store
        page.search_edit.flush()
        size = page.model.page_size
        qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() == size, timeout=20_000)
        halfway.wait(timeout=10)
    finally:
        go_on.set()
        for sender in senders:
            sender.join(timeout=120)
    assert not failures, failures
    # the second half arrives live on top of the reloaded page
    qtbot.waitUntil(
        lambda: page.model.rowCount() == size + 1000 and not page.model.pending_count(), timeout=60_000
    )
    assert ctx.event_store.count() == 2000
    stored = {e.summary.connection_id for e in ctx.event_store.iter_events()}
    assert stored == {f"t{t}-{i}" for t in range(8) for i in range(250)}
    shown = [page.model.event_at(r).summary.connection_id for r in range(size + 1000)]
    assert len(set(shown)) == size + 1000
    assert set(shown[:1000]) == {f"t{t}-{i}" for t in range(8) for i in range(125, 250)}


def _add(store, i: int, **kw):
    raw = nango_json(auth_webhook(connection_id=f"c{i}", **kw))
    return store.add(
        body=raw, headers=nango_headers(raw), verification=verify(raw, nango_headers(raw), [SIGNING_KEY])
    )


def test_model_caps_rows_and_pages_older_events_from_the_store(qtbot, tmp_path, qtmodeltester):
    with EventStore(tmp_path / "e.sqlite3", profile="p") as store:
        for i in range(30):
            _add(store, i)
        model = m.EventsModel(store, max_rows=10, page_size=6)
        qtbot.waitUntil(lambda: model.rowCount() == 6 and not model.loading)
        assert [e.summary.connection_id for e in model.events()] == [f"c{i}" for i in range(29, 23, -1)]
        while model.canFetchMore():
            model.fetchMore()
            qtbot.waitUntil(lambda: not model.loading)
        assert model.rowCount() == 30
        ids = [e.id for e in model.events()]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 30
        qtmodeltester.check(model)

        for i in range(30, 33):
            model.add_event(_add(store, i)[0], False)
        model.flush()
        assert model.rowCount() == 10, "live inserts trim the table to max_rows"
        assert model.event_at(0).summary.connection_id == "c32"
        assert model.canFetchMore(), "trimmed rows can be paged back"
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.loading)
        ids = [e.id for e in model.events()]
        assert model.rowCount() == 16 and ids == sorted(ids, reverse=True) and len(set(ids)) == 16
        qtmodeltester.check(model)


def test_model_batches_live_events_and_merges_out_of_order_ones(qtbot, tmp_path):
    with EventStore(tmp_path / "e.sqlite3", profile="p") as store:
        events = [_add(store, i)[0] for i in range(6)]
        model = m.EventsModel(store)
        qtbot.waitUntil(lambda: not model.loading)
        model.beginResetModel()  # start empty to watch the live path only
        model._rows, model._ids = [], set()
        model.endResetModel()
        inserts: list[tuple[int, int]] = []
        model.rowsInserted.connect(lambda parent, first, last: inserts.append((first, last)))
        for e in (events[3], events[5], events[4]):
            model.add_event(e, False)
        qtbot.waitUntil(lambda: model.rowCount() == 3)
        assert inserts == [(0, 2)], "one batched insert"
        model.add_event(events[0], False)
        model.add_event(events[2], False)  # older than rows shown but newer than events[0]
        model.flush()
        assert [e.id for e in model.events()] == [events[i].id for i in (5, 4, 3, 2, 0)]
        model.set_filter(EventFilter(connection_id="c1"))
        qtbot.waitUntil(lambda: not model.loading and model.rowCount() == 1)
        model.add_event(events[4], False)
        model.flush()
        assert model.rowCount() == 1, "live events outside the filter stay out"
        assert m.filter_active(model.filter) and not m.filter_active(EventFilter())


def test_policy_and_autostart_settings_are_saved_and_applied(qtbot, page, ctx, tmp_path):
    url = start(qtbot, page)
    page.settings_toggle.setChecked(True)
    page.autostart_check.setChecked(True)
    page.public_edit.setText("https://t.example.com")
    page.apply_settings()
    assert ctx.listener.url == url, "options the server does not use do not restart it"
    page.reject_check.setChecked(True)
    page.apply_settings()
    qtbot.waitUntil(lambda: page.state_label.property("state") == "listening")
    url = ctx.listener.url
    assert (
        ctx.profile.listener.enabled
        and ctx.profile.listener.reject_unsigned
        and ctx.profile.listener.reject_invalid
    )
    assert post_webhook(url, auth_webhook(), key=None)[0] == 401
    assert post_webhook(url, auth_webhook(), key="wrong")[0] == 401
    assert post_webhook(url, auth_webhook())[0] == 200
    saved = tmp_path / "profiles.json"
    qtbot.waitUntil(lambda: saved.exists() and '"reject_unsigned": true' in saved.read_text())
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)


def test_accepting_legacy_only_signatures_is_a_saved_setting_that_restarts_the_listener(qtbot, page, ctx):
    url = start(qtbot, page)
    page.settings_toggle.setChecked(True)
    assert not page.legacy_check.isChecked()
    raw = nango_json(auth_webhook(connection_id="legacy-1"))
    assert post_raw(url, raw, nango_headers(raw, hmac=False))[0] == 200
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert page.model.event_at(0).verification.status == "invalid"
    page.legacy_check.setChecked(True)
    page.apply_settings()
    qtbot.waitUntil(
        lambda: ctx.profile.listener.accept_legacy_signatures and ctx.listener.state == "listening"
    )
    url = ctx.listener.url
    raw = nango_json(auth_webhook(connection_id="legacy-2"))
    assert post_raw(url, raw, nango_headers(raw, hmac=False))[0] == 200
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    assert page.model.event_at(0).verification.legacy_only


def test_invalid_settings_are_refused_with_an_error(qtbot, page, ctx):
    page.forward_edit.setText("localhost:3000/hooks")
    page.apply_settings()
    assert ctx.profile.listener.forward_to is None
    assert any(
        title == "Invalid forward URL" and "must start with http" in detail
        for title, detail in ctx.pending_errors()
    )
    page.forward_edit.setText("http://127.0.0.1:3000/hooks")
    page.path_edit.setText("hooks")
    page.apply_settings()
    assert ctx.profile.listener.forward_to == "http://127.0.0.1:3000/hooks"
    assert ctx.profile.listener.path == page.path_edit.text() == "/hooks"
    page.port_spin.setValue(80)
    page.path_edit.setText("/hooks")
    page.host_edit.setCurrentText("127.0.0.1")
    page.apply_settings()
    assert ctx.profile.listener.port == 80, "allowed: a port below 1024 fails at start with its own error"


def test_switching_profile_rebinds_listener_and_store(qtbot, page, ctx):
    url = start(qtbot, page)
    deliver(qtbot, page, url, [auth_webhook(connection_id="in-test")])
    first = page._listener
    ctx.upsert_profile(
        Profile(name="other", listener=ListenerSettings(port=0, path="/other")), make_current=True
    )
    qtbot.waitUntil(
        lambda: page._listener is not first and page.model.rowCount() == 0 and not page.model.loading
    )
    assert page.state_label.property("state") == "stopped" and page.path_edit.text() == "/other"
    url = start(qtbot, page)
    assert url.endswith("/other")
    deliver(qtbot, page, url, [sync_webhook(connection_id="in-other")])
    assert column(page, m.CONNECTION) == ["in-other"]
    other = page._listener
    ctx.set_profile("test")
    qtbot.waitUntil(lambda: column(page, m.CONNECTION) == ["in-test"])
    # listeners belong to profiles: switching back finds the first one still listening, and the other too
    assert page._listener is first and first.state == "listening"
    assert page.state_label.property("state") == "listening"
    assert other.state == "listening" and set(ctx.running_listeners()) == {"test", "other"}


def test_page_without_a_profile_says_so(qtbot, tmp_path):
    context = AppContext(Settings(), SecretStore(MemoryKeyring()), settings_path=tmp_path / "p.json")
    try:
        empty = WebhooksPage(context)
        qtbot.addWidget(empty)
        assert not empty.isEnabled() and "No profile" in empty.state_label.text()
        assert empty.model.rowCount() == 0 and not empty.model.canFetchMore()
        empty.on_navigate(event_id=1)  # nothing to show, no error
        empty.refresh()
    finally:
        context.shutdown()


def test_layout_at_1280_and_1024_keeps_columns_filters_and_detail_header(qtbot, page):
    """Issue 17: signature column cut at 1280, Dups and Pinned hidden, filters unreadable at 1024, the detail
    header growing under the cursor."""
    url = start(qtbot, page)
    long_id = "a-very-long-connection-id-" + "x" * 80
    deliver(qtbot, page, url, [auth_webhook(connection_id="c1"), auth_webhook(connection_id=long_id)])
    page.resize(1100, 700)  # the page area of a 1280x800 window
    qtbot.waitUntil(lambda: page.columns.fitted)
    header = page.table.horizontalHeader()
    viewport = page.table.viewport().width()
    for column in (m.SIGNATURE, m.DUPLICATES, m.PINNED):
        assert not header.isSectionHidden(column)
        assert header.sectionViewportPosition(column) + header.sectionSize(column) <= viewport + 1

    select_event(qtbot, page, page.model.event_at(1).id)
    buttons_y = page.detail.pin_button.mapTo(page, page.detail.pin_button.rect().topLeft()).y()
    select_event(qtbot, page, page.model.event_at(0).id)  # a much longer title
    assert page.detail.pin_button.mapTo(page, page.detail.pin_button.rect().topLeft()).y() == buttons_y
    assert long_id in page.detail.title.toolTip()  # elided on screen, whole in the tooltip

    page.resize(980, 600)  # the page area of a 1024x700 window
    qtbot.waitUntil(lambda: page.width() == 980)
    for widget in (page.type_combo, page.signature_combo, page.integration_combo, page.search_edit):
        assert widget.width() >= widget.sizeHint().width() or widget.width() >= widget.minimumWidth() > 0


@pytest.mark.parametrize("key", [SIGNING_KEY, None, "forged-key"], ids=["verified", "unsigned", "invalid"])
def test_replay_asks_first_and_re_signs_only_verified_events(qtbot, page, ctx, tmp_path, monkeypatch, key):
    """Issue 14 item 5b: replaying an unsigned or invalid event used to deliver it with a valid signature
    made with the real key, without confirmation."""
    from nango_desktop.services.forwarder import REPLAY_UNVERIFIED_HEADER

    asked: list = []
    answer = [False]
    monkeypatch.setattr(
        WebhooksPage,
        "confirm_replay",
        staticmethod(lambda parent, event, url: asked.append(event.id) or answer[0]),
    )
    with EventStore(tmp_path / "target.sqlite3", profile="target") as target_store:
        with running_listener(target_store, keys=(SIGNING_KEY,)) as target:
            page.settings_toggle.setChecked(True)
            page.forward_edit.setText(target.url)
            page.apply_settings()
            url = start(qtbot, page)
            deliver(qtbot, page, url, [sync_webhook(connection_id="replay-me")], key=key)
            event = page.model.event_at(0)
            qtbot.waitUntil(lambda: target_store.count() >= 1, timeout=10_000)  # the forward
            forwarded = target_store.count()
            page.replay(event)
            assert asked == [event.id]  # asked first; declined: nothing sent
            assert target_store.count() == forwarded
            answer[0] = True
            page.replay(event)
            qtbot.waitUntil(
                lambda: bool(target_store.list(1, filters=EventFilter(replay=True))), timeout=10_000
            )
            (replayed,) = target_store.list(1, filters=EventFilter(replay=True))
    if key == SIGNING_KEY:
        assert str(replayed.verification.status) == "verified"
        assert replayed.header(REPLAY_UNVERIFIED_HEADER) is None
    else:
        assert str(replayed.verification.status) == "unsigned"  # never re-signed with the real key
        assert replayed.header(REPLAY_UNVERIFIED_HEADER) == ("unsigned" if key is None else "invalid")


def test_rotate_signing_key_from_the_listener_settings(qtbot, page, ctx, tmp_path, monkeypatch):
    """Issue 14 item 6 (GUI): rotate on Nango, new key current, old key previous; the running listener
    verifies with both at once; a production profile must type its name first."""
    from tests.nango_server import FakeNango

    with FakeNango() as server:
        ctx.settings.profiles[0] = ctx.profile = ctx.settings.profiles[0].model_copy(
            update={"api_url": server.url, "production": True}
        )
        ctx.cache_key("test", server.secret_key)
        url = start(qtbot, page)
        dialog = page.open_rotate_key()
        qtbot.addWidget(dialog)
        assert not dialog.rotate_button.isEnabled()  # production: type the name first
        dialog.minutes.setValue(30)
        assert "until about" in dialog.expiry.text()
        dialog.confirm.setText("test")
        assert dialog.rotate_button.isEnabled()
        results: list = []
        dialog.rotated.connect(results.append)
        dialog.rotate_button.click()
        qtbot.waitUntil(lambda: dialog.message.text() != "Rotating…", timeout=10_000)
        assert results, dialog.message.text()
        result = results[0]
        assert result.previous_kept and result.minutes == 30 and "30 min" in dialog.message.text()
        new_key = server.webhook_signing_key
        assert ctx.secrets.get("test", SecretKind.SIGNING_KEY) == new_key
        assert ctx.secrets.get("test", SecretKind.PREVIOUS_SIGNING_KEY) == SIGNING_KEY
        deliver(qtbot, page, url, [sync_webhook(connection_id="new")], key=new_key)
        deliver(qtbot, page, url, [sync_webhook(connection_id="old")], key=SIGNING_KEY)
        by_conn = {page.model.event_at(i).summary.connection_id: page.model.event_at(i) for i in range(2)}
        assert by_conn["new"].verification.key_index == 0
        assert by_conn["old"].verification.ok and by_conn["old"].verification.key_index == 1
        dialog.grab().save(str(tmp_path / "rotation.png"))


def test_event_count_speaks_plainly(qtbot, page):
    """Issue 14 item 8: "1 events" and "0+ events"."""
    page._update_count()
    assert page.count_label.text() in ("0 events", "events loading…")
    url = start(qtbot, page)
    deliver(qtbot, page, url, [sync_webhook(connection_id="one")])
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    page._update_count()
    assert page.count_label.text() == "1 event"


# -- disk full (issue 18) ----------------------------------------------------------------------------------


def _post_padded(url: str, n: int) -> int:
    out: list[int] = []
    thread = threading.Thread(
        target=lambda: out.append(
            post_webhook(url, {"type": "auth", "connectionId": f"gui-{n}", "pad": "x" * 20_000})[0]
        )
    )
    thread.start()
    thread.join(30)
    return out[0]


def test_listener_status_says_disk_full_with_the_path_and_recovers(qtbot, page):
    """The listener status says "Listening, not storing: Disk full at PATH" while the store is full, and
    "Listening on" again once space is back (no restart)."""
    from tests.integration.test_disk_errors import _fill_up, _free_space

    url = start(qtbot, page)
    store = page._listener.store
    _fill_up(store)
    assert _post_padded(url, 1) == 503
    qtbot.waitUntil(lambda: "Listening, not storing" in page.state_label.text(), timeout=10_000)
    text = page.state_label.text()
    assert f"Disk full at {store.path}" in text
    assert page._listener.storage_problem.startswith("Disk full at")
    assert page.toggle_button.text() == "Stop listener"  # still listening: Nango's retries come back
    _free_space(store)
    assert _post_padded(url, 2) == 200
    qtbot.waitUntil(lambda: "Listening on" in page.state_label.text(), timeout=10_000)
    assert page._listener.storage_problem == ""


def test_advanced_limits_are_loaded_applied_saved_and_restart_a_running_listener(qtbot, page, ctx):
    page.settings_toggle.setChecked(True)
    limits = page.limits
    assert not limits.body.isVisible(), "collapsed by default"
    limits.toggle.setChecked(True)
    assert limits.body.isVisible()
    fields = limits.fields
    assert fields["max_connections"].value() == 64 and fields["reserved_share"].value() == 25
    assert fields["first_byte_timeout"].value() == 2.0 and fields["unverified_burst"].value() == 100
    assert "48 general slots (36 per remote address) and 16 reserved" in limits.summary.text()
    # the editors cannot go past what the settings model accepts
    fields["max_connections"].setValue(2)
    assert fields["max_connections"].value() == 4
    url = start(qtbot, page)
    first = page._listener._server
    fields["max_connections"].setValue(8)
    fields["first_byte_timeout"].setValue(0.5)
    fields["unverified_burst"].setValue(1)
    assert "6 general slots (4 per remote address) and 2 reserved" in limits.summary.text()
    page.apply_settings()
    saved = ctx.profile.listener
    assert (saved.max_connections, saved.first_byte_timeout, saved.unverified_burst) == (8, 0.5, 1)
    assert page._listener._server is not first, "restarted with the new limits"
    server = page._listener._server
    assert server.first_byte_timeout == 0.5 and server._httpd.admission.general_total == 6
    url = page._listener.url
    assert [post_webhook(url, auth_webhook(), "wrong")[0] for _ in range(2)] == [200, 429]
    limits.defaults_button.click()
    page.apply_settings()
    assert ctx.profile.listener.max_connections == 64 and ctx.profile.listener.unverified_burst == 100
