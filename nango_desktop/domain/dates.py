"""Dates as Nango sends them (ISO 8601), without pulling in the API models (start-up and list paths)."""

from __future__ import annotations

from datetime import datetime


def parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
