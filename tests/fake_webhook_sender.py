"""FakeNango's webhook sender: delivers like Nango's (NOTES.md; issue 14).

- the exact bytes Nango signs (``webhook_bytes``), signed with the environment's current key
  (``X-Nango-Hmac-Sha256`` and the legacy ``X-Nango-Signature``), ``Content-Type: application/json``;
- each attempt times out after ``timeout`` (20 s);
- up to 3 attempts, waiting 3 s then 6 s, retried ONLY on network errors (refused, reset, timeout) and 5xx:
  a 4xx is final;
- a circuit breaker: after 5 failed attempts within 10 s, deliveries are dropped (not attempted) for 60 s.

Delays and the clock are injectable (``sleep=``, ``clock=``) so tests never wait. :meth:`submit` queues a
delivery for the sender's thread (the fake server calls it while holding its lock); :meth:`join` waits until
the queue is drained; :meth:`send` delivers synchronously.
"""

from __future__ import annotations

import http.client
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from nango_desktop.services.signing import sign_headers

TIMEOUT = 20.0
RETRY_DELAYS = (3.0, 6.0)  # waits before the 2nd and 3rd attempt
BREAKER_FAILURES = 5
BREAKER_WINDOW = 10.0
BREAKER_OPEN = 60.0


@dataclass
class Delivery:
    raw: bytes
    attempts: list[int | str] = field(default_factory=list)  # status codes or network error names
    dropped: bool = False  # the circuit breaker was open: never attempted

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and isinstance(self.attempts[-1], int) and self.attempts[-1] < 500


class WebhookSender:
    def __init__(
        self,
        url: str,
        signing_key: Callable[[], str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url = url
        self.signing_key = signing_key
        self.sleep, self.clock, self.timeout = sleep, clock, timeout
        self.deliveries: list[Delivery] = []
        self.waits: list[float] = []  # every retry delay asked for (tests check 3 s, 6 s)
        self._failures: deque[float] = deque()
        self._open_until: float | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- queued delivery ----------------------------------------------------------------------------------
    def submit(self, raw: bytes) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fake-webhook-sender", daemon=True)
                self._thread.start()
        self._queue.put(raw)

    def join(self) -> None:
        self._queue.join()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            raw = self._queue.get()
            try:
                if raw is None:
                    return
                self.send(raw)
            finally:
                self._queue.task_done()

    # -- one delivery -------------------------------------------------------------------------------------
    def send(self, raw: bytes) -> Delivery:
        delivery = Delivery(raw)
        self.deliveries.append(delivery)
        if self._breaker_open():
            delivery.dropped = True
            return delivery
        headers = {"Content-Type": "application/json", **sign_headers(self.signing_key(), raw)}
        for attempt in range(1 + len(RETRY_DELAYS)):
            if attempt:
                self.waits.append(RETRY_DELAYS[attempt - 1])
                self.sleep(RETRY_DELAYS[attempt - 1])
            outcome = self._post(raw, headers)
            delivery.attempts.append(outcome)
            if isinstance(outcome, int) and outcome < 500:
                return delivery  # 2xx, 3xx and 4xx are final
            self._failed()
            if self._breaker_open():
                return delivery
        return delivery

    def _post(self, raw: bytes, headers: dict[str, str]) -> int | str:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
        try:
            conn.request("POST", parts.path or "/", body=raw, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__
        finally:
            conn.close()

    def _failed(self) -> None:
        now = self.clock()
        self._failures.append(now)
        while self._failures and self._failures[0] < now - BREAKER_WINDOW:
            self._failures.popleft()
        if len(self._failures) >= BREAKER_FAILURES:
            self._open_until = now + BREAKER_OPEN
            self._failures.clear()

    def _breaker_open(self) -> bool:
        return self._open_until is not None and self.clock() < self._open_until
