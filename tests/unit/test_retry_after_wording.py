"""Issue 18: a ``Retry-After`` of hours says when to try again, not "shortly"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import RateLimitedError, retry_when

NOON = datetime(2026, 12, 5, 11, 16, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "try again shortly"),
        (7, "try again shortly"),
        (45, "try again in 45 s"),
        (90, "try again in 2 min, at 11:17 UTC"),
        (2 * 3600 + 47 * 60, "try again in 2 h 47 min, at 14:03 UTC"),
        (3 * 3600, "try again in 3 h, at 14:16 UTC"),
        (999999, "try again in 11 d 13 h, at 2026-12-17 01:02 UTC"),
    ],
)
def test_retry_when_says_how_long_and_when(seconds, expected):
    assert retry_when(seconds, now=NOON) == expected


def test_error_title_for_hours_names_the_time():
    err = RateLimitedError(None, "GET /x -> HTTP 429", retry_after=10020, now=NOON)
    assert err.title == "Nango's rate limit was reached; try again in 2 h 47 min, at 14:03 UTC"
    assert RateLimitedError(None, "", retry_after=None).title.endswith("try again shortly")


def test_client_reports_a_retry_after_of_hours_with_its_time():
    sleeps: list[float] = []
    transport = httpx.MockTransport(lambda request: httpx.Response(429, headers={"Retry-After": "10020"}))
    client = NangoClient("https://api.test", "sk-test-key-0000", transport=transport, sleep=sleeps.append)
    try:
        with pytest.raises(RateLimitedError) as info:
            client.list_integrations()
    finally:
        client.close()
    assert sleeps == []  # reported at once, not waited out
    assert re.fullmatch(
        r"Nango's rate limit was reached; try again in 2 h 4[67] min, at \d\d:\d\d UTC", info.value.title
    ), info.value.title
