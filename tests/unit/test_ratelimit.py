"""RateLimiter: a budget shared by threads, fed by X-RateLimit-* headers and 429s."""

from __future__ import annotations

import threading

import pytest

from nango_desktop.domain.models import RateLimitInfo
from nango_desktop.services.errors import CancelledError
from nango_desktop.services.ratelimit import RESET_MARGIN, RateLimiter, parse_rate_limit, parse_retry_after

WALL0 = 1_800_000_000.0


class FakeTime:
    """Monotonic and wall clocks that only move when the limiter sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.mono = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.mono

    def wall(self) -> float:
        return WALL0 + self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.mono += seconds


@pytest.fixture
def t() -> FakeTime:
    return FakeTime()


@pytest.fixture
def limiter(t) -> RateLimiter:
    return RateLimiter(clock=t.clock, wall=t.wall, sleep=t.sleep)


def headers(limit="200", remaining="2", reset_in: float = 30, t: FakeTime | None = None) -> dict[str, str]:
    reset = (t.wall() if t else WALL0) + reset_in
    return {
        "x-ratelimit-limit": limit,
        "x-ratelimit-remaining": remaining,
        "x-ratelimit-reset": str(int(reset)),
    }


def test_parse_rate_limit_headers():
    info = parse_rate_limit(headers(remaining="150"))
    assert info == RateLimitInfo(limit=200, remaining=150, reset=WALL0 + 30)
    assert parse_rate_limit({}) is None
    assert parse_rate_limit({"x-ratelimit-remaining": "junk"}) is None


def test_small_reset_values_are_relative_seconds():
    info = parse_rate_limit({"x-ratelimit-reset": "12"}, wall=lambda: WALL0)
    assert info.reset == WALL0 + 12


def test_parse_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", wall=lambda: 1445412470.0) == 10.0


def test_unknown_budget_never_blocks(limiter, t):
    for _ in range(1000):
        assert limiter.acquire() == 0
    assert t.slept == []


def test_spends_the_budget_then_waits_for_the_reset(limiter, t):
    limiter.update_from_headers(headers(remaining="2", reset_in=30, t=t))
    assert limiter.acquire() == 0
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(30 + RESET_MARGIN)  # resets have 1 s resolution
    assert t.slept == [pytest.approx(30 + RESET_MARGIN)]
    # after the reset the budget is unknown until the next response says it
    assert limiter.acquire() == 0
    assert limiter.info.limit == 200


def test_a_new_window_replaces_the_local_count(limiter, t):
    limiter.update_from_headers(headers(remaining="1", reset_in=30, t=t))
    limiter.acquire()
    limiter.update_from_headers(headers(remaining="5", reset_in=90, t=t))
    for _ in range(5):
        assert limiter.acquire() == 0
    assert t.slept == []


def test_within_a_window_a_stale_reply_does_not_raise_the_budget(limiter, t):
    limiter.update_from_headers(headers(remaining="3", reset_in=30, t=t))
    limiter.acquire()
    limiter.acquire()  # one left locally
    limiter.update_from_headers(headers(remaining="2", reset_in=30, t=t))  # a reply that raced
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(30 + RESET_MARGIN)


def test_retry_after_zero_still_waits_a_little(limiter, t):
    assert limiter.note_429(0) == 1.0
    assert limiter.acquire() == 1.0


def test_429_blocks_for_retry_after(limiter, t):
    assert limiter.note_429(12) == 12
    assert limiter.acquire() == pytest.approx(12)
    assert limiter.acquire() == 0


def test_429_without_retry_after_waits_for_the_known_reset(limiter, t):
    limiter.update_from_headers(headers(remaining="50", reset_in=20, t=t))
    assert limiter.note_429(None) == pytest.approx(20 + RESET_MARGIN)


def test_waits_are_capped(t):
    limiter = RateLimiter(clock=t.clock, wall=t.wall, sleep=t.sleep, max_wait=60)
    limiter.update_from_headers(headers(remaining="0", reset_in=3600, t=t))
    assert limiter.acquire() == pytest.approx(60)
    assert limiter.note_429(10_000) == 60


def test_cancel_while_waiting_raises():
    cancel = threading.Event()
    limiter = RateLimiter(sleep=lambda s: cancel.set())
    limiter.note_429(30)
    with pytest.raises(CancelledError):
        limiter.acquire(cancel)
    assert cancel.is_set()


def test_cancel_wakes_a_real_wait():
    """Without an injected sleep the limiter waits on the cancel event, so setting it ends the wait."""
    cancel = threading.Event()
    limiter = RateLimiter()
    limiter.note_429(60)
    errors: list[BaseException] = []

    def worker():
        try:
            limiter.acquire(cancel)
        except CancelledError as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    cancel.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(errors) == 1


def test_budget_is_shared_by_concurrent_threads(t):
    """Three requests left, six threads: three go at once, three wait for the reset."""
    gate = threading.Event()
    sleeping = threading.Semaphore(0)
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        sleeping.release()
        gate.wait(timeout=30)
        with lock:
            t.slept.append(seconds)

    limiter = RateLimiter(clock=t.clock, wall=t.wall, sleep=sleep)
    limiter.update_from_headers(headers(remaining="3", reset_in=30, t=t))
    waited: list[float] = []

    def worker():
        value = limiter.acquire()
        with lock:
            waited.append(value)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(3):
        assert sleeping.acquire(timeout=10)
    with lock:
        assert sorted(waited) == [0, 0, 0]
        t.mono += 31  # the window resets
    gate.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(waited) == 6
    assert sum(1 for w in waited if w > 0) == 3
