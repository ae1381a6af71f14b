"""The raw transfer ceiling of a connection listing: the same GET /connections pages, bytes only.

A minimal HTTP/1.1 client on one keep-alive socket (``TCP_NODELAY``): it sends the same requests as
``NangoClient.iter_connection_pages`` (same page size, same order, stops at the first short page), reads each
response's headers and exactly ``Content-Length`` body bytes, and parses nothing. Whatever a real client spends
beyond this is its own overhead (HTTP library, JSON parsing, model construction). With ``--concurrency N`` it
opens N sockets and fetches N pages at a time (no client can list faster than this over one loopback).

    python benchmarks/raw_transfer.py --base-url http://127.0.0.1:3003 [--page-size 1000] [--runs 3]

Prints one JSON line per run: ``{"ms": ..., "pages": ..., "bytes": ...}``. Reads the key from
``NANGO_SECRET_KEY`` (default ``test-secret-key``, FakeNango's).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

_BUFFER = 1 << 20


class RawConnection:
    """One keep-alive HTTP/1.1 connection that returns response bodies as bytes, unparsed."""

    def __init__(self, base_url: str, secret_key: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError("raw_transfer measures plain http:// (loopback) only")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._auth = f"Authorization: Bearer {secret_key}\r\n"
        self._sock = socket.create_connection((self._host, self._port), timeout=60)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()

    def close(self) -> None:
        self._sock.close()

    def get(self, target: str) -> bytes:
        request = (
            f"GET {self._prefix}{target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Accept: application/json\r\n{self._auth}\r\n"
        )
        self._sock.sendall(request.encode())
        buf = self._buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = bytes(buf[:end]).decode("latin-1")
        del buf[: end + 4]
        status = int(head.split(" ", 2)[1])
        length = None
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise RuntimeError("raw_transfer needs Content-Length responses")
        while len(buf) < length:
            self._fill()
        body = bytes(buf[:length])
        del buf[:length]
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        return body

    def _fill(self) -> None:
        chunk = self._sock.recv(_BUFFER)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self._buf += chunk


def _target(page_size: int, page: int) -> str:
    return f"/connections?limit={page_size}" + (f"&page={page}" if page else "")


def _count(body: bytes) -> int:
    """Rows in a page without parsing it: every row of GET /connections has exactly one ``"connection_id"``
    key at its top level (nested objects never use that key name in Nango's list payload)."""
    return body.count(b'"connection_id":')


def fetch_all(base_url: str, secret_key: str, page_size: int = 1000, concurrency: int = 1) -> tuple[int, int]:
    """Fetch every page like the real clients; returns (pages, bytes). Stops after the first short page."""
    conns = [RawConnection(base_url, secret_key) for _ in range(max(1, concurrency))]
    pages = total = 0
    try:
        if concurrency <= 1:
            while True:
                body = conns[0].get(_target(page_size, pages))
                pages += 1
                total += len(body)
                if _count(body) < page_size:
                    return pages, total
        with ThreadPoolExecutor(len(conns)) as pool:
            page = 0
            while True:
                targets = [_target(page_size, page + i) for i in range(len(conns))]
                batch = list(pool.map(RawConnection.get, conns, targets))
                for body in batch:
                    pages += 1
                    total += len(body)
                    if _count(body) < page_size:
                        return pages, total
                page += len(conns)
    finally:
        for conn in conns:
            conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args(argv)
    key = os.environ.get("NANGO_SECRET_KEY", "test-secret-key")
    for _ in range(args.runs):
        t0 = time.perf_counter()
        pages, size = fetch_all(args.base_url, key, args.page_size, args.concurrency)
        ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({"ms": round(ms, 1), "pages": pages, "bytes": size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
