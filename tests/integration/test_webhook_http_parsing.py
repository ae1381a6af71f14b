"""The listener's own header parser (issue 16: ``email``'s parser took a quarter of its CPU per request):
what it accepts and refuses, on raw bytes over a real socket."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from nango_desktop.store.events import EventStore
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json, running_listener


def _exchange(server, request: bytes) -> tuple[int, bytes, dict]:
    """(status, raw head, JSON reply) for raw request bytes."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if sep and length is not None and len(body) >= length:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, json.loads(body) if b"application/json" in head else {}


def _signed(raw: bytes, header_lines: list[bytes]) -> bytes:
    signed = nango_headers(raw, SIGNING_KEY)
    lines = [f"{k}: {v}".encode() for k, v in signed.items()] + header_lines
    return (
        b"POST /webhooks/nango HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + b"\r\n".join(lines)
        + (b"\r\nContent-Length: %d\r\n\r\n" % len(raw) + raw)
    )


def test_header_names_any_case_folded_and_repeated_values(tmp_home):
    raw = nango_json(auth_webhook(connection_id="parsed"))
    signed = nango_headers(raw, SIGNING_KEY)
    request = (
        b"POST /webhooks/nango HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
        + b"".join(f"{k.lower()}:{v}\r\n".encode() for k, v in signed.items())  # no space after the colon
        + b"X-Trace: one\r\n\tcontinued\r\nX-Multi: a\r\nX-Multi: b\r\n"
        + b"content-length: %d\r\n\r\n" % len(raw)
        + raw
    )
    with EventStore(tmp_home / "p.db", profile="p") as store, running_listener(store) as server:
        status, head, reply = _exchange(server, request)
        assert status == 200, reply
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nConnection: close" in head
        event = store.get(reply["id"])
    assert event.verification.ok
    assert event.header("X-Trace") == "one\r\n\tcontinued"  # as email's parser kept folded values
    assert event.header("X-Multi") == "a, b"
    assert event.summary.connection_id == "parsed"


def test_a_line_that_is_not_a_header_is_refused_and_nothing_is_stored(tmp_home):
    raw = nango_json(auth_webhook(connection_id="bad"))
    with EventStore(tmp_home / "p.db", profile="p") as store, running_listener(store) as server:
        for bad in (b"no colon here", b"Bad Name: v", b": empty name", b"\xff\xfe: v"):
            status, head, _ = _exchange(server, _signed(raw, [bad]))
            assert status == 400, bad
            assert b"Connection: close" in head
        # a folded line with nothing to continue
        status, _, _ = _exchange(server, b"POST /webhooks/nango HTTP/1.1\r\n continued: v\r\n\r\n")
        assert status == 400
        assert store.count() == 0
        assert _exchange(server, _signed(raw, [b"X-Fine: v"]))[0] == 200
        assert store.count() == 1
