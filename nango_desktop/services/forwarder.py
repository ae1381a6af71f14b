"""Forward received webhooks to a local URL, and replay stored ones (what ``stripe listen --forward-to`` does).

- :meth:`Forwarder.forward` posts an event's original headers and raw body (byte for byte, so the
  original signatures stay valid) and records status, latency and the response body in the store.
- :meth:`Forwarder.replay` posts a stored event again, marked with ``X-Nango-Desktop-Replay: <original id>``
  so the receiving app (and our own listener, if it is the target) can tell it from a real delivery. Only
  an event that was VERIFIED is re-signed with the CURRENT signing key; an unsigned, invalid or unchecked
  one is replayed without any signature and marked ``X-Nango-Desktop-Replay-Unverified: <status>``: a
  forged payload never comes out looking genuine.
- :meth:`Forwarder.submit` queues an event for a background thread (the listener never waits for the
  forward target). The queue is bounded; when full, events are dropped from forwarding (they stay stored)
  and a warning is logged.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import httpx

from nango_desktop.domain.events import REDACTED, REPLAY_HEADER, ForwardResult, StoredEvent
from nango_desktop.services.signing import HMAC_HEADER, LEGACY_HEADER, sign_headers
from nango_desktop.store.events import EventStore

log = logging.getLogger(__name__)

_HOP_BY_HOP = {
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}
_MAX_RESPONSE_CHARS = 64 * 1024
_STOP = object()


def forward_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The original request headers minus hop-by-hop ones and values we never stored."""
    return {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP and v != REDACTED}


REPLAY_UNVERIFIED_HEADER = "X-Nango-Desktop-Replay-Unverified"


def replay_is_signed(event: StoredEvent) -> bool:
    """A replay is signed only when the original was verified (else it is sent unsigned, marked)."""
    verification = getattr(event, "verification", None)
    return bool(verification is not None and verification.ok)


def replay_headers(event: StoredEvent, key: str | None) -> dict[str, str]:
    """Headers for a replay, marked as a replay: a verified event re-signed with ``key`` (or its original
    signatures without a key); any other event with NO signature and the unverified marker."""
    signature_names = {
        HMAC_HEADER.lower(),
        LEGACY_HEADER.lower(),
        REPLAY_HEADER.lower(),
        REPLAY_UNVERIFIED_HEADER.lower(),
    }
    headers = {k: v for k, v in forward_headers(event.headers).items() if k.lower() not in signature_names}
    if not replay_is_signed(event):
        headers[REPLAY_UNVERIFIED_HEADER] = str(event.verification.status)
    elif key:
        headers.update(sign_headers(key, event.body))
    else:  # nothing to sign with: keep the original signatures (they may still verify)
        headers.update(
            {k: v for k, v in event.headers.items() if k.lower() in signature_names - {REPLAY_HEADER.lower()}}
        )
    headers[REPLAY_HEADER] = str(event.id)
    return headers


class Forwarder:
    def __init__(
        self,
        url: str,
        store: EventStore | None = None,
        *,
        keys: Callable[[], Sequence[str]] = lambda: (),
        on_result: Callable[[ForwardResult], None] | None = None,
        timeout: float = 20.0,
        max_queue: int = 1000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.store = store
        self.keys = keys
        self.on_result = on_result
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
        )
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self.dropped = 0

    # -- background forwarding ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhook-forwarder", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            while True:  # make room for the stop marker: pending forwards are abandoned
                try:
                    self._queue.put_nowait(_STOP)
                    break
                except queue.Full:
                    self._drop_one()
            thread.join(timeout)
        self._client.close()

    def _drop_one(self) -> None:
        try:
            self._queue.get_nowait()
            self.dropped += 1
        except queue.Empty:
            pass

    def submit(self, event: StoredEvent) -> bool:
        """Queue ``event`` for forwarding; False when the queue is full (the event is not forwarded)."""
        try:
            self._queue.put_nowait(event)
            return True
        except queue.Full:
            self.dropped += 1
            log.warning("Forwarding queue full; event %d not forwarded to %s", event.id, self.url)
            return False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, StoredEvent)
            try:
                self.forward(item)
            except Exception:  # pragma: no cover - forward() already turns errors into results
                log.exception("Forwarding event %d failed", item.id)

    # -- one request -------------------------------------------------------------------------------------
    def forward(self, event: StoredEvent, url: str | None = None) -> ForwardResult:
        """Post ``event`` as received (original headers and body). Records and returns the result."""
        return self._post(event, forward_headers(event.headers), url or self.url, replay=False)

    def replay(self, event: StoredEvent, url: str | None = None) -> ForwardResult:
        """Post ``event`` again, marked as a replay; re-signed with the current key only if it was verified."""
        keys = [k for k in self.keys() if k]
        return self._post(
            event, replay_headers(event, keys[0] if keys else None), url or self.url, replay=True
        )

    def _post(self, event: StoredEvent, headers: dict[str, str], url: str, *, replay: bool) -> ForwardResult:
        result = ForwardResult(event_id=event.id, url=url, at=time.time(), replay=replay)
        started = time.perf_counter()
        try:
            response = self._client.post(url, content=event.body, headers=headers)
        except httpx.TimeoutException:
            result.error = f"No answer from {url} within {self._client.timeout.read} s"
        except httpx.HTTPError as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        else:
            result.status = response.status_code
            result.response_body = response.text[:_MAX_RESPONSE_CHARS]
        result.latency = time.perf_counter() - started
        self._record(result)
        return result

    def _record(self, result: ForwardResult) -> None:
        if self.store is not None:
            try:
                self.store.record_forward(result)
            except Exception:
                log.exception("Recording a forward result failed")
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:
                log.exception("on_result callback failed")
