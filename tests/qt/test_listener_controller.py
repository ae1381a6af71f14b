"""ListenerController: start/stop, state reporting, events on the GUI thread, watchdog, notifications, replay.

Real parts: the WebhookServer on 127.0.0.1 (random port), a real SQLite EventStore, requests posted over
HTTP from other threads, the Qt event loop (offscreen).
"""

from __future__ import annotations

import socket
import threading

import pytest

from nango_desktop.services.secrets import SecretKind, SecretStore
from nango_desktop.services.signing import VerificationStatus
from nango_desktop.session.listener import ListenerController, UserError, webhook_url_for_nango
from nango_desktop.settings import ListenerSettings, Profile, Settings
from nango_desktop.store.events import REPLAY_HEADER, EventStore
from nango_desktop.ui.context import AppContext
from tests.helpers import MemoryKeyring
from tests.webhook_helpers import (
    SIGNING_KEY,
    auth_webhook,
    nango_json,
    post_webhook,
    running_listener,
    sync_webhook,
    wait_for,
)


@pytest.fixture
def store(tmp_path):
    with EventStore(tmp_path / "events.sqlite3", profile="test") as s:
        yield s


@pytest.fixture
def make_controller(qtbot, store):
    made: list[ListenerController] = []

    def make(**settings) -> ListenerController:
        notes = settings.pop("notes", None)
        notify = (lambda title, message: notes.append((title, message))) if notes is not None else None
        keys = settings.pop("keys", [SIGNING_KEY])
        controller = ListenerController(
            store, "test", ListenerSettings(port=0, **settings), lambda: list(keys), notify=notify
        )
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.shutdown()


def post_in_thread(url, payloads, key=SIGNING_KEY) -> tuple[threading.Thread, list]:
    statuses: list = []

    def run():
        for payload in payloads:
            statuses.append(post_webhook(url, payload, key)[0])

    thread = threading.Thread(target=run)
    thread.start()
    return thread, statuses


def test_start_reports_listening_and_events_arrive_on_gui_thread(qtbot, make_controller):
    controller = make_controller()
    with qtbot.waitSignal(controller.stateChanged) as state:
        assert controller.start()
    assert state.args[0] == "listening"
    assert state.args[1] == controller.url
    assert controller.url.startswith("http://127.0.0.1:") and controller.url.endswith("/webhooks/nango")

    received: list[tuple[int, bool, bool]] = []

    def on_event(event, duplicate):
        received.append((event.id, duplicate, threading.current_thread() is threading.main_thread()))

    controller.eventReceived.connect(on_event)
    thread, statuses = post_in_thread(controller.url, [auth_webhook(), auth_webhook(), sync_webhook()])
    qtbot.waitUntil(lambda: len(received) == 3)
    thread.join()
    assert statuses == [200, 200, 200]
    (first, dup1, gui1), (again, dup2, _), (third, dup3, _) = received
    assert gui1 and all(r[2] for r in received), "eventReceived must be delivered on the GUI thread"
    assert (dup1, dup2, dup3) == (False, True, False)
    assert again == first and third != first


def test_reject_policy_without_a_key_answers_503_and_stores_nothing(qtbot, make_controller, store):
    """Issue 19 item 3 in the GUI's listener: fail closed, and say why in the answer."""
    controller = make_controller(keys=[], reject_invalid=True, reject_unsigned=True)
    assert controller.start()
    status, reply = post_webhook(controller.url, auth_webhook())
    assert status == 503 and "no webhook signing key" in reply["error"]["message"]
    assert store.count() == 0


def test_stop_reports_stopped_and_port_is_released(qtbot, make_controller):
    controller = make_controller()
    controller.start()
    url = controller.url
    with qtbot.waitSignal(controller.stateChanged) as state:
        controller.stop()
    assert state.args == ["stopped", ""]
    assert controller.url is None and not controller.running
    with pytest.raises(OSError):
        post_webhook(url, auth_webhook(), timeout=2)
    controller.stop()  # idempotent
    assert controller.state == "stopped"


def test_port_in_use_is_an_error_state_with_a_suggestion(qtbot, make_controller):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        controller = make_controller()
        controller.apply_settings(controller.settings.model_copy(update={"port": port}))
        with qtbot.waitSignal(controller.stateChanged) as state:
            assert not controller.start()
    assert state.args[0] == "error"
    assert f"Port {port} is already in use" in state.args[1]
    assert "choose another port" in state.args[1]
    assert controller.url is None


def test_watchdog_reports_a_listener_that_died(qtbot, make_controller, monkeypatch):
    monkeypatch.setattr(ListenerController, "WATCHDOG_MS", 20)
    controller = make_controller()
    controller.start()
    server = controller._server
    server._httpd.shutdown()  # the accept loop ends without anyone calling stop()
    with qtbot.waitSignal(controller.stateChanged, timeout=5000) as state:
        pass
    assert state.args[0] == "error"
    assert "stopped unexpectedly" in state.args[1]
    assert controller.state == "error" and controller.url is None


def test_watchdog_health_probe_catches_a_hung_listener(qtbot, make_controller, monkeypatch):
    monkeypatch.setattr(ListenerController, "WATCHDOG_MS", 10)
    monkeypatch.setattr(ListenerController, "PROBE_EVERY", 1)
    monkeypatch.setattr("nango_desktop.session.listener.PROBE_TIMEOUT", 0.2)
    controller = make_controller()
    controller.start()
    hung = threading.Event()
    release = threading.Event()

    def stuck_get(handler):  # every health request hangs until the test ends
        hung.set()
        release.wait(10)

    monkeypatch.setattr("nango_desktop.services.webhook_server._Handler.do_GET", stuck_get, raising=False)
    try:
        with qtbot.waitSignal(controller.stateChanged, timeout=10000) as state:
            pass
    finally:
        release.set()
    assert hung.is_set()
    assert state.args[0] == "error" and "does not answer" in state.args[1]


def test_apply_settings_restarts_a_running_listener(qtbot, make_controller, store):
    controller = make_controller()
    controller.start()
    old_url = controller.url
    new = controller.settings.model_copy(update={"path": "/hooks/other"})
    with qtbot.waitSignal(controller.settingsChanged):
        controller.apply_settings(new)
    assert controller.running and controller.url.endswith("/hooks/other") and controller.url != old_url
    assert post_webhook(controller.url, auth_webhook())[0] == 200
    assert store.count() == 1


def test_notifications_for_auth_failures_are_opt_in_and_coalesced(qtbot, make_controller, monkeypatch):
    monkeypatch.setattr(ListenerController, "NOTIFY_DELAY_MS", 10)
    notes: list = []
    controller = make_controller(notify_auth_failures=True, notes=notes)
    controller.start()
    received: list = []
    controller.eventReceived.connect(lambda e, d: received.append(e))
    post_webhook(controller.url, auth_webhook(connection_id="ok-1"))
    post_webhook(controller.url, auth_webhook(connection_id="bad-1", operation="refresh", success=False))
    qtbot.waitUntil(lambda: len(notes) == 1)
    assert notes[0][0] == "Nango: refresh failed" and "bad-1" in notes[0][1]
    for i in range(3):
        post_webhook(controller.url, auth_webhook(connection_id=f"bad-{i + 2}", success=False))
    qtbot.waitUntil(lambda: len(notes) == 2)
    assert notes[1][0] == "Nango: 3 auth failures"
    assert "bad-2" in notes[1][1] and "bad-4" in notes[1][1]

    quiet: list = []
    other = make_controller(notes=quiet)  # notify_auth_failures defaults to False
    other.start()
    post_webhook(other.url, auth_webhook(connection_id="bad-x", success=False, end_user_id="u9"))
    with qtbot.waitSignal(other.eventReceived):
        pass
    qtbot.waitUntil(lambda: not other._notify_timer.isActive())
    assert quiet == []


def test_replay_is_resigned_marked_and_recorded(qtbot, make_controller, store, tmp_path):
    with EventStore(tmp_path / "target.sqlite3", profile="target") as target_store:
        with running_listener(target_store, keys=(SIGNING_KEY,)) as target:
            controller = make_controller(forward_to=target.url)
            controller.start()
            raw_status = post_webhook(controller.url, sync_webhook())[0]
            assert raw_status == 200
            event = store.list(1)[0]
            assert (
                event.verification.status is VerificationStatus.VERIFIED
            )  # only verified events are re-signed
            results: list = []
            controller.forwarded.connect(results.append)
            result = controller.replay(event)
            assert result.status == 200 and result.replay
            # the forward of the original delivery and the replay both reach the target
            qtbot.waitUntil(lambda: any(r.replay for r in results))
            replayed = [e for e in target_store.list(10) if e.replay_of is not None]
            assert len(replayed) == 1
            assert replayed[0].replay_of == event.id
            assert replayed[0].header(REPLAY_HEADER) == str(event.id)
            # a verified original is re-signed with the current key (an unverified one goes out unsigned:
            # tests/qt/test_webhooks_page.py::test_replay_asks_first_and_re_signs_only_verified_events)
            assert replayed[0].verification.status is VerificationStatus.VERIFIED
            assert replayed[0].header("X-Nango-Desktop-Replay-Unverified") is None
            assert replayed[0].body == event.body
            recorded = store.forwards(event.id)
            assert any(f.replay and f.status == 200 for f in recorded)


def test_replay_without_forward_url_is_refused(make_controller, store):
    controller = make_controller()
    store.add(body=nango_json(auth_webhook()), headers={}, verification=_unsigned())
    with pytest.raises(UserError, match="Set a forward URL"):
        controller.replay(store.list(1)[0])


def _unsigned():
    from nango_desktop.services.signing import verify

    return verify(b"{}", {}, [SIGNING_KEY])


def test_for_context_uses_the_profile_and_its_signing_keys(qtbot, tmp_path):
    secrets = SecretStore(MemoryKeyring())
    secrets.set("work", SecretKind.SIGNING_KEY, "work-signing-key")
    settings = Settings(profiles=[Profile(name="work", listener=ListenerSettings(port=0, path="/nango"))])
    ctx = AppContext(settings, secrets, settings_path=tmp_path / "profiles.json")
    try:
        controller = ctx.listener
        assert isinstance(controller, ListenerController)
        assert "work-signing-key" not in repr(controller) and "work-signing-key" not in repr(controller.keys)
        controller.start()
        assert controller.url.endswith("/nango")
        with qtbot.waitSignal(controller.eventReceived) as got:
            thread, _ = post_in_thread(controller.url, [auth_webhook()], key="work-signing-key")
        thread.join()
        event, duplicate = got.args
        assert not duplicate and event.verification.status is VerificationStatus.VERIFIED
        assert event.verification.key_index == 0
    finally:
        ctx.shutdown()
    assert ctx.listeners() == {} and ctx.running_listeners() == {}


def test_webhook_url_for_nango_joins_public_url_and_path():
    assert webhook_url_for_nango(ListenerSettings()) is None
    s = ListenerSettings(public_url="https://abc.ngrok.app/", path="/webhooks/nango")
    assert webhook_url_for_nango(s) == "https://abc.ngrok.app/webhooks/nango"
    s = ListenerSettings(public_url="https://abc.ngrok.app/webhooks/nango", path="/webhooks/nango")
    assert webhook_url_for_nango(s) == "https://abc.ngrok.app/webhooks/nango"


def test_a_burst_reaches_the_gui_as_one_batch(qtbot, make_controller):
    controller = make_controller()
    controller.start()
    batches: list[list] = []
    singles: list = []
    controller.eventsReceived.connect(batches.append)
    controller.eventReceived.connect(lambda event, duplicate: singles.append(event.id))
    thread, statuses = post_in_thread(
        controller.url, [auth_webhook(connection_id=f"b{i}") for i in range(20)]
    )
    thread.join()
    # The GUI thread does not run its event loop meanwhile, so every event waits in the inbox (on_event runs
    # just after each response, hence the wait for the last ones).
    assert wait_for(lambda: len(controller._inbox) == 20)
    assert statuses == [200] * 20
    qtbot.waitUntil(lambda: len(singles) == 20)
    assert len(batches) == 1 and len(batches[0]) == 20
    assert singles == sorted(singles) == [event.id for event, _ in batches[0]]
    assert controller.drain() == []


def test_signal_emits_do_not_leak_references_to_true():
    """PySide6 6.12 drops a reference to True on each emit(); the guard installed by ui.webhooks gives it back
    (thousands of emits during a webhook burst would otherwise abort the interpreter)."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        ping = Signal(object, bool)

    emitter = Emitter()
    before = sys.getrefcount(True)
    for i in range(2000):
        emitter.ping.emit(i, False)
    assert sys.getrefcount(True) >= before


def test_listener_limits_from_the_settings_reach_the_server_and_a_change_restarts_it(qtbot, make_controller):
    controller = make_controller(max_connections=8, first_byte_timeout=0.5, unverified_burst=1)
    assert controller.start()
    server = controller._server
    assert server.first_byte_timeout == 0.5 and server._httpd.admission.general_total == 6
    assert [post_webhook(controller.url, auth_webhook(), "wrong")[0] for _ in range(2)] == [200, 429]

    controller.apply_settings(controller.settings.model_copy(update={"first_byte_timeout": 1.5}))
    assert controller.running and controller._server is not server  # restarted with the new limit
    assert controller._server.first_byte_timeout == 1.5
