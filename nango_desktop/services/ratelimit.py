"""A rate-limit budget shared by every task and thread that talks to one Nango environment.

Nango counts requests per account in a 60 s window and reports the budget in ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch seconds); a 429 carries ``Retry-After``.
The limiter mirrors that budget: each :meth:`RateLimiter.acquire` spends one request locally (so concurrent
callers do not all fire on the last request), each response resets the count to what the server says, and
when the budget is spent (or a 429 arrived) callers block until the window resets.

Thread-safe. Waiting honours a cancel ``threading.Event`` (raises ``CancelledError``).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Mapping

from nango_desktop.domain.rate_limit import RateLimitInfo
from nango_desktop.services.errors import CancelledError

log = logging.getLogger(__name__)

# Never block longer than this on one reset, whatever the server says (Nango's window is 60 s).
MAX_WAIT = 65.0
# Reset headers have a resolution of one second (and clocks differ): wait this much past the stated reset.
RESET_MARGIN = 1.0
# Shortest wait after a 429, even when Retry-After says 0 (a rounded-down window end).
MIN_429_WAIT = 1.0
# X-RateLimit-Reset values below this are relative seconds, above it epoch seconds.
_EPOCH_THRESHOLD = 1_000_000_000


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def parse_rate_limit(
    headers: Mapping[str, str], *, wall: Callable[[], float] = time.time
) -> RateLimitInfo | None:
    """RateLimitInfo from ``X-RateLimit-*`` headers, ``None`` when the response has none."""
    limit = _int(headers.get("x-ratelimit-limit"))
    remaining = _int(headers.get("x-ratelimit-remaining"))
    reset_raw = headers.get("x-ratelimit-reset")
    reset: float | None = None
    if reset_raw is not None:
        try:
            reset = float(reset_raw)
        except ValueError:
            reset = None
        else:
            if reset < _EPOCH_THRESHOLD:
                reset = wall() + max(reset, 0.0)
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimitInfo(limit=limit, remaining=remaining, reset=reset)


def parse_retry_after(value: str | None, *, wall: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - wall(), 0.0)


class RateLimiter:
    """Request budget shared by concurrent callers.

    ``clock`` is monotonic seconds, ``wall`` epoch seconds (to convert ``X-RateLimit-Reset``); ``sleep``, when
    given, replaces waiting on the cancel event (tests pass a fake clock's sleep).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._reset_at: float | None = None  # clock time the window resets
        self._reset_wall: float | None = None  # the same, as the server said it (epoch seconds)
        self._blocked_until = 0.0  # clock time, after a 429
        self._last: RateLimitInfo | None = None

    # --- feeding -----------------------------------------------------------------------------------
    def update(self, info: RateLimitInfo | None) -> None:
        """Adopt the server's view of the budget (from a response's headers)."""
        if info is None:
            return
        with self._lock:
            self._last = info
            if info.remaining is not None:
                # Within one window the server's count only goes down; a reply that raced with newer ones
                # (or with requests this process has already spent locally) must not raise the budget.
                same_window = (
                    info.reset is not None
                    and self._reset_wall is not None
                    and abs(info.reset - self._reset_wall) < 1
                )
                if same_window and self._remaining is not None:
                    self._remaining = min(self._remaining, info.remaining)
                else:
                    self._remaining = info.remaining
            if info.reset is not None:
                self._reset_wall = info.reset
                delta = min(max(info.reset - self._wall(), 0.0) + RESET_MARGIN, self._max_wait)
                self._reset_at = self._clock() + delta

    def update_from_headers(self, headers: Mapping[str, str]) -> RateLimitInfo | None:
        info = parse_rate_limit(headers, wall=self._wall)
        self.update(info)
        return info

    def note_429(self, retry_after: float | None) -> float:
        """Block every caller for ``retry_after`` seconds (or until the known reset). Returns the delay."""
        with self._lock:
            now = self._clock()
            if retry_after is None:
                retry_after = (
                    (self._reset_at - now) if self._reset_at and self._reset_at > now else MIN_429_WAIT
                )
            delay = min(max(retry_after, MIN_429_WAIT), self._max_wait)
            self._blocked_until = max(self._blocked_until, now + delay)
            self._remaining = 0
            return delay

    @property
    def info(self) -> RateLimitInfo | None:
        return self._last

    # --- spending ----------------------------------------------------------------------------------
    def delay(self) -> float:
        """Seconds until a request may be sent; when 0, one request of the budget has been spent."""
        with self._lock:
            now = self._clock()
            if self._blocked_until > now:
                return self._blocked_until - now
            if self._remaining is not None and self._remaining <= 0:
                if self._reset_at is not None and self._reset_at > now:
                    return self._reset_at - now
                self._remaining = None  # the window has reset; the next response tells the new budget
            if self._remaining is not None:
                self._remaining -= 1
            return 0.0

    def acquire(self, cancel: threading.Event | None = None) -> float:
        """Block until a request may be sent; returns the seconds waited. Raises CancelledError."""
        waited = 0.0
        while True:
            if cancel is not None and cancel.is_set():
                raise CancelledError(detail="Cancelled while waiting for the rate limit")
            wait = self.delay()
            if wait <= 0:
                return waited
            log.info("Rate limit budget spent; waiting %.1f s", wait)
            self._wait(wait, cancel)
            waited += wait

    def _wait(self, seconds: float, cancel: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)
