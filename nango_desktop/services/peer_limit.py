"""Per-peer token buckets for the webhook listener (issue 19 item 4).

A flood of requests that fail verification (invalid or unsigned) from one address is throttled with 429
(``Retry-After``) before it is stored; requests that verify are never counted or throttled, so Nango's
deliveries go on during a flood (through a tunnel every request has the tunnel client's address: only the
unverified ones spend the bucket). Memory is bounded: at most ``max_peers`` addresses are tracked, the least
recently seen forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class PeerLimiter:
    def __init__(
        self,
        rate: float = 10.0,
        burst: int = 100,
        *,
        max_peers: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_peers, self.clock = rate, burst, max_peers, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # peer -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, peer: str) -> float:
        """Spend one token of ``peer``'s bucket: 0.0 when allowed, else the seconds until the next token."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(peer, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                wait, tokens = 0.0, tokens - 1.0
            else:
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
            self._buckets[peer] = (tokens, now)
            while len(self._buckets) > self.max_peers:
                self._buckets.popitem(last=False)
            return wait
