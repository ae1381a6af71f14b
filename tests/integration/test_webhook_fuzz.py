"""Property-based: arbitrary methods, paths, headers and bodies thrown at the running listener over real
sockets. The listener must answer each with a sane status (or close), never log an unexpected error,
keep the store consistent, and still answer /healthz afterwards."""

from __future__ import annotations

import json
import logging
import socket
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nango_desktop.services.peer_limit import PeerLimiter
from nango_desktop.services.signing import sign_headers
from nango_desktop.services.webhook_server import WebhookServer
from nango_desktop.store.events import EventStore
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_json, post_raw, post_webhook

FUZZ_EXAMPLES = 300


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))  # with the traceback


@pytest.fixture(scope="module")
def fuzz_listener(tmp_path_factory):
    store = EventStore(tmp_path_factory.mktemp("fuzz") / "events-fuzz.sqlite3", profile="fuzz")
    errors = _Errors()
    logging.getLogger("nango_desktop").addHandler(errors)
    server = WebhookServer(
        store,
        profile="fuzz",
        port=0,
        keys=lambda: [SIGNING_KEY],
        max_body_bytes=4096,
        idle_timeout=0.5,
        request_timeout=2.0,
        # every example is an unverified request from 127.0.0.1: with the default throttle (bursts of 100, then
        # 10/s) a fast enough listener answers 429 once the burst is spent, so whether a status is reached would
        # depend on speed. The throttle has its own tests (test_webhook_server.py, test_listener_tunables.py).
        unverified_limiter=PeerLimiter(rate=1e9, burst=10**9),
    )
    server.start()
    try:
        yield server, store, errors
    finally:
        server.stop()
        logging.getLogger("nango_desktop").removeHandler(errors)
        store.close()


token = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"),
    min_size=1,
    max_size=20,
)
header_names = st.one_of(
    st.sampled_from(
        [
            "Content-Type",
            "Content-Length",
            "X-Nango-Hmac-Sha256",
            "X-Nango-Signature",
            "Origin",
            "Transfer-Encoding",
            "Connection",
            "Expect",
            "Host",
            "X-Nango-Desktop-Replay",
        ]
    ),
    token,
)
header_values = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from(
        [b"application/json", b"text/plain", b"chunked", b"100-continue", b"-1", b"999999999999", b"0"]
    ),
    st.integers(min_value=0, max_value=10_000).map(lambda n: str(n).encode()),
)
bodies = st.one_of(
    st.binary(max_size=600),
    st.builds(lambda cid: nango_json(auth_webhook(connection_id=cid)), st.text(max_size=30)),
    st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=10,
    ).map(nango_json),
)


@st.composite
def requests(draw) -> bytes:
    method = draw(st.sampled_from([b"POST", b"POST", b"POST", b"GET", b"PUT", b"HEAD", b"OPTIONS", b"BREW"]))
    # weighted towards requests the listener gets past routing with, so the store is exercised too
    path = draw(
        st.just(b"/webhooks/nango")
        | st.sampled_from([b"/webhooks/nango?x=1", b"/healthz", b"/", b"*"])
        | st.binary(max_size=30)
    )
    version = draw(
        st.sampled_from(
            [b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"", b"HTTP/1.1 extra"]
        )
    )
    body = draw(bodies)
    headers = draw(st.lists(st.tuples(header_names.map(str.encode), header_values), max_size=8))
    if draw(st.integers(0, 3)) == 0:  # a quarter: what Nango sends, plus the random headers
        method, path, version = b"POST", b"/webhooks/nango", b"HTTP/1.1"
        headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"transfer-encoding")]
        headers.insert(0, (b"Content-Type", b"application/json"))
    length = draw(st.sampled_from(["right", "right", "none", "random"]))
    if length == "right":
        headers.append((b"Content-Length", str(len(body)).encode()))
    if draw(st.booleans()):
        signed = sign_headers(draw(st.sampled_from([SIGNING_KEY, "wrong"])), body)
        headers.extend((k.encode(), v.encode()) for k, v in signed.items())
    head = b" ".join(p for p in (method, path, version) if p) + b"\r\n"
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return head + b"\r\n" + body


def _send(server: WebhookServer, data: bytes) -> bytes:
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # the server sees the end at once instead of waiting for more
        except OSError:
            return b""  # the server answered and closed early (e.g. 413) while we were still sending
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


# What the listener answers (module docstring of webhook_server): 200 stored, 400 malformed (stored too, or a
# request http.server refuses), 401 rejected by signature policy, 403 browser, 404/405 routing, 408 too slow,
# 411/413 body limits, 414/431 line and header limits, 501 unknown method, 505 HTTP version. Never 500 (a bug
# or a store failure) and never 503 here (one connection at a time).
EXPECTED_STATUSES = {200, 400, 401, 403, 404, 405, 408, 411, 413, 414, 431, 501, 505}


def _status_and_json(reply: bytes) -> tuple[int | None, dict | None]:
    while reply.startswith(b"HTTP/1.1 100 "):  # interim "100 Continue" before the real answer
        reply = reply.split(b"\r\n\r\n", 1)[1]
    status_line = reply.split(b"\r\n", 1)[0]
    if not status_line.startswith(b"HTTP/"):
        return None, None
    status = int(status_line.split(b" ")[1])
    head, _, rest = reply.partition(b"\r\n\r\n")
    lengths = [
        line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    ]
    # only the first answer's body: bytes after a Content-Length: 0 body are a second request, answered too
    body = rest[: int(lengths[0])] if lengths else rest
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return status, parsed if isinstance(parsed, dict) else None


@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=requests())
def test_arbitrary_requests_never_break_the_listener(fuzz_listener, data):
    server, store, errors = fuzz_listener
    before = store.count()
    status, answer = _status_and_json(_send(server, data))
    event(f"status {status}")  # --hypothesis-show-statistics: which answers the examples reached
    after = store.count()
    assert status is None or status in EXPECTED_STATUSES, (status, data[:200])
    # the store holds exactly what was acknowledged as stored, byte for byte
    if answer is not None and "id" in answer:
        assert status in (200, 400) and data.startswith(b"POST /webhooks/nango")
        stored = store.get(answer["id"])
        assert stored is not None and stored.method == "POST"
        assert data.split(b"\r\n\r\n", 1)[1].startswith(stored.body)  # the bytes received, never altered
        assert after == before + (0 if answer["duplicate"] else 1)
        assert answer["ok"] is (status == 200) and (stored.malformed is None) is (status == 200)
    else:
        assert after == before, (status, data[:200])  # nothing stored without saying so
    assert not errors.records, errors.records[0]
    assert server.stats.errors == 0


def test_listener_is_healthy_after_fuzzing(fuzz_listener):
    server, store, errors = fuzz_listener
    base = server.url.rsplit("/", 2)[0]
    assert post_raw(base + "/healthz", b"", {}, method="GET")[0] == 200
    assert post_webhook(server.url, auth_webhook(connection_id="after-fuzz"))[0] == 200
    assert store.integrity_check() == "ok"
    assert server.running and not errors.records
