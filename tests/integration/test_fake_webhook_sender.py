"""FakeNango's webhook sender delivers like Nango (issue 14): signed raw bytes, retries at 3 s and 6 s on
network errors and 5xx only, a circuit breaker after 5 failures in 10 s that drops deliveries for 60 s;
a failed refresh sends its (byte-identical) auth webhook through it to the app's listener."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import RefreshFailedError
from nango_desktop.store.events import EventStore, event_store_path
from tests.fake_webhook_sender import WebhookSender
from tests.nango_server import FakeNango
from tests.webhook_helpers import running_listener


class Target:
    """A loopback receiver answering the statuses it is given, in order (then the last one)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.bodies = list(statuses), []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                target.bodies.append((body, dict(self.headers)))
                status = target.statuses.pop(0) if len(target.statuses) > 1 else target.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def clock():
    now = [1000.0]
    return now


def sender_for(url, clock, key="k"):
    return WebhookSender(url, lambda: key, sleep=lambda s: None, clock=lambda: clock[0])


@pytest.mark.parametrize(
    ("statuses", "attempts"),
    [
        ([200], [200]),
        ([503, 502, 200], [503, 502, 200]),
        ([400], [400]),
        ([404, 200], [404]),
        ([500], [500] * 3),
    ],
    ids=["ok", "5xx-retried", "4xx-final", "4xx-not-retried", "gives-up-after-3"],
)
def test_retries_only_on_5xx(clock, statuses, attempts):
    target = Target(statuses)
    try:
        sender = sender_for(target.url, clock)
        delivery = sender.send(b'{"a":1}')
    finally:
        target.close()
    assert delivery.attempts == attempts
    assert sender.waits == [3.0, 6.0][: len(attempts) - 1]
    body, headers = target.bodies[0]
    assert body == b'{"a":1}' and "X-Nango-Hmac-Sha256" in headers


def test_network_errors_are_retried_and_the_breaker_drops_for_60_s(clock):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed: connection refused
    sender = sender_for(f"http://127.0.0.1:{port}/hook", clock)
    first = sender.send(b"x")
    assert first.attempts == ["ConnectionRefusedError"] * 3 and sender.waits == [3.0, 6.0]
    second = sender.send(b"x")  # the 5th failure within 10 s opens the breaker after 2 attempts
    assert len(second.attempts) == 2
    clock[0] += 59
    assert sender.send(b"x").dropped
    clock[0] += 2
    assert not sender.send(b"x").dropped


def test_failed_refresh_webhook_reaches_the_listener_signed_and_byte_identical(tmp_home):
    store = EventStore(event_store_path("dev"), profile="dev")
    with FakeNango(connections=3) as server:
        with running_listener(store, keys=(server.webhook_signing_key,)) as listener:
            sender = server.webhook_sender(listener.url, sleep=lambda s: None)
            conn = server.connections[0]
            cid, iid = conn["connection_id"], conn["provider_config_key"]
            server.expire_token(cid, iid)
            server.fail_refresh(cid, iid)
            with NangoClient(server.url, server.secret_key) as client:
                with pytest.raises(RefreshFailedError):
                    client.get_connection(cid, iid)
                server.find(cid, iid)["_refresh_backoff_until"] = 0  # the back-off is over: it fails again
                with pytest.raises(RefreshFailedError):
                    client.get_connection(cid, iid)
            sender.join()
    events = store.list(10)
    store.close()
    assert [d.delivered for d in sender.deliveries] == [True, True]
    assert sender.deliveries[0].raw == sender.deliveries[1].raw
    assert events and all(str(e.verification.status) == "verified" for e in events)
    assert events[0].summary.operation == "refresh" and events[0].summary.success is False
