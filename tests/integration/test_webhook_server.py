"""The listener over real HTTP on 127.0.0.1: verification, policy, storage before 2xx, routing, lifecycle,
forwarding and replay."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from nango_desktop.services.forwarder import Forwarder
from nango_desktop.services.signing import HMAC_HEADER, LEGACY_HEADER, VerificationStatus, verify
from nango_desktop.services.webhook_server import (
    DEFAULT_LISTENER_PORT,
    ListenerError,
    WebhookServer,
)
from nango_desktop.store.events import EventFilter, EventStore, event_store_path
from tests.webhook_helpers import (
    PREVIOUS_KEY,
    SIGNING_KEY,
    auth_webhook,
    nango_headers,
    nango_json,
    post_raw,
    post_webhook,
    running_listener,
    sync_webhook,
    wait_for,
)


@pytest.fixture
def store(tmp_home):
    s = EventStore(event_store_path("dev"), profile="dev")
    yield s
    s.close()


@pytest.fixture
def listener(store):
    with running_listener(store, keys=(SIGNING_KEY, PREVIOUS_KEY)) as server:
        yield server


def test_default_port_is_documented_constant():
    assert DEFAULT_LISTENER_PORT == 8765
    server = WebhookServer(EventStore.__new__(EventStore), profile="p")
    assert server.url == "http://127.0.0.1:8765/webhooks/nango" and server.state == "stopped"


@pytest.mark.parametrize(
    ("key", "kw", "status", "header", "key_index"),
    [
        (SIGNING_KEY, {}, "verified", HMAC_HEADER, 0),
        (PREVIOUS_KEY, {}, "verified", HMAC_HEADER, 1),
        (SIGNING_KEY, {"hmac": False}, "invalid", None, None),  # legacy only: refused by default
        ("wrong-key", {}, "invalid", None, None),
        (None, {}, "unsigned", None, None),
    ],
)
def test_verification_over_http(listener, store, key, kw, status, header, key_index):
    code, reply = post_webhook(listener.url, auth_webhook(connection_id="ç-日本-🚀"), key, **kw)
    assert code == 200 and reply["duplicate"] is False
    event = store.get(reply["id"])  # committed before the response arrived
    assert event.verification.status == status
    assert (event.verification.header, event.verification.key_index) == (header, key_index)
    assert event.summary.connection_id == "ç-日本-🚀"
    assert event.body == nango_json(auth_webhook(connection_id="ç-日本-🚀"))  # raw bytes kept
    assert event.peer == "127.0.0.1" and event.path == "/webhooks/nango" and event.method == "POST"


def test_legacy_only_verifies_over_http_where_the_profile_accepts_it_marked_weaker(store):
    with running_listener(store, keys=(SIGNING_KEY,), accept_legacy_only=True) as server:
        code, reply = post_webhook(server.url, auth_webhook(), hmac=False)
    verification = store.get(reply["id"]).verification
    assert code == 200 and verification.legacy_only and verification.header == LEGACY_HEADER


def test_downgrade_and_length_extension_are_refused_over_http(store):
    """Issue 19 item 2 over real HTTP with reject-invalid: a right legacy header next to a wrong HMAC, and a
    length-extended body forged from a stored (body, legacy signature) pair, are answered 401, not stored."""
    from tests.length_extension import extend

    with running_listener(store, keys=(SIGNING_KEY,), reject_invalid=True) as server:
        code, reply = post_webhook(server.url, auth_webhook(connection_id="genuine"))
        assert code == 200
        genuine = store.get(reply["id"])
        forged, signature = extend(
            genuine.verification.received_legacy, len(SIGNING_KEY), genuine.body, b',"connectionId":"evil"}'
        )
        assert post_raw(server.url, forged, {LEGACY_HEADER: signature})[0] == 401
        downgrade = nango_json(auth_webhook(connection_id="downgrade"))
        headers = nango_headers(downgrade) | {HMAC_HEADER: "0" * 64}
        code, reply = post_raw(server.url, downgrade, headers)
        assert code == 401 and "downgrade" in str(reply)
        assert server.stats.rejected == 2
    assert [e.summary.connection_id for e in store.list()] == ["genuine"]


def test_failed_checks_stored_over_http_carry_no_right_signature(listener, store):
    """Issue 19 item 1: an attacker posts a body of their choice with a wrong signature; what the listener
    stores for it holds no signature the configured keys give that body."""
    from nango_desktop.services.signing import sign_headers

    raw = nango_json(auth_webhook(connection_id="attacker-chosen"))
    for headers in ({HMAC_HEADER: "0" * 64}, {LEGACY_HEADER: "0" * 64}, {}):
        code, reply = post_raw(listener.url, raw, headers)
        assert code == 200
        stored = store.get(reply["id"])
        text = repr(stored.verification.to_dict()) + repr(stored.to_dict())
        for key in (SIGNING_KEY, PREVIOUS_KEY):
            for value in sign_headers(key, raw).values():
                assert value not in text
        raw += b" "  # a new event each time


def test_reject_policy_without_a_key_fails_closed_with_503(store):
    """Issue 19 item 3: with a reject policy and no key (none stored, or the keyring unreadable right now)
    nothing can be verified: every request is answered 503 (Nango retries later) and nothing is stored."""
    keys: list[str] = []
    with running_listener(store, keys=(), reject_invalid=True, reject_unsigned=True) as server:
        server.keys = lambda: list(keys)
        for key in (SIGNING_KEY, "wrong", None):
            status, reply = post_webhook(server.url, auth_webhook(connection_id=str(key)), key)
            assert status == 503 and "no webhook signing key" in reply["error"]["message"]
        assert store.count() == 0 and server.stats.rejected == 3 and server.stats.busy == 0
        keys.append(SIGNING_KEY)  # the key is back (stored, keyring unlocked): verified events flow again
        assert post_webhook(server.url, auth_webhook(connection_id="after"))[0] == 200
    assert [e.summary.connection_id for e in store.list()] == ["after"]
    with running_listener(store, keys=(), reject_invalid=True) as server:
        assert post_webhook(server.url, auth_webhook(connection_id="x"))[0] == 503


def test_no_key_configured(store):
    with running_listener(store, keys=()) as server:
        code, reply = post_webhook(server.url, sync_webhook())
    assert code == 200 and store.get(reply["id"]).verification.status is VerificationStatus.NO_KEY


def test_keys_callable_failure_means_no_key(store):
    def broken():
        raise RuntimeError("keyring locked")

    with running_listener(store, keys=()) as server:
        server.keys = broken
        code, reply = post_webhook(server.url, sync_webhook())
    assert code == 200 and store.get(reply["id"]).verification.status is VerificationStatus.NO_KEY


def test_policy_rejects_invalid_and_unsigned_with_401(store):
    with running_listener(store, reject_invalid=True, reject_unsigned=True) as server:
        assert post_webhook(server.url, auth_webhook(), "wrong")[0] == 401
        assert post_webhook(server.url, auth_webhook(connection_id="u"), None)[0] == 401
        assert post_webhook(server.url, auth_webhook(connection_id="ok"))[0] == 200
        assert server.stats.rejected == 2
    assert [e.summary.connection_id for e in store.list()] == ["ok"]


def test_accept_and_flag_by_default(listener, store):
    assert post_webhook(listener.url, auth_webhook(), "wrong")[0] == 200
    assert store.count(EventFilter(verification="invalid")) == 1


def test_duplicate_delivery_answered_2xx_and_counted(listener, store):
    payload = auth_webhook()
    first = post_webhook(listener.url, payload)
    second = post_webhook(listener.url, payload)
    assert first[0] == second[0] == 200
    assert second[1] == {"ok": True, "id": first[1]["id"], "duplicate": True}
    assert store.count() == 1 and store.get(first[1]["id"]).duplicates == 1
    assert listener.stats.accepted == 1 and listener.stats.duplicates == 1


def test_on_event_called_after_commit(store):
    seen = []
    done = threading.Event()

    def on_event(event, duplicate):
        seen.append((event.id, duplicate, store.get(event.id) is not None))
        if len(seen) == 2:
            done.set()

    with running_listener(store, on_event=on_event) as server:
        post_webhook(server.url, auth_webhook())
        post_webhook(server.url, auth_webhook())
        assert done.wait(10)
    assert seen == [(1, False, True), (1, True, True)]


def test_on_event_exception_does_not_break_the_listener(store):
    def on_event(event, duplicate):
        raise RuntimeError("GUI went away")

    with running_listener(store, on_event=on_event) as server:
        assert post_webhook(server.url, auth_webhook())[0] == 200
        assert post_webhook(server.url, auth_webhook(connection_id="2"))[0] == 200
    assert store.count() == 2


def test_malformed_body_stored_and_answered_400(listener, store):
    code, reply = post_raw(listener.url, b'{"type": "auth",', {"Content-Type": "application/json"})
    assert code == 400 and "line 1 column 17" in reply["error"]["message"]
    event = store.get(reply["id"])
    assert event.malformed == reply["error"]["message"] and event.body == b'{"type": "auth",'
    code, reply = post_raw(listener.url, b"\xc3\x28", {"Content-Type": "application/json"})
    assert code == 400 and "UTF-8" in store.get(reply["id"]).malformed


def test_store_failure_answers_500_so_nango_retries(listener, store):
    store.close()  # every add now fails
    code, reply = post_webhook(listener.url, auth_webhook())
    assert code == 500 and listener.stats.errors == 1


def test_routing(listener):
    base = listener.url.rsplit("/webhooks/nango", 1)[0]
    assert post_raw(base + "/healthz", b"", {}, method="GET")[0] == 200
    assert post_raw(base + "/other", b"{}", {"Content-Type": "application/json"})[0] == 404
    assert post_raw(listener.url, b"", {}, method="GET")[0] == 405
    assert post_raw(listener.url, b"{}", {}, method="PUT")[0] == 405
    assert post_raw(base + "/", b"", {}, method="GET")[0] == 404
    # a query string on the webhook path is fine (some tunnels add one)
    raw = nango_json(auth_webhook())
    assert post_raw(listener.url + "?src=tunnel", raw, nango_headers(raw))[0] == 200


def test_custom_path(store):
    with running_listener(store, path="hooks") as server:
        assert server.url.endswith("/hooks")
        assert post_webhook(server.url, auth_webhook())[0] == 200
        assert post_webhook(server.url + "/", auth_webhook(connection_id="slash"))[0] == 200
        assert post_webhook(server.url + "x", auth_webhook(connection_id="other"))[0] == 404


def test_port_in_use_gives_clear_error_with_suggestion(store):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        states = []
        server = WebhookServer(store, profile="dev", port=port, on_state=lambda s, m: states.append(s))
        with pytest.raises(ListenerError) as info:
            server.start()
    assert info.value.title == f"Port {port} is already in use"
    assert f"127.0.0.1:{port}" in info.value.detail and str(port + 1) in info.value.detail
    assert server.state == "error" and server.error is info.value and states == ["error"]
    assert not server.running


def test_bad_address_gives_clear_error(store):
    server = WebhookServer(store, profile="dev", host="203.0.113.7", port=0)  # not an address of this machine
    with pytest.raises(ListenerError) as info:
        server.start()
    assert "Cannot listen on 203.0.113.7" in info.value.title


def test_non_loopback_bind_warns(store, caplog):
    with running_listener(store, host="0.0.0.0") as server:
        assert server.warning and "other machines" in server.warning
        assert server.url.startswith("http://127.0.0.1:")
        assert post_webhook(server.url, auth_webhook())[0] == 200
    assert any("reachable from other machines" in r.getMessage() for r in caplog.records)
    with running_listener(store) as server:
        assert server.warning is None


def test_ipv6_loopback(store):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server_cm = running_listener(store, host="::1")
        server = server_cm.__enter__()
    except ListenerError:
        pytest.skip("IPv6 loopback unavailable")
    try:
        assert server.url.startswith("http://[::1]:")
        assert post_webhook(server.url, auth_webhook())[0] == 200
    finally:
        server_cm.__exit__(None, None, None)


def test_start_stop_restart_and_state(store):
    states = []
    server = WebhookServer(
        store, profile="dev", port=0, keys=lambda: [SIGNING_KEY], on_state=lambda s, m: states.append(s)
    )
    server.start()
    server.start()  # idempotent
    url = server.url
    assert server.running and server.state == "listening"
    assert post_webhook(url, auth_webhook())[0] == 200
    server.stop()
    server.stop()  # idempotent
    assert server.state == "stopped" and not server.running
    with pytest.raises(OSError):
        post_webhook(url, auth_webhook(connection_id="after-stop"), timeout=2)
    server.port = int(url.split(":")[2].split("/")[0])  # same port again: it was released
    server.start()
    assert post_webhook(server.url, auth_webhook(connection_id="again"))[0] == 200
    server.stop()
    assert states == ["listening", "stopped", "listening", "stopped"]
    assert not [t for t in threading.enumerate() if t.name == "webhook-listener"]


# -- forwarding and replay ------------------------------------------------------------------------------


class _Target:
    """A local app receiving forwarded webhooks (records requests, answers with a chosen status)."""

    def __init__(self, status=200):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = status
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                target.requests.append((dict(self.headers), body))
                self.send_response(target.status)
                self.send_header("Content-Length", "8")
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_forward_each_event_with_original_headers_and_body(store):
    results = []
    with (
        _Target(status=202) as target,
        running_listener(store, forward_to=target.url, on_forward=results.append) as server,
    ):
        code, reply = post_webhook(server.url, auth_webhook(connection_id="fwd"))
        assert code == 200
        assert wait_for(lambda: len(results) == 1)
    headers, body = target.requests[0]
    raw = nango_json(auth_webhook(connection_id="fwd"))
    assert body == raw
    assert headers["X-Nango-Hmac-Sha256"] == nango_headers(raw)["X-Nango-Hmac-Sha256"]
    assert headers["User-Agent"].startswith("nango/")
    (recorded,) = store.forwards(reply["id"])
    assert (recorded.status, recorded.response_body, recorded.replay) == (202, "received", False)
    assert recorded.latency > 0 and results[0].status == 202


def test_forward_failure_is_recorded_not_fatal(store):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/x"
    results = []
    with running_listener(store, forward_to=dead, on_forward=results.append) as server:
        assert post_webhook(server.url, auth_webhook())[0] == 200
        assert wait_for(lambda: results)
    assert results[0].status is None and "Connect" in results[0].error
    assert store.forwards(1)[0].error == results[0].error


def test_replay_is_resigned_with_current_key_and_marked(store):
    with running_listener(store, keys=(PREVIOUS_KEY,)) as old:
        _, reply = post_webhook(old.url, sync_webhook(), PREVIOUS_KEY)
    original = store.get(reply["id"])
    # The key was rotated since; the replay goes to our own listener to check what it receives.
    with running_listener(store, keys=(SIGNING_KEY,)) as server:
        forwarder = Forwarder(server.url, store, keys=lambda: [SIGNING_KEY])
        result = forwarder.replay(original)
        forwarder.stop()
    assert result.ok and result.replay
    replayed = store.list(1)[0]
    assert replayed.id != original.id and replayed.replay_of == original.id
    assert replayed.header("X-Nango-Desktop-Replay") == str(original.id)
    assert (
        replayed.verification.status is VerificationStatus.VERIFIED and replayed.verification.key_index == 0
    )
    assert replayed.body == original.body
    assert store.forwards(original.id)[0].replay is True


def test_forwarder_queue_is_bounded(store):
    event, _ = store.add(body=b"{}", headers={}, verification=verify(b"{}", {}, []))
    forwarder = Forwarder("http://127.0.0.1:9/x", store, max_queue=2)  # not started: nothing drains
    assert [forwarder.submit(event) for _ in range(3)] == [True, True, False]
    assert forwarder.dropped == 1
    forwarder.stop()


def test_signing_keys_never_reach_disk_or_logs(tmp_home, store, caplog):
    caplog.set_level(logging.DEBUG)
    with running_listener(store, keys=(SIGNING_KEY, PREVIOUS_KEY)) as server:
        post_webhook(server.url, auth_webhook(), SIGNING_KEY)
        post_webhook(server.url, auth_webhook(connection_id="old"), PREVIOUS_KEY)
        post_webhook(server.url, auth_webhook(connection_id="bad"), "wrong")
        post_webhook(server.url, b"{not json", SIGNING_KEY)
    store.close()
    written = b"".join(p.read_bytes() for p in tmp_home.rglob("*") if p.is_file())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for key in (SIGNING_KEY, PREVIOUS_KEY):
        assert key.encode() not in written and key not in logged


def test_credential_headers_are_stored_masked_by_name_pattern(listener, store):
    """Issue 19 item 9: headers not on a fixed list (X-Nango-Secret-Key, any *-Key, *-Token, *-Secret) were
    stored as received. The signature headers stay (the signature check shows them)."""
    from nango_desktop.store.events import REDACTED

    raw = nango_json(auth_webhook(connection_id="headers"))
    secret_headers = {
        "X-Nango-Secret-Key": "11111111-2222-4333-8444-555555555555",
        "X-Custom-Token": "tok_abcdef123456",
        "Stripe-Secret": "whsec_abcdef123456",
        "X-Api-Key": "key-abcdef123456",
        "Authorization": "Bearer abcdef123456",
    }
    code, reply = post_raw(listener.url, raw, nango_headers(raw) | secret_headers | {"X-Request-Id": "r-1"})
    assert code == 200
    event = store.get(reply["id"])
    stored = {k.lower(): v for k, v in event.headers.items()}
    for name, value in secret_headers.items():
        assert stored[name.lower()] == REDACTED
        assert value not in json.dumps(event.to_dict())
    assert stored["x-request-id"] == "r-1"
    assert stored["x-nango-hmac-sha256"] == event.verification.received_hmac
    assert event.verification.ok  # verified on the headers as received, before masking


def test_a_flood_of_unverified_requests_never_evicts_verified_events(tmp_home):
    """Issue 19 item 4 over HTTP: 20 acknowledged, verified events, then a flood of unsigned requests larger
    than every budget; retention (which runs every 500 adds) used to count every row and evicted them all."""
    from nango_desktop.services.peer_limit import PeerLimiter

    with EventStore(
        event_store_path("flood"), profile="flood", retention_count=50, retention_unverified=10
    ) as store:
        with running_listener(store, unverified_limiter=PeerLimiter(rate=0, burst=10_000)) as server:
            verified = [
                post_webhook(server.url, auth_webhook(connection_id=f"v{i}"))[1]["id"] for i in range(20)
            ]
            for i in range(620):
                assert post_webhook(server.url, auth_webhook(connection_id=f"junk{i}"), None)[0] == 200
        store.apply_retention(store.retention_count, store.retention_days, store.retention_unverified)
        assert all(store.get(eid) is not None for eid in verified)
        assert store.count(EventFilter(verification="verified")) == 20
        assert store.count(EventFilter(verification="unsigned")) == 10  # their own, smaller budget


def test_unverified_requests_are_throttled_per_peer_and_verified_ones_never(store):
    """Issue 19 item 4: a peer's unverified requests spend a token bucket (429 + Retry-After when empty);
    verified deliveries from the same address go on."""
    from nango_desktop.services.peer_limit import PeerLimiter

    now = [1000.0]
    limiter = PeerLimiter(rate=1.0, burst=5, clock=lambda: now[0])
    with running_listener(store, unverified_limiter=limiter) as server:
        codes = [post_webhook(server.url, auth_webhook(connection_id=f"u{i}"), None)[0] for i in range(7)]
        assert codes == [200] * 5 + [429] * 2
        status, reply = post_raw(
            server.url, nango_json(auth_webhook(connection_id="x")), {HMAC_HEADER: "0" * 64}
        )
        assert status == 429 and "verified webhooks are not limited" in reply["error"]["message"]
        assert all(
            post_webhook(server.url, auth_webhook(connection_id=f"ok{i}"))[0] == 200 for i in range(20)
        )
        now[0] += 1.0  # one token back
        assert post_webhook(server.url, auth_webhook(connection_id="later"), None)[0] == 200
        assert post_webhook(server.url, auth_webhook(connection_id="later2"), None)[0] == 429
        assert server.stats.throttled == 4
    assert store.count(EventFilter(verification="verified")) == 20
    assert store.count(EventFilter(verification="unsigned")) == 6


def test_retry_after_of_a_throttled_request(store):
    from nango_desktop.services.peer_limit import PeerLimiter

    limiter = PeerLimiter(rate=0.1, burst=1, clock=lambda: 50.0)
    with running_listener(store, unverified_limiter=limiter) as server:
        post_webhook(server.url, auth_webhook(connection_id="a"), None)
        raw = nango_json(auth_webhook(connection_id="b"))
        response = httpx.post(
            server.url, content=raw, headers={"Content-Type": "application/json"}, timeout=10
        )
        assert response.status_code == 429 and response.headers["Retry-After"] == "10"
