"""Total deadline and instant Cancel for blocking HTTP calls (issue 18).

httpx's sync client blocks its thread in ``recv`` until data arrives or the per-read timeout passes: a
stalled body kept a call busy for 4 attempts x 20 s, and a GUI Cancel only took effect after that. Here

- every API call runs inside a :class:`CallScope` (its cancel event and its total deadline);
- the httpcore network backend is wrapped so each socket read/write records, on its stream, which scope's
  thread is using it (:func:`install`);
- one daemon watcher thread (:class:`_Watcher`, alive only while calls are in flight) checks the scopes
  every ``POLL_SECONDS`` and, when a cancel event is set or a deadline passes, shuts the scope's socket down
  (``shutdown(SHUT_RDWR)`` wakes a ``recv`` blocked in another thread at once). The blocked read then fails
  and the client raises CancelledError / ApiTimeoutError saying why and after how long.

Only a socket still used by the scope's own thread is shut down: a connection that went back to the pool
and was picked up by another call is left alone. Qt-free.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import httpcore
import httpx

POLL_SECONDS = 0.02

_local = threading.local()


class CallScope:
    """One API call: its cancel event, its deadline (``time.monotonic()`` based) and what stopped it."""

    def __init__(self, cancel: threading.Event | None, deadline: float | None) -> None:
        """``deadline``: seconds from now (None: no deadline)."""
        self.cancel = cancel
        self.started = time.monotonic()
        self.deadline_at = self.started + deadline if deadline else None
        self.thread = threading.get_ident()
        self.fired: str | None = None  # "cancel" | "deadline" once the watcher stopped the call
        self._stream: _Stream | None = None
        self._lock = threading.Lock()

    # -- state ------------------------------------------------------------------------------------------
    def due(self, now: float | None = None) -> str | None:
        """Why the call must stop now (``"cancel"`` / ``"deadline"``), or None."""
        if self.cancel is not None and self.cancel.is_set():
            return "cancel"
        if (
            self.deadline_at is not None
            and (now if now is not None else time.monotonic()) >= self.deadline_at
        ):
            return "deadline"
        return None

    def remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- streams ----------------------------------------------------------------------------------------
    def attach(self, stream: _Stream) -> None:
        with self._lock:
            self._stream = stream
            why = self.fired or self.due()
        if why is not None:
            self.fire(why)

    def fire(self, why: str) -> None:
        """Stop the call: shut its socket down if this scope's thread is still using it."""
        with self._lock:
            self.fired = self.fired or why
            stream = self._stream
        if stream is not None and stream.owner == self.thread:
            stream.interrupt()

    def __enter__(self) -> CallScope:
        self._outer = getattr(_local, "scope", None)
        _local.scope = self
        if self.cancel is not None or self.deadline_at is not None:
            _WATCHER.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _WATCHER.remove(self)
        with self._lock:
            self._stream = None
        _local.scope = self._outer


def current_scope() -> CallScope | None:
    return getattr(_local, "scope", None)


class _Watcher:
    """One daemon thread checking the scopes in flight; it sleeps on a condition while there are none."""

    def __init__(self) -> None:
        self._scopes: set[CallScope] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, scope: CallScope) -> None:
        with self._cond:
            self._scopes.add(scope)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nango-call-watcher", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def remove(self, scope: CallScope) -> None:
        with self._cond:
            self._scopes.discard(scope)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._scopes:
                    self._cond.wait()
                scopes = list(self._scopes)
            now = time.monotonic()
            for scope in scopes:
                if scope.fired is None:
                    why = scope.due(now)
                    if why is not None:
                        scope.fire(why)
            time.sleep(POLL_SECONDS)


_WATCHER = _Watcher()


class _Stream(httpcore.NetworkStream):
    """A network stream that tells the current call's scope it is in use (and can be shut down)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.owner: int | None = None

    def _enter(self) -> None:
        self.owner = threading.get_ident()
        scope = current_scope()
        if scope is not None:
            scope.attach(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._enter()
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._enter()
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None):
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def interrupt(self) -> None:
        sock = self._inner.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(transport: httpx.HTTPTransport) -> bool:
    """Wrap the transport's network backend so calls can be interrupted; False if its pool has none (a
    proxy transport of another shape: calls then stop only at the per-read timeout)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:
        return False
    if not isinstance(backend, _Backend):
        pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return True
