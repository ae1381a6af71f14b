"""The last rate-limit figures the server sent (pydantic-free: the API client's hot path imports it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitInfo:
    """Last seen X-RateLimit-* values; ``reset`` in epoch seconds."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
