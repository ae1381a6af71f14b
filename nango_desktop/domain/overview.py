"""Figures of the Overview page, computed from connections, webhook events and issued links (Qt-free).

- :class:`ConnectionAggregator` folds connections in page by page (``add``) and gives an immutable
  :class:`ConnectionStats` at any time (``snapshot``): totals (connections, end users, organizations,
  integrations), auth-error and sync-error counts, connections per integration split by status, connections
  created per ISO week (UTC), and the "needs attention" list (end users with broken connections, most
  broken first). ``aggregate(connections)`` does it in one call. Built to run on a worker thread; a
  snapshot of 100k connections costs only the size of its figures.
- :class:`EventBuckets` counts webhook events per minute, by type, with failures; fed from the event store
  (``store.event_counts.read_event_counts``, one GROUP BY on a read-only SQLite connection) and then live, one event at a time.
- ``link_status_counts`` counts issued links by status (a pending link past its expiry counts as expired).
- ``nice_ticks`` and ``csv_text`` serve the charts.

"Broken" follows ``domain.endusers``: an auth error (the customer has to reconnect; a reconnect link fixes
it). Sync errors are counted apart. Broken connections whose customer is unknown (no end user id or email in
their tags or legacy end user) are listed too, in one group "No end user" (``NO_END_USER``), after the end
users, so the list adds up to the Auth errors figure; ``attention_summary`` says what the list leaves out
(connections with only a sync error).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from nango_desktop.domain.endusers import organization_key, user_key
from nango_desktop.domain.natsort import natural_key

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("ok", "auth_error", "sync_error")
STATUS_LABELS = {"ok": "OK", "auth_error": "Auth error", "sync_error": "Sync error"}
LINK_STATUSES: tuple[str, ...] = ("pending", "completed", "expired", "revoked", "failed")
EVENT_TYPES: tuple[str, ...] = ("auth", "sync", "async_action", "forward", "other")
FAILED = "failed"
NO_END_USER = "none:"  # AttentionItem.key of the group of broken connections without an end user
NO_END_USER_LABEL = "No end user"


# -- connections ----------------------------------------------------------------------------------------
def iso_week(created: str | None) -> str | None:
    """``"2026-03-04T10:00:00.000Z"`` -> ``"2026-W10"`` (ISO week of the UTC date); None when unparsable."""
    if not created:
        return None
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    year, week, _day = moment.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    """``"2026-W10"`` -> the Monday of that ISO week."""
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def week_range(first: str, last: str) -> list[str]:
    """Every ISO week from ``first`` to ``last`` inclusive (weeks without connections included)."""
    day, end = week_monday(first), week_monday(last)
    weeks: list[str] = []
    while day <= end:
        year, number, _ = day.isocalendar()
        weeks.append(f"{year}-W{number:02d}")
        day += timedelta(days=7)
    return weeks


@dataclass(slots=True)
class AttentionItem:
    """An end user with at least one broken (auth error) connection."""

    key: str  # domain.endusers.user_key
    end_user_id: str | None
    email: str | None
    display_name: str | None
    organization: str | None
    broken: list = field(default_factory=list)  # connections with an auth error
    sync_errors: int = 0  # connections of this user with only a sync error
    total: int = 0  # all connections of this user

    @property
    def is_no_end_user(self) -> bool:
        return self.key == NO_END_USER

    @property
    def label(self) -> str:
        if self.is_no_end_user:
            return NO_END_USER_LABEL
        return self.display_name or self.email or self.end_user_id or ""

    @property
    def integrations(self) -> list[str]:
        return sorted({c.provider_config_key for c in self.broken}, key=natural_key)


@dataclass(frozen=True, slots=True)
class ConnectionStats:
    connections: int = 0
    end_users: int = 0
    organizations: int = 0
    integrations: int = 0
    auth_errors: int = 0
    sync_errors: int = 0
    per_integration: dict[str, dict[str, int]] = field(default_factory=dict)  # key -> status -> n
    per_week: dict[str, int] = field(default_factory=dict)  # "YYYY-Www" -> n, every week first..last
    attention: list[AttentionItem] = field(default_factory=list)  # most broken first
    complete: bool = True  # False while pages are still arriving
    attention_connections: int = 0  # broken connections listed under "needs attention"
    attention_without_user: int = 0  # of those, broken connections with no end user (the last group)

    def integration_rows(self) -> list[tuple[str, dict[str, int]]]:
        """Integrations, most connections first (ties by name)."""
        return sorted(self.per_integration.items(), key=lambda kv: (-sum(kv[1].values()), natural_key(kv[0])))


class ConnectionAggregator:
    """Incremental aggregation of connections (one instance per load; not thread-safe, use from one thread)."""

    def __init__(self, integrations: Iterable[str] = ()) -> None:
        self.count = 0
        self.auth_errors = 0
        self.sync_errors = 0
        self.configured: set[str] = set(integrations)
        self.per_integration: dict[str, Counter[str]] = {}
        self.per_week: Counter[str] = Counter()
        self.users: Counter[str] = Counter()  # user key -> connections
        self.organizations: set[str] = set()
        self.attention: dict[str, AttentionItem] = {}
        self.sync_by_user: Counter[str] = Counter()
        self.no_user_broken: list[Any] = []  # broken connections without an end user
        self.no_user_sync = 0
        self.no_user_total = 0

    def set_integrations(self, keys: Iterable[str]) -> None:
        """The integrations configured in the environment (GET /integrations), used or not."""
        self.configured = set(keys)

    def add(self, connections: Iterable[Any]) -> None:
        for conn in connections:
            self.count += 1
            status = conn.status
            if status == "auth_error":
                self.auth_errors += 1
            elif status == "sync_error":
                self.sync_errors += 1
            counter = self.per_integration.get(conn.provider_config_key)
            if counter is None:
                counter = self.per_integration[conn.provider_config_key] = Counter()
            counter[status] += 1
            week = iso_week(conn.created)
            if week is not None:
                self.per_week[week] += 1
            info = conn.customer
            okey = organization_key(info.organization_id, info.organization_name)
            if okey:
                self.organizations.add(okey)
            key = user_key(info.end_user_id, info.email)
            if key is None:
                self.no_user_total += 1
                if status == "auth_error":
                    self.no_user_broken.append(conn)
                elif status == "sync_error":
                    self.no_user_sync += 1
                continue
            self.users[key] += 1
            if status == "sync_error":
                self.sync_by_user[key] += 1
            if status == "auth_error":
                item = self.attention.get(key)
                if item is None:
                    item = self.attention[key] = AttentionItem(
                        key,
                        info.end_user_id,
                        info.email,
                        info.display_name,
                        info.organization_name or info.organization_id,
                    )
                item.broken.append(conn)

    def snapshot(self, *, complete: bool = True) -> ConnectionStats:
        weeks: dict[str, int] = {}
        if self.per_week:
            for week in week_range(min(self.per_week), max(self.per_week)):
                weeks[week] = self.per_week.get(week, 0)
        attention = [
            AttentionItem(
                i.key,
                i.end_user_id,
                i.email,
                i.display_name,
                i.organization,
                list(i.broken),
                self.sync_by_user.get(i.key, 0),
                self.users.get(i.key, 0),
            )
            for i in self.attention.values()
        ]
        attention.sort(key=lambda i: (-len(i.broken), -i.sync_errors, natural_key(i.label), i.key))
        if self.no_user_broken:  # last: no one to send a link to, but counted and listed
            attention.append(
                AttentionItem(
                    NO_END_USER,
                    None,
                    None,
                    None,
                    None,
                    list(self.no_user_broken),
                    self.no_user_sync,
                    self.no_user_total,
                )
            )
        return ConnectionStats(
            connections=self.count,
            end_users=len(self.users),
            organizations=len(self.organizations),
            integrations=len(self.configured | self.per_integration.keys()),
            auth_errors=self.auth_errors,
            sync_errors=self.sync_errors,
            per_integration={k: {s: c.get(s, 0) for s in STATUSES} for k, c in self.per_integration.items()},
            per_week=weeks,
            attention=attention,
            complete=complete,
            attention_connections=sum(len(i.broken) for i in attention),
            attention_without_user=len(self.no_user_broken),
        )


def attention_summary(stats: ConnectionStats) -> str:
    """The line above the "needs attention" list: who, how many, and what the list leaves out."""
    broken = stats.attention_connections
    if not broken:
        text = "Nothing is broken"
    else:
        users = sum(1 for i in stats.attention if not i.is_no_end_user)
        text = f"{users:,} end user{'' if users == 1 else 's'}, {broken:,} broken connection{'' if broken == 1 else 's'}"
        if stats.attention_without_user:
            text += f" ({stats.attention_without_user:,} with no end user)"
    if stats.sync_errors:
        text += f" · {stats.sync_errors:,} sync error{'' if stats.sync_errors == 1 else 's'} not listed"
    return text


def aggregate(connections: Iterable[Any], integrations: Iterable[str] = ()) -> ConnectionStats:
    """Every figure of a full list of connections (run it on a worker thread for big lists)."""
    agg = ConnectionAggregator(integrations)
    agg.add(connections)
    return agg.snapshot()


# -- webhook events ---------------------------------------------------------------------------------------
def event_type(value: str | None) -> str:
    """A stored event's type folded into the chart's series (raw/unknown/malformed -> "other")."""
    return value if value in EVENT_TYPES else "other"


@dataclass(frozen=True, slots=True)
class EventSeries:
    """Per-minute counts over a window: ``minutes[i]`` is an epoch minute (seconds // 60)."""

    minutes: list[int]
    by_type: dict[str, list[int]]  # EVENT_TYPES -> counts per minute
    failed: list[int]  # events whose success is false, per minute

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.by_type.values())

    @property
    def total_failed(self) -> int:
        return sum(self.failed)


class EventBuckets:
    """Webhook events counted per minute and type, with failures (GUI-thread friendly: O(1) per event)."""

    def __init__(self) -> None:
        self.counts: dict[int, Counter[str]] = {}
        self.failures: Counter[int] = Counter()
        self.last_id = 0  # highest store id the initial read counted (live events up to it are skipped)

    def add(self, received_at: float, type_: str | None, success: bool | None, n: int = 1) -> None:
        minute = int(received_at // 60)
        bucket = self.counts.get(minute)
        if bucket is None:
            bucket = self.counts[minute] = Counter()
        bucket[event_type(type_)] += n
        if success is False:
            self.failures[minute] += n

    def add_event(self, event: Any) -> bool:
        """A StoredEvent from the listener; events the initial read counted (id <= last_id) are skipped.
        Live events may arrive out of id order (concurrent requests share a group commit): no running max."""
        if event.id <= self.last_id:
            return False
        summary = event.summary
        kind = (summary.type or str(summary.kind)) if summary is not None else None
        self.add(event.received_at, kind, summary.success if summary is not None else None)
        return True

    def prune(self, before_minute: int) -> None:
        for minute in [m for m in self.counts if m < before_minute]:
            del self.counts[minute]
            self.failures.pop(minute, None)

    def series(self, now: float | None = None, minutes: int = 60) -> EventSeries:
        """The last ``minutes`` minutes up to the minute of ``now`` (inclusive), oldest first."""
        end = int((time.time() if now is None else now) // 60)
        span = list(range(end - minutes + 1, end + 1))
        by_type = {t: [self.counts[m][t] if m in self.counts else 0 for m in span] for t in EVENT_TYPES}
        return EventSeries(span, by_type, [self.failures.get(m, 0) for m in span])


# -- links ------------------------------------------------------------------------------------------------
def link_status_counts(records: Iterable[Any], now: float | None = None) -> dict[str, int]:
    """Issued links by status; a pending link whose 30 minutes are over counts as expired."""
    now = time.time() if now is None else now
    counts = dict.fromkeys(LINK_STATUSES, 0)
    for record in records:
        status = str(record.status)
        if status == "pending" and record.expires_at <= now:
            status = "expired"
        counts[status] = counts.get(status, 0) + 1
    return counts


# -- chart helpers ----------------------------------------------------------------------------------------
def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 covering ``maximum`` (at least ``[0, 1]``): 0, 2, 4, 6 / 0, 25, 50, 75, 100."""
    if maximum <= 1:
        return [0.0, 1.0]
    raw = maximum / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if step < 1:
        step = 1.0
    ticks = [0.0]
    while ticks[-1] < maximum:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV (RFC 4180, ``\\r\\n``) of a chart's data; cells that could start a spreadsheet formula are quoted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in row])
    return out.getvalue()


def stats_rows(stats: ConnectionStats) -> Mapping[str, Any]:
    """The totals as ``{label: value}`` (for logs and CSV of the figures)."""
    return {
        "Connections": stats.connections,
        "End users": stats.end_users,
        "Organizations": stats.organizations,
        "Integrations": stats.integrations,
        "Auth errors": stats.auth_errors,
        "Sync errors": stats.sync_errors,
    }
