"""Listener hardening (issue 7 item 4): browser requests, limits, slow/stalled clients, disconnects, floods.

Raw sockets are used where an HTTP client library would refuse to send the bad request.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from urllib.parse import urlsplit

import pytest

from nango_desktop.services.listener_slots import BUSY
from nango_desktop.store.events import EventStore, event_store_path
from tests.webhook_helpers import (
    auth_webhook,
    nango_headers,
    nango_json,
    post_raw,
    post_webhook,
    running_listener,
    wait_for,
)

RAW = nango_json(auth_webhook())


@pytest.fixture
def store(tmp_home):
    s = EventStore(event_store_path("dev"), profile="dev")
    yield s
    s.close()


@pytest.fixture
def listener(store):
    with running_listener(store, max_body_bytes=10_000) as server:
        yield server


def _addr(server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname, parts.port


def _connect(server, timeout=10.0) -> socket.socket:
    return socket.create_connection(_addr(server), timeout=timeout)


def _status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


def _exchange(server, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes or a full response head arrived."""
    with _connect(server) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _healthy(server) -> bool:
    base = server.url.rsplit("/", 2)[0]
    return post_raw(base + "/healthz", b"", {}, method="GET")[0] == 200


# -- browsers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "text/plain;charset=UTF-8"},
        {"Content-Type": "Multipart/Form-Data; boundary=x"},
        {"Content-Type": "application/x-www-form-urlencoded"},
    ],
)
def test_browser_requests_are_refused_and_not_stored(listener, store, extra):
    headers = nango_headers(RAW) | extra  # even correctly signed
    code, reply = post_raw(listener.url, RAW, headers)
    assert code == 403 and "refused" in reply["error"]["message"]
    assert store.count() == 0 and listener.stats.rejected == 1


def test_json_without_origin_is_accepted(listener):
    assert post_raw(listener.url, RAW, {"Content-Type": "application/json; charset=utf-8"})[0] == 200
    assert (
        post_raw(listener.url, nango_json(auth_webhook(connection_id="2")), {})[0] == 200
    )  # no content type


# -- sizes and framing ----------------------------------------------------------------------------------


def test_oversized_body_rejected_from_content_length_before_reading(listener, store):
    head = (
        f"POST /webhooks/nango HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    response = _exchange(listener, head)  # the 50 MB body is never sent: the answer must not wait for it
    assert _status(response) == 413 and b"Connection: close" in response
    assert store.count() == 0


def test_expect_100_continue_only_after_checks(listener, store):
    head = b"POST /webhooks/nango HTTP/1.1\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n"
    response = _exchange(listener, head + b"Content-Length: 999999\r\n\r\n")
    assert _status(response) == 413  # refused before the client uploads anything
    with _connect(listener) as sock:
        sock.sendall(head + f"Content-Length: {len(RAW)}\r\n".encode() + b"\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(RAW)
        assert _status(sock.recv(65536)) == 200
    assert store.count() == 1


def test_body_at_the_limit_is_accepted(listener, store):
    body = nango_json({"type": "forward", "payload": "x" * (10_000 - 40)})
    body = body[:-2] + b" " * (10_000 - len(body)) + body[-2:]
    assert len(body) == 10_000
    assert post_raw(listener.url, body, nango_headers(body))[0] == 200
    big = body[:-2] + b" " + body[-2:]
    assert post_raw(listener.url, big, nango_headers(big))[0] == 413


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"", 411),  # no Content-Length
        (b"Transfer-Encoding: chunked\r\n", 411),
        (b"Content-Length: abc\r\n", 400),
        (b"Content-Length: -5\r\n", 400),
        (b"Content-Length: 2\r\nContent-Length: 3\r\n", 400),
        # issue 19 item 6: not ASCII digits (str.isdigit() takes them; int() then raised or read 3 bytes)
        ("Content-Length: ¹\r\n".encode(), 400),
        ("Content-Length: ٣\r\n".encode(), 400),
        ("Content-Length: ２\r\n".encode(), 400),
        (b"Content-Length: " + b"9" * 5000 + b"\r\n", 400),  # int() of 5,000 digits raised ValueError
        (b"Content-Length: +2\r\n", 400),
        (b"Content-Length: 2 3\r\n", 400),
    ],
)
def test_bad_framing(listener, store, headers, expected):
    response = _exchange(listener, b"POST /webhooks/nango HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n{}")
    assert _status(response) == expected
    assert store.count() == 0


def test_header_limits(listener):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    assert _status(_exchange(listener, b"POST /webhooks/nango HTTP/1.1\r\n" + many + b"\r\n")) == 431
    huge = b"X-Big: " + b"a" * 40_000 + b"\r\n"
    assert _status(_exchange(listener, b"POST /webhooks/nango HTTP/1.1\r\n" + huge + b"\r\n")) == 431
    long_line = b"POST /webhooks/nango?" + b"q" * 9000 + b" HTTP/1.1\r\n\r\n"
    assert _status(_exchange(listener, long_line)) == 414
    assert _healthy(listener)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),  # a TLS ClientHello
        b"GARBAGE\r\n\r\n",
        b"POST /webhooks/nango HTTP/9.9\r\n\r\n",
        b"POST /webhooks/nango HTTP/1.1\r\nno colon here\r\n\xff\xfe: \x00\r\nContent-Length: 2\r\n\r\n{}",
        b"\r\n\r\n\r\n",
        b"GET /nowhere\r\n\r\n",  # HTTP/0.9
        b"GET /webhooks/nango\r\n\r\n",
    ],
)
def test_garbled_requests_do_not_hurt(listener, request_bytes):
    _exchange(listener, request_bytes)
    assert _healthy(listener)
    assert listener.stats.errors == 0


# -- slow, stalled, disconnecting clients -----------------------------------------------------------------


def test_slow_but_steady_client_is_served(store):
    with running_listener(store, idle_timeout=5, request_timeout=20) as server, _connect(server) as sock:
        request = (
            b"POST /webhooks/nango HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + b"".join(f"{k}: {v}\r\n".encode() for k, v in nango_headers(RAW).items())
            + f"Content-Length: {len(RAW)}\r\n\r\n".encode()
            + RAW
        )
        for i in range(0, len(request), 50):  # many small writes
            sock.sendall(request[i : i + 50])
        assert _status(sock.recv(65536)) == 200
    assert store.get(1).verification.ok


def test_stalled_client_is_dropped_and_does_not_block_others(store):
    with (
        running_listener(store, idle_timeout=0.5, request_timeout=1.0) as server,
        _connect(server) as stalled,
    ):
        stalled.sendall(b"POST /webhooks/nango HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")  # never finishes
        assert post_webhook(server.url, auth_webhook())[0] == 200  # served meanwhile
        stalled.settimeout(10)
        assert stalled.recv(1024) == b""  # closed by the server (timeout), without an answer
    assert store.count() == 1


def test_slowloris_connections_do_not_starve_deliveries_that_arrive_complete(store):
    """Issue 19 item 5: 100 drip-feeding connections from one local client used to take every slot, and every
    real delivery got 503 while they reconnected. Now they hold at most the general slots of one peer; a request
    that arrives complete is served on the reserved share, and the slow ones are cut at the request deadline."""
    with running_listener(
        store, max_connections=8, idle_timeout=5.0, request_timeout=30.0, admission_wait=1.0
    ) as server:
        stop = threading.Event()
        socks = []
        for _ in range(100):
            try:
                sock = _connect(server)
                sock.sendall(b"POST /webhooks/nango HTTP/1.1\r\n")
                socks.append(sock)
            except OSError:
                pass

        def drip():  # each read is within the idle timeout, but the request never completes
            while not stop.wait(0.2):
                for s in socks:
                    try:
                        s.sendall(b"X-a: b\r\n")
                    except OSError:
                        pass

        dripper = threading.Thread(target=drip)
        dripper.start()
        try:
            assert wait_for(lambda: server._httpd.admission.counts[0] >= 4)  # the general share is held
            codes = [post_webhook(server.url, auth_webhook(connection_id=f"real{i}"))[0] for i in range(20)]
            assert codes == [200] * 20
        finally:
            stop.set()
            dripper.join()
            for s in socks:
                s.close()
    assert store.count() == 20
    assert server.stats.busy >= 1  # slow ones beyond the peer's share were refused (503: Nango retries)


def test_idle_connections_are_cut_soon_and_do_not_starve_deliveries(store):
    """Connections that send nothing are closed after the first-byte timeout (2 s by default, shorter than the
    idle timeout between the bytes of a request), and never keep a complete request from being served."""
    with running_listener(
        store, max_connections=8, idle_timeout=30.0, first_byte_timeout=0.5, admission_wait=1.0
    ) as server:
        idle = [_connect(server) for _ in range(64)]
        try:
            assert all(
                post_webhook(server.url, auth_webhook(connection_id=f"c{i}"))[0] == 200 for i in range(10)
            )
            first = idle[0]
            first.settimeout(10)
            assert first.recv(1024) in (b"", BUSY)  # closed by the server, not kept 30 s
        finally:
            for sock in idle:
                sock.close()
    assert store.count() == 10


def test_request_complete():
    from nango_desktop.services.listener_slots import PEEK_BYTES, request_complete

    head = b"POST /w HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
    assert not request_complete(b"POST /w HTTP/1.1\r\n")
    assert not request_complete(head + b"{}")
    assert request_complete(head + b'{"a":')
    assert request_complete(b"GET /healthz HTTP/1.1\r\n\r\n")
    big = b"POST /w HTTP/1.1\r\ncontent-length: 900000\r\n\r\n"
    assert not request_complete(big + b"x" * 1000)
    assert request_complete(big + b"x" * PEEK_BYTES)  # a big body streaming in fast


def _busy_probe(server) -> bool:
    try:
        return _status(_exchange(server, b"GET /healthz HTTP/1.1\r\n\r\n")) == 503
    except (OSError, IndexError, ValueError):
        return False


def _post_ok(server) -> bool:
    try:
        return post_webhook(server.url, auth_webhook(connection_id="after"), timeout=5)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


@pytest.mark.parametrize("reset", [False, True])
def test_disconnect_mid_body_stores_nothing(listener, store, reset):
    sock = _connect(listener)
    sock.sendall(
        b"POST /webhooks/nango HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    )
    sock.sendall(RAW[:50])
    if reset:  # RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    assert _post_ok(listener)
    assert wait_for(lambda: store.count() == 1)
    assert store.get(1).summary.connection_id == "after"
    assert listener.stats.errors == 0


def test_keep_alive_connection_serves_many_requests(listener, store):
    conn = http.client.HTTPConnection(*_addr(listener), timeout=10)
    try:
        for i in range(20):
            raw = nango_json(auth_webhook(connection_id=f"k{i}"))
            conn.request("POST", "/webhooks/nango", body=raw, headers=nango_headers(raw))
            response = conn.getresponse()
            response.read()
            assert response.status == 200
    finally:
        conn.close()
    assert store.count() == 20


# -- floods ---------------------------------------------------------------------------------------------


def _flood(server, total: int, threads: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        conn = None
        mine: list[int] = []
        for i in range(n, total, threads):
            raw = nango_json(auth_webhook(connection_id=f"flood-{i}"))
            for _attempt in range(3):  # like Nango: retry network errors and 5xx
                try:
                    if conn is None or i % 50 == 0:  # mix keep-alive and fresh connections
                        if conn is not None:
                            conn.close()
                        conn = http.client.HTTPConnection(*_addr(server), timeout=30)
                    conn.request("POST", "/webhooks/nango", body=raw, headers=nango_headers(raw))
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    conn, status = None, 0
                if 0 < status < 500:
                    break
            mine.append(status)
        if conn is not None:
            conn.close()
        with lock:
            statuses.extend(mine)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return statuses


def _check_flood(server, store, total):
    assert _healthy(server)
    assert store.count() == total
    assert {e.summary.connection_id for e in store.iter_events()} == {f"flood-{i}" for i in range(total)}
    assert all(e.verification.ok for e in store.list(100))
    assert store.integrity_check() == "ok"
    assert server.stats.errors == 0


def test_flood_of_10000_requests(store):
    with running_listener(store) as server:
        statuses = _flood(server, 10_000, threads=6)
        assert statuses.count(200) == 10_000
        _check_flood(server, store, 10_000)


@pytest.mark.slow
def test_soak_flood_50000_requests(store):
    with running_listener(store) as server:
        statuses = _flood(server, 50_000, threads=16)
        assert statuses.count(200) == 50_000
        _check_flood(server, store, 50_000)


def test_stop_cuts_stalled_connections_and_leaves_no_threads(store):
    with running_listener(store, idle_timeout=30, request_timeout=60) as server:
        stalled = [_connect(server) for _ in range(3)]
        for s in stalled:
            s.sendall(b"POST /webhooks/nango HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
        assert post_webhook(server.url, auth_webhook())[0] == 200
        assert wait_for(lambda: len(server._httpd.active) == 3)
    # running_listener stopped it: without the drain, stop() would wait for the 60 s request deadline
    for s in stalled:
        s.settimeout(10)
        assert s.recv(100) == b""
        s.close()
    assert wait_for(lambda: not [t for t in threading.enumerate() if "process_request_thread" in t.name])
    assert store.count() == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"type":"auth","n":' + b"7" * 5000 + b"}", "digits"),  # more than Python's 4,300-digit limit
        (b'{"type":"auth","n":NaN}', "NaN"),
        (b'{"type":"auth","n":-Infinity}', "Infinity"),
        (b'{"type":"auth","n":1e999}', "out of range"),
    ],
)
def test_numbers_that_json_cannot_round_trip_are_answered_and_stored_malformed(
    listener, store, body, problem
):
    """Issue 19 item 6: a signed body with such a number got no answer and was not stored (ValueError in the
    handler; Nango retries, then drops it). Now: answered, stored as received, flagged malformed; and the
    export stays valid JSON (no NaN/Infinity written back)."""
    import io
    import json

    status, reply = post_raw(listener.url, body, nango_headers(body))
    assert status == 400 and problem in reply["error"]["message"]
    event = store.get(reply["id"])
    assert event.body == body and event.malformed and event.verification.ok
    out = io.StringIO()
    store.export_json(out)

    def refuse(name):
        raise AssertionError(f"export wrote {name}")

    exported = json.loads(out.getvalue(), parse_constant=refuse)
    assert [e["id"] for e in exported] == [event.id]
    assert _healthy(listener)


def test_an_unexpected_error_is_answered_500_and_the_listener_goes_on(listener, store, monkeypatch):
    """Whatever goes wrong inside the handler, the client gets an answer (500: Nango retries) and the
    listener keeps serving."""
    import nango_desktop.services.webhook_server as ws

    def boom(*_args, **_kw):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ws, "summarize", boom)
    status, reply = post_raw(listener.url, RAW, nango_headers(RAW))
    assert status == 500 and "not stored" in reply["error"]["message"]
    assert store.count() == 0 and listener.stats.errors == 1
    monkeypatch.undo()
    assert post_raw(listener.url, RAW, nango_headers(RAW))[0] == 200


def test_per_peer_cap_spares_loopback_peers_behind_a_tunnel():
    """Behind a tunnel every delivery comes from 127.0.0.1: loopback peers may use every general slot; other
    peers are capped at three quarters of them (the rest wait for a reserved slot or get 503)."""
    from nango_desktop.services.listener_slots import Admission

    def run(peer: str) -> tuple[int, int]:
        admitted: list[str] = []
        refused: list[socket.socket] = []
        pairs = [socket.socketpair() for _ in range(8)]
        admission = Admission(
            8, admit=lambda sock, addr, release: admitted.append(addr[0]), refuse=refused.append, wait=0.2
        )
        try:
            for left, _right in pairs:
                admission.offer(left, (peer, 1))
            assert wait_for(lambda: len(admitted) + len(refused) == len(pairs))  # the rest expire: 503
            return len(admitted), admission.general_total
        finally:
            admission.close()
            for left, right in pairs:
                left.close()
                right.close()

    admitted, general = run("127.0.0.1")
    assert admitted == general  # every general slot
    admitted, general = run("203.0.113.9")
    assert admitted == max(1, general * 3 // 4) < general
