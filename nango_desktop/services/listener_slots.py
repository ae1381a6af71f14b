"""Which accepted connection gets a handler thread (issue 19 item 5: slot exhaustion).

Idle or drip-feeding (slowloris) connections from one local client used to take every slot, and every real
delivery got 503 for as long as they reconnected. :class:`Admission` splits the listener's slots:

- **general slots** (three quarters): any connection, at most ``per_peer`` of them per peer address, except
  loopback peers: behind a tunnel (ngrok, cloudflared) every Nango delivery comes from 127.0.0.1, so a cap there
  would only cut the tunnel's share; the reserved share is what keeps a local flood from starving deliveries;
- **reserved slots** (a quarter): only for a connection whose request has **arrived complete** (headers and
  the whole body as announced by ``Content-Length``). A connection that finds no general slot waits in a
  *waiting room* (one thread, a selector, bounded) for at most ``wait`` seconds; as soon as its request is
  complete it is served on a reserved slot. Drip-fed or idle connections never complete, so they never
  reach the reserved share: a real delivery (sent in one go, as Nango and tunnels do) is served while they
  hold the general slots. Whatever cannot be admitted is answered 503 with ``Retry-After`` (Nango retries).

Handlers also give up sooner on connections that have sent nothing (the first-byte timeout in
``webhook_server``), so idle connections free their slots quickly.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length[ \t]*:[ \t]*([0-9]{1,15})[ \t]*\r?$")
PEEK_BYTES = 64 * 1024  # a request this large that is still arriving counts as arriving complete


def _loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer.split("%")[0]).is_loopback
    except ValueError:
        return False


def request_complete(data: bytes) -> bool:
    """True when ``data`` (the start of a connection's bytes) holds a whole request: the header block and
    as many body bytes as ``Content-Length`` says (or at least PEEK_BYTES of them: a big body streaming in)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) >= PEEK_BYTES  # no end of headers in 64 KiB: the handler answers 431
    match = _CONTENT_LENGTH.search(data[:end])
    length = int(match.group(1)) if match else 0
    return len(data) - (end + 4) >= min(length, PEEK_BYTES - end - 4)


def slot_counts(max_connections: int, reserved_share: float, per_peer_share: float) -> tuple[int, int, int]:
    """(reserved slots, general slots, general slots one non-loopback peer may hold), each at least 1."""
    reserved = max(1, int(max_connections * reserved_share))
    general = max(1, max_connections - reserved)
    return reserved, general, max(1, int(general * per_peer_share))


class Admission:
    def __init__(
        self,
        max_connections: int,
        *,
        admit: Callable[[socket.socket, Any, Callable[[], None]], None],
        refuse: Callable[[socket.socket], None],
        wait: float = 2.0,
        waiting_capacity: int = 256,
        reserved_share: float = 0.25,
        per_peer_share: float = 0.75,
    ) -> None:
        self.reserved_total, self.general_total, self.per_peer = slot_counts(
            max_connections, reserved_share, per_peer_share
        )
        self._admit, self._refuse = admit, refuse
        self.wait, self.waiting_capacity = wait, waiting_capacity
        self._lock = threading.Lock()
        self._general = 0
        self._reserved = 0
        self._by_peer: dict[str, int] = {}
        self._waiting: dict[socket.socket, tuple[Any, float]] = {}
        self._incoming: list[tuple[socket.socket, Any]] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-waiting-room", daemon=True)
        self._thread.start()

    # -- called by the accept thread -----------------------------------------------------------------------
    def offer(self, sock: socket.socket, address: Any) -> None:
        peer = str(address[0]) if address else "?"
        with self._lock:
            cap = self.general_total if _loopback(peer) else self.per_peer
            if self._general < self.general_total and self._by_peer.get(peer, 0) < cap:
                self._general += 1
                self._by_peer[peer] = self._by_peer.get(peer, 0) + 1
                admitted = True
            else:
                admitted = False
                queued = len(self._waiting) + len(self._incoming) < self.waiting_capacity
                if queued:
                    self._incoming.append((sock, address))
        if admitted:
            self._admit(sock, address, lambda: self._release_general(peer))
        elif queued:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\0")
        else:
            self._refuse(sock)

    def close(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")
        self._thread.join(timeout=5)
        with self._lock:
            left = list(self._waiting) + [sock for sock, _ in self._incoming]
            self._waiting.clear()
            self._incoming.clear()
        for sock in left:
            self._refuse(sock)
        self._wake_r.close()
        self._wake_w.close()

    @property
    def counts(self) -> tuple[int, int, int]:
        """(general slots in use, reserved slots in use, connections in the waiting room)."""
        with self._lock:
            return self._general, self._reserved, len(self._waiting) + len(self._incoming)

    # -- internals ---------------------------------------------------------------------------------------
    def _release_general(self, peer: str) -> None:
        with self._lock:
            self._general -= 1
            left = self._by_peer.get(peer, 1) - 1
            if left:
                self._by_peer[peer] = left
            else:
                self._by_peer.pop(peer, None)

    def _release_reserved(self) -> None:
        with self._lock:
            self._reserved -= 1

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                self._take_incoming(selector)
                timeout = self._next_deadline()
                for key, _events in selector.select(timeout):
                    if key.fileobj is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    else:
                        self._readable(selector, key.fileobj)  # type: ignore[arg-type]
                self._expire(selector)
        finally:
            selector.close()

    def _take_incoming(self, selector: selectors.BaseSelector) -> None:
        with self._lock:
            incoming, self._incoming = self._incoming, []
            deadline = time.monotonic() + self.wait
            for sock, address in incoming:
                self._waiting[sock] = (address, deadline)
        for sock, _address in incoming:
            try:
                selector.register(sock, selectors.EVENT_READ)
            except (OSError, ValueError):
                self._drop(selector, sock, refuse=False)

    def _next_deadline(self) -> float | None:
        with self._lock:
            if not self._waiting:
                return None
            return max(0.0, min(d for _a, d in self._waiting.values()) - time.monotonic())

    def _readable(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        try:
            data = sock.recv(PEEK_BYTES, socket.MSG_PEEK)
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(selector, sock, refuse=False)
            return
        if not request_complete(data):
            return
        with self._lock:
            address, _deadline = self._waiting.pop(sock, (None, 0.0))
            free = self._reserved < self.reserved_total
            if free:
                self._reserved += 1
        selector.unregister(sock)
        if free:
            self._admit(sock, address, self._release_reserved)
        else:
            self._refuse(sock)

    def _expire(self, selector: selectors.BaseSelector) -> None:
        now = time.monotonic()
        with self._lock:
            expired = [sock for sock, (_a, deadline) in self._waiting.items() if deadline <= now]
        for sock in expired:
            self._drop(selector, sock, refuse=True)

    def _drop(self, selector: selectors.BaseSelector, sock: socket.socket, *, refuse: bool) -> None:
        with self._lock:
            self._waiting.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            selector.unregister(sock)
        if refuse:
            self._refuse(sock)
        else:
            with contextlib.suppress(OSError):
                sock.close()
