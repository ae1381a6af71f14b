"""The local webhook listener: a Qt-free HTTP server on its own threads.

Contract (docs/ARCHITECTURE.md): ``WebhookServer(store, profile=..., host=..., port=..., path=..., keys=...)``,
``start()`` (raises :class:`ListenerError`), ``stop()``, ``url``, ``state``, ``running``.

What one request goes through, in order:

1. Limits: at most ``max_connections`` connections at once (others get 503 + ``Retry-After``), a socket
   timeout per read and a deadline per request (slow or stalled clients, slowloris), request line and
   header size limits (414 / 431).
2. Routing: ``GET /healthz`` -> 200; only ``POST`` on the configured path (404 elsewhere, 405 for
   other methods).
3. Browser protection (403): any ``Origin`` or ``Sec-Fetch-*`` header, or a content type a web page
   can send without a CORS preflight (``text/plain``, ``multipart/form-data``,
   ``application/x-www-form-urlencoded``), so a page open in the user's browser cannot inject events.
4. Body: ``Content-Length`` required (411), at most ``max_body_bytes`` (413, checked before reading;
   we never read more than announced); a client that disconnects mid-body gets nothing stored.
5. Signature check on the raw bytes (:mod:`signing`); policy ``reject_invalid`` / ``reject_unsigned``
   -> 401, otherwise accepted and flagged.
6. Stored and committed (:class:`EventStore`, fsync'd) BEFORE the response: 200 for JSON, 400 for a
   malformed body (stored too, with the error position), 503 full/read-only/locked disk, else 500 (retried).
   A retry of an already stored request is answered 200 and counted on the original.
7. After the response: ``on_event(event, is_duplicate)`` and, when configured, forwarding.

Binding anything but a loopback address is allowed (Nango cannot reach loopback; a reverse proxy may
need it) but logged as a warning and exposed as :attr:`WebhookServer.warning`.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import logging
import math
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from nango_desktop.domain.events import ForwardResult, StoredEvent
from nango_desktop.domain.webhooks import parse_body, summarize
from nango_desktop.services.http_request import LeanHTTPHandling
from nango_desktop.services.listener_slots import BUSY, Admission
from nango_desktop.services.peer_limit import PeerLimiter
from nango_desktop.services.signing import Verification, VerificationStatus, verify
from nango_desktop.settings import DEFAULT_LISTENER_PORT, ListenerSettings
from nango_desktop.store.diskerrors import StorageWatch
from nango_desktop.store.events import EventStore

log = logging.getLogger(__name__)

DEFAULT_PATH = "/webhooks/nango"
HEALTH_PATH = "/healthz"
BROWSER_CONTENT_TYPES = ("text/plain", "multipart/form-data", "application/x-www-form-urlencoded")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")  # strictly ASCII digits; 15 digits is far above any limit

__all__ = [
    "DEFAULT_LISTENER_PORT",
    "ListenerError",
    "ListenerState",
    "ListenerStats",
    "WebhookServer",
    "tunables",
]


class ListenerError(Exception):
    """The listener could not start (port in use, bad address...). ``title`` is for users."""

    def __init__(self, title: str, detail: str = "") -> None:
        super().__init__(title, detail)
        self.title = title
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}" if self.detail else self.title


class ListenerState(StrEnum):
    STOPPED = "stopped"
    LISTENING = "listening"
    ERROR = "error"


@dataclass(frozen=True)
class ListenerStats:
    accepted: int = 0  # stored (new events, malformed included)
    duplicates: int = 0  # retries counted on their original
    malformed: int = 0  # stored but answered 400
    rejected: int = 0  # 401 by policy, 403 browser, 404/405/411/413...
    busy: int = 0  # 503, over the connection limit
    errors: int = 0  # store failures (500) and unexpected exceptions
    throttled: int = 0  # 429, too many unverified requests from one address


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _DeadlineReader(io.RawIOBase):
    """Socket reads bounded by a per-read timeout AND a per-request deadline (slowloris)."""

    def __init__(self, sock: socket.socket, idle_timeout: float, first_byte_timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle_timeout
        self._first_byte = min(first_byte_timeout, idle_timeout)
        self.deadline = float("inf")
        self.awaiting_first_byte = True  # a connection (or keep-alive request) that has sent nothing yet

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline exceeded")
        idle = self._first_byte if self.awaiting_first_byte else self._idle
        self._sock.settimeout(min(idle, remaining))
        received = self._sock.recv_into(buffer)
        if received:
            self.awaiting_first_byte = False
        return received


class _Reply(Exception):
    """Raised inside the handler to answer with an error status."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, *, stat: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.stat = stat or ("busy" if status == 503 else "rejected")  # the ListenerStats field counted


class _Handler(LeanHTTPHandling, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "NangoDesktop"
    sys_version = ""
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"
    disable_nagle_algorithm = True  # small responses: no 40 ms delayed-ACK stalls on keep-alive
    # A request line http.server refuses (HTTP/2.0, three words, a bad method for HTTP/0.9) is answered with a
    # status line (HTTP/1.0 505 ...), not a bare HTTP/0.9 text no client can read as an error.
    default_request_version = "HTTP/1.0"
    server: _HTTPServer

    # -- plumbing ---------------------------------------------------------------------------------------
    def setup(self) -> None:
        owner = self.server.owner
        self.timeout = owner.idle_timeout  # type: ignore[misc]  # per connection: StreamRequestHandler reads it in setup()
        super().setup()
        self._reader = _DeadlineReader(self.connection, owner.idle_timeout, owner.first_byte_timeout)
        self.rfile = io.BufferedReader(self._reader, 64 * 1024)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.owner.request_timeout
        self._reader.awaiting_first_byte = True
        self._expect_continue = False
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.debug("webhook connection from %s dropped: %s", self.client_address[0], exc)
            self.close_connection = True

    def handle_expect_100(self) -> bool:
        # Answer "100 Continue" only once the request passed our checks (see _read_body), so a refused
        # or oversized request is answered before the client uploads its body.
        self._expect_continue = True
        return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("listener %s: " + format, self.client_address[0], *args)

    # -- routing ----------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        owner = self.server.owner
        self._answered = False  # per request (a kept-alive connection carries several)
        try:
            self._route(owner)
        except _Reply as reply:
            owner._count(reply.stat)
            self.close_connection = True  # the body (if any) was not read
            log.info(
                "listener answered %d to %s %s: %s",
                reply.status,
                self.command,
                self.path[:200],
                reply.message,
            )
            self.send_json(
                reply.status, {"error": {"code": reply.status, "message": reply.message}}, reply.headers
            )
        except OSError:  # the client went away or stalled (timeouts, resets): nobody to answer
            raise
        except Exception:  # a bug or an input nobody foresaw: still an answer (500: Nango retries), logged
            owner._count("errors")
            log.exception("listener: unexpected error on %s %s", self.command, self.path[:200])
            self.close_connection = True
            if not getattr(self, "_answered", False):
                self.send_json(
                    500, {"error": {"code": 500, "message": "Internal error; the event was not stored"}}
                )

    do_POST = do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _route(self, owner: WebhookServer) -> None:
        path = urlsplit(self.path).path
        if path == HEALTH_PATH and self.command in ("GET", "HEAD"):
            self.send_json(200, {"status": "ok", "listening": owner.url})
            return
        if path.rstrip("/") != owner.path.rstrip("/"):  # a trailing slash on either side is tolerated
            raise _Reply(404, "Not found")
        if self.command != "POST":
            raise _Reply(405, "Only POST is accepted here", {"Allow": "POST"})
        self._check_browser()
        body = self._read_body(owner.max_body_bytes)
        if body is None:
            return
        owner._handle_webhook(self, body)

    def _check_browser(self) -> None:
        if self.headers.get("Origin") is not None or any(
            k.lower().startswith("sec-fetch-") for k in self.headers
        ):
            raise _Reply(403, "Requests from web browsers are refused")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type in BROWSER_CONTENT_TYPES:
            raise _Reply(
                403, f"Content type {content_type} is refused (browser form); Nango sends application/json"
            )

    def _read_body(self, limit: int) -> bytes | None:
        if self.headers.get("Transfer-Encoding") is not None:
            raise _Reply(411, "Chunked bodies are not accepted; send Content-Length")
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if not lengths:
            raise _Reply(411, "Content-Length required")
        # ASCII digits only, bounded: str.isdigit() takes "¹" or "٣", and int() of 5,000 digits raises.
        if len(lengths) > 1 or not _CONTENT_LENGTH.fullmatch(next(iter(lengths))):
            raise _Reply(400, "Invalid Content-Length")
        length = int(next(iter(lengths)))
        if length > limit:
            raise _Reply(413, f"Body larger than {limit} bytes")
        if getattr(self, "_expect_continue", False):
            self._expect_continue = False
            self.send_response_only(100)
            self.end_headers()
        chunks, remaining = [], length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 64 * 1024))  # bounded by timeouts (_DeadlineReader)
            if not chunk:
                log.info("listener: client %s disconnected mid-body", self.client_address[0])
                self.close_connection = True
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def headers_dict(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for name, value in self.headers.items():
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        return merged


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: WebhookServer, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.owner = owner
        self.active: set[socket.socket] = set()
        self.active_lock = threading.Condition()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no port sharing with another program
            self.allow_reuse_address = False
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        # Skip HTTPServer.server_bind: it does a reverse DNS lookup (getfqdn) we do not need.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]  # (host, port[, flow, scope]) for AF_INET(6)
        self.server_name, self.server_port = str(host), int(port)

    def server_activate(self) -> None:
        super().server_activate()
        # general slots per peer, a reserved share for requests that arrive complete (services/listener_slots)
        self.admission = Admission(
            self.owner.max_connections,
            admit=self._admit,
            refuse=self._refuse,
            wait=self.owner.admission_wait,
            reserved_share=self.owner.reserved_share,
            per_peer_share=self.owner.per_peer_share,
        )
        self._releases: dict[socket.socket, Callable[[], None]] = {}

    def process_request(self, request: Any, client_address: Any) -> None:
        self.admission.offer(request, client_address)

    def _admit(self, request: socket.socket, client_address: Any, release: Callable[[], None]) -> None:
        with self.active_lock:
            self._releases[request] = release
        try:
            super().process_request(request, client_address)  # a handler thread
        except BaseException:
            with self.active_lock:
                self._releases.pop(request, None)
            release()
            raise

    def _refuse(self, request: socket.socket) -> None:
        self.owner._count("busy")
        try:
            request.sendall(BUSY)
        except OSError:
            pass
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.active_lock:
            self.active.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.active_lock:
                self.active.discard(request)
                release = self._releases.pop(request, None)
                self.active_lock.notify_all()
            if release is not None:
                release()

    def server_close(self) -> None:
        admission = getattr(self, "admission", None)
        if admission is not None:
            admission.close()
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.owner._count("errors")
        log.exception("listener: unexpected error with %s", client_address[0] if client_address else "?")

    def drain(self, grace: float) -> None:
        """Stop reading from open connections, let requests in progress answer, then cut the rest."""
        with self.active_lock:
            for sock in list(self.active):
                _shutdown(sock, socket.SHUT_RD)
            self.active_lock.wait_for(lambda: not self.active, timeout=grace)
            for sock in list(self.active):
                _shutdown(sock, socket.SHUT_RDWR)
            self.active_lock.wait_for(lambda: not self.active, timeout=1.0)


def _shutdown(sock: socket.socket, how: int) -> None:
    try:
        sock.shutdown(how)
    except OSError:
        pass


def tunables(settings: ListenerSettings) -> dict[str, Any]:
    """The ``WebhookServer`` keyword arguments a profile's listener settings tune (slots, first-byte timeout,
    per-peer throttle of unverified requests): one mapping for the GUI's listener and ``listen``."""
    return {
        "max_connections": settings.max_connections,
        "reserved_share": settings.reserved_share,
        "per_peer_share": settings.per_peer_share,
        "first_byte_timeout": settings.first_byte_timeout,
        "unverified_limiter": PeerLimiter(settings.unverified_rate, settings.unverified_burst),
    }


class WebhookServer:
    def __init__(
        self,
        store: EventStore,
        *,
        profile: str,
        host: str = "127.0.0.1",
        port: int = DEFAULT_LISTENER_PORT,
        path: str = DEFAULT_PATH,
        keys: Callable[[], Sequence[str]] = lambda: (),
        reject_invalid: bool = False,
        reject_unsigned: bool = False,
        accept_legacy_only: bool = False,
        max_body_bytes: int = 1_048_576,
        on_event: Callable[[StoredEvent, bool], None] | None = None,
        forward_to: str | None = None,
        on_forward: Callable[[ForwardResult], None] | None = None,
        on_state: Callable[[str, str], None] | None = None,
        max_connections: int = 64,
        idle_timeout: float = 10.0,
        request_timeout: float = 30.0,
        first_byte_timeout: float = 2.0,
        admission_wait: float = 2.0,
        unverified_limiter: PeerLimiter | None = None,
        reserved_share: float = 0.25,
        per_peer_share: float = 0.75,
    ) -> None:
        self.store = store
        self.profile = profile
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else "/" + path
        self.keys = keys
        self.reject_invalid = reject_invalid
        self.reject_unsigned = reject_unsigned
        self.accept_legacy_only = accept_legacy_only  # see signing.verify
        self.max_body_bytes = max_body_bytes
        self.on_event = on_event
        self.forward_to = forward_to
        self.on_forward = on_forward
        self.on_state = on_state
        self.storage = StorageWatch(lambda text: self.on_state and self.on_state("storage", text))
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.first_byte_timeout = first_byte_timeout  # for connections that have sent nothing (item 5)
        self.admission_wait = admission_wait  # for a connection over the general slots to arrive
        self.reserved_share, self.per_peer_share = reserved_share, per_peer_share  # listener_slots
        # unverified (invalid / unsigned) requests per peer: 10/s, bursts of 100; verified ones are never limited
        self.unverified_limiter = unverified_limiter or PeerLimiter()
        self.state = ListenerState.STOPPED
        self.error: ListenerError | None = None
        self.warning: str | None = None
        self.forwarder: Any = None  # services.forwarder.Forwarder while running with forward_to
        self._counts = dict.fromkeys(ListenerStats.__dataclass_fields__, 0)
        self._keys_reread_at = float("-inf")
        self._stats_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    # -- public -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state is ListenerState.LISTENING

    @property
    def bound_port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self.port

    @property
    def url(self) -> str:
        """The URL to post to from this machine (a wildcard bind is shown as loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.bound_port}{self.path}"

    @property
    def stats(self) -> ListenerStats:
        with self._stats_lock:
            return ListenerStats(**self._counts)

    def start(self) -> None:
        with self._lifecycle:
            if self._httpd is not None:
                return
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            try:
                httpd = _HTTPServer((self.host.strip("[]"), self.port), self, family)
            except (OSError, OverflowError) as exc:
                self.error = self._start_error(exc)
                self._set_state(ListenerState.ERROR, str(self.error))
                raise self.error from exc
            self._httpd = httpd
            self.error = None
            self.warning = None
            if not is_loopback(self.host):
                self.warning = (
                    f"Listening on {self.host}, reachable from other machines: anyone who can reach this port "
                    "can post events. Prefer 127.0.0.1 behind a tunnel."
                )
                log.warning("Webhook listener: %s", self.warning)
            if self.forward_to:
                from nango_desktop.services.forwarder import Forwarder

                self.forwarder = Forwarder(
                    self.forward_to, self.store, keys=self.keys, on_result=self.on_forward
                )
                self.forwarder.start()
            self._thread = threading.Thread(
                target=self._serve, args=(httpd,), name="webhook-listener", daemon=True
            )
            self._thread.start()
            log.info("Webhook listener for profile %s on %s", self.profile, self.url)
            self._set_state(ListenerState.LISTENING, self.url)

    def stop(self, grace: float = 2.0) -> None:
        """Stop accepting, let requests in progress finish (up to ``grace`` s), close. Idempotent."""
        with self._lifecycle:
            httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
            if httpd is None:
                return
            httpd.shutdown()
            httpd.server_close()
            httpd.drain(grace)
            if thread is not None:
                thread.join(timeout=5)
            if self.forwarder is not None:
                self.forwarder.stop()
                self.forwarder = None
            log.info("Webhook listener for profile %s stopped", self.profile)
            self._set_state(ListenerState.STOPPED, "")

    def __enter__(self) -> WebhookServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------------------
    def _serve(self, httpd: _HTTPServer) -> None:
        try:
            httpd.serve_forever(poll_interval=0.2)
        except Exception as exc:  # pragma: no cover - the accept loop itself failed
            log.exception("Webhook listener stopped unexpectedly")
            self.error = ListenerError("The webhook listener stopped unexpectedly", str(exc))
            self._set_state(ListenerState.ERROR, str(self.error))

    def _set_state(self, state: ListenerState, message: str) -> None:
        self.state = state
        if self.on_state is not None:
            try:
                self.on_state(str(state), message)
            except Exception:
                log.exception("on_state callback failed")

    def _count(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            self._counts[name] += n

    def _start_error(self, exc: BaseException) -> ListenerError:
        where = f"{self.host}:{self.port}"
        code = getattr(exc, "errno", None)
        if code in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or (
            code == errno.EACCES and self.port >= 1024
        ):
            alternative = self.port + 1 if 0 < self.port < 65535 else DEFAULT_LISTENER_PORT
            return ListenerError(
                f"Port {self.port} is already in use",
                f"Another program (maybe another Nango Desktop listener or profile) is listening on {where}. "
                f"Stop it, or choose another port in the profile's listener settings (e.g. {alternative}, then "
                f"the URL is http://{self.host}:{alternative}{self.path}) and update the URL your tunnel forwards to.",
            )
        if code == errno.EACCES:
            return ListenerError(
                f"Not allowed to listen on port {self.port}",
                f"Ports below 1024 need administrator rights. Choose a port such as {DEFAULT_LISTENER_PORT}.",
            )
        if code in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(
            exc, socket.gaierror | OverflowError
        ):
            return ListenerError(
                f"Cannot listen on {where}",
                f"{exc}. Use 127.0.0.1 (this machine only) or an address of one of this machine's interfaces.",
            )
        return ListenerError(f"Cannot listen on {where}", str(exc))

    def _keys(self) -> Sequence[str]:
        try:
            return list(self.keys())
        except Exception:
            log.warning(
                "Webhook listener: cannot read the signing keys; events are not verified", exc_info=True
            )
            return []

    def _verify(self, body: bytes, headers: dict[str, str]) -> Verification:
        """Verify with the cached keys; when that fails, read the keys again once (at most once a second)
        and retry: a rotation (this app's, in any process, or a key stored by hand) applies to the very next
        webhook, without waiting for the cache to expire or a restart."""
        verification = verify(body, headers, self._keys(), accept_legacy_only=self.accept_legacy_only)
        invalidate = getattr(self.keys, "invalidate", None)
        if verification.ok or invalidate is None or verification.status is VerificationStatus.UNSIGNED:
            return verification
        now = time.monotonic()
        with self._stats_lock:
            if now - self._keys_reread_at < 1.0:
                return verification
            self._keys_reread_at = now
        invalidate()
        return verify(body, headers, self._keys(), accept_legacy_only=self.accept_legacy_only)

    def _handle_webhook(self, handler: _Handler, body: bytes) -> None:
        headers = handler.headers_dict()
        verification = self._verify(body, headers)
        status = verification.status
        if status is VerificationStatus.NO_KEY and (self.reject_invalid or self.reject_unsigned):
            # Fail closed: the policy asks for verified events and no key is at hand (none stored, or the
            # keyring cannot be read right now). 503 so Nango retries later; nothing is stored.
            raise _Reply(
                503,
                "Cannot verify signatures: no webhook signing key is available to this listener, and its "
                "policy rejects unverified requests",
                {"Retry-After": "60"},
                stat="rejected",
            )
        if status in (VerificationStatus.INVALID, VerificationStatus.UNSIGNED):
            wait = self.unverified_limiter.take(handler.client_address[0])
            if wait:
                raise _Reply(
                    429,
                    "Too many requests that do not verify from this address; verified webhooks are not limited",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                    stat="throttled",
                )
        if (status is VerificationStatus.INVALID and self.reject_invalid) or (
            status is VerificationStatus.UNSIGNED and self.reject_unsigned
        ):
            raise _Reply(401, f"Signature check failed: {verification.describe()}")
        parsed, malformed = parse_body(body)
        summary = None if malformed else summarize(parsed)
        try:
            event, duplicate = self.store.add(
                body=body,
                headers=headers,
                verification=verification,
                received_at=time.time(),
                peer=handler.client_address[0],
                method=handler.command,
                path=handler.path,
                malformed=malformed,
                summary=summary,
            )
        except Exception as exc:
            return self._store_failed(handler, exc)
        self.storage.ok()  # a disk problem (full, read-only, locked) has ended
        self._count("duplicates" if duplicate else "accepted")
        if malformed and not duplicate:
            self._count("malformed")
        reply: dict[str, Any] = {"ok": malformed is None, "id": event.id, "duplicate": duplicate}
        if malformed:
            reply["error"] = {"code": 400, "message": malformed}
        try:
            handler.send_json(400 if malformed else 200, reply)
        finally:
            self._after_commit(event, duplicate)

    def _store_failed(self, handler: _Handler, exc: Exception) -> None:
        """503 + Retry-After while the disk is full, read-only or locked (Nango retries), else 500 (logged)."""
        self._count("errors")
        handler.close_connection = True
        problem = self.storage.failed(exc, getattr(self.store, "path", None))
        if problem is None:
            return handler.send_json(500, {"error": {"code": 500, "message": "Could not store the event"}})
        text = f"{problem.title}; the event was not stored"
        handler.send_json(503, {"error": {"code": 503, "message": text}}, {"Retry-After": "30"})

    def _after_commit(self, event: StoredEvent, duplicate: bool) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event, duplicate)
            except Exception:
                log.exception("on_event callback failed")
        if self.forwarder is not None:
            self.forwarder.submit(event)
