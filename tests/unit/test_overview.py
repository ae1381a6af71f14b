"""domain.overview: figures of the Overview page, checked against independently computed expectations
(FakeNango's generator for connections, a real SQLite EventStore for webhook counts, a real LinkStore)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nango_desktop.domain.links import LinkStatus
from nango_desktop.domain.models import Connection
from nango_desktop.domain.natsort import natural_sorted
from nango_desktop.domain.overview import (
    EVENT_TYPES,
    ConnectionAggregator,
    EventBuckets,
    aggregate,
    attention_summary,
    csv_text,
    event_type,
    iso_week,
    link_status_counts,
    nice_ticks,
    week_monday,
    week_range,
)
from nango_desktop.services.signing import verify
from nango_desktop.store.event_counts import read_event_counts
from nango_desktop.store.events import EventStore
from nango_desktop.store.links import LinkStore
from tests.nango_server import list_item, make_connections
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json, sync_webhook

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def conn(cid: str, *, integration: str = "github", errors=(), tags=None, end_user=None, created=None):
    return Connection.model_validate(
        {
            "id": abs(hash(cid)) % 10**9,
            "connection_id": cid,
            "provider": integration,
            "provider_config_key": integration,
            "created": created or "2026-03-04T10:00:00.000Z",
            "tags": tags or {},
            "errors": [{"type": e} for e in errors],
            "end_user": end_user,
        }
    )


def expected_from_dicts(rows: list[dict]) -> tuple[dict, Counter, int, int]:
    """Independent computation over FakeNango's raw dicts (not the app's models)."""
    per = {}
    weeks: Counter[str] = Counter()
    auth = sync = 0
    for row in rows:
        types = {e["type"] for e in row["errors"] or []}
        status = "auth_error" if "auth" in types else "sync_error" if "sync" in types else "ok"
        auth += status == "auth_error"
        sync += status == "sync_error"
        per.setdefault(row["provider_config_key"], Counter())[status] += 1
        y, w, _ = datetime.strptime(row["created"][:10], "%Y-%m-%d").isocalendar()
        weeks[f"{y}-W{w:02d}"] += 1
    return per, weeks, auth, sync


@pytest.fixture(scope="module")
def generated():
    rows = make_connections(3000, seed=7, now=NOW)
    return rows, [Connection.model_validate(list_item(r)) for r in rows]


def test_aggregate_matches_generated_data(generated):
    rows, connections = generated
    stats = aggregate(connections, integrations=["github", "stripe"])
    per, weeks, auth, sync = expected_from_dicts(rows)
    assert stats.connections == 3000
    assert (stats.auth_errors, stats.sync_errors) == (auth, sync)
    assert auth > 0 and sync > 0
    assert stats.per_integration == {k: {s: c.get(s, 0) for s in ("ok", "auth_error", "sync_error")}
                                     for k, c in per.items()}  # fmt: skip
    assert stats.integrations == len(set(per) | {"stripe"})  # configured but unused counts too
    nonzero = {w: n for w, n in stats.per_week.items() if n}
    assert nonzero == dict(weeks)
    # every week between the first and the last is present (gaps are zero bars)
    listed = list(stats.per_week)
    assert listed == sorted(listed) and listed == week_range(listed[0], listed[-1])
    users = {(r["tags"].get("end_user_id") or (r["end_user"] or {}).get("id")) for r in rows} - {None}
    assert stats.end_users == len(users)
    rows_by_total = stats.integration_rows()
    totals = [sum(c.values()) for _k, c in rows_by_total]
    assert totals == sorted(totals, reverse=True)


def test_incremental_pages_equal_one_shot(generated):
    _rows, connections = generated
    agg = ConnectionAggregator()
    snapshots = []
    for start in range(0, len(connections), 1000):
        agg.add(connections[start : start + 1000])
        snapshots.append(agg.snapshot(complete=False))
    assert [s.connections for s in snapshots] == [1000, 2000, 3000]
    assert not snapshots[0].complete
    final, whole = agg.snapshot(), aggregate(connections)
    assert final.complete
    assert final.per_integration == whole.per_integration and final.per_week == whole.per_week
    assert [(i.key, len(i.broken)) for i in final.attention] == [
        (i.key, len(i.broken)) for i in whole.attention
    ]
    # a snapshot is a copy: later pages do not change what was shown
    assert sum(len(i.broken) for i in snapshots[0].attention) <= snapshots[0].auth_errors


def test_needs_attention_most_broken_first():
    def user(uid, name):
        return {"end_user_id": uid, "end_user_display_name": name, "organization_id": "o1"}

    connections = [
        conn("a1", errors=["auth"], tags=user("a", "Ann")),
        conn("b1", errors=["auth"], tags=user("b", "Bob")),
        conn("b2", errors=["auth"], tags=user("b", "Bob"), integration="slack"),
        conn("b3", errors=["auth"], tags=user("b", "Bob"), integration="jira"),
        conn("b4", tags=user("b", "Bob")),
        conn("c1", errors=["auth"], tags=user("c", "Cy")),
        conn("c2", errors=["auth"], tags=user("c", "Cy"), integration="slack"),
        conn("d1", errors=["auth"], tags=user("d", "Di")),
        conn("d2", errors=["sync"], tags=user("d", "Di"), integration="slack"),
        conn("e1", errors=["sync"], tags=user("e", "Ed")),  # sync only: not broken
        conn("f1", tags=user("f", "Fay")),
        conn(
            "legacy", errors=["auth"], end_user={"id": "g", "email": "g@example.com", "display_name": "Gus"}
        ),
        conn("nobody", errors=["auth"]),  # no end user: listed last, in the "No end user" group
    ]
    stats = aggregate(connections)
    order = [(i.label, len(i.broken), i.sync_errors) for i in stats.attention]
    # most broken first; ties: more sync errors first, then by name; the group without end user last
    assert order == [
        ("Bob", 3, 0),
        ("Cy", 2, 0),
        ("Di", 1, 1),
        ("Ann", 1, 0),
        ("Gus", 1, 0),
        ("No end user", 1, 0),
    ]
    bob = stats.attention[0]
    assert [c.connection_id for c in bob.broken] == ["b1", "b2", "b3"]
    assert bob.total == 4 and bob.integrations == ["github", "jira", "slack"]
    assert stats.auth_errors == 9 and stats.sync_errors == 2
    assert stats.end_users == 7 and stats.organizations == 1
    assert stats.attention_connections == 9 == stats.auth_errors  # "nobody" is in the last group
    assert stats.attention_without_user == 1 and stats.attention[-1].is_no_end_user
    assert attention_summary(stats) == (
        "5 end users, 9 broken connections (1 with no end user) · 2 sync errors not listed"
    )


def test_needs_attention_adds_up_to_the_auth_errors_figure(generated):
    """The issue's 1,544 vs 1,630: every broken connection is listed, with or without an end user."""
    rows, connections = generated
    stats = aggregate(connections)
    without_user = [
        r
        for r in rows
        if any(e["type"] == "auth" for e in r["errors"] or [])
        and not (r["tags"].get("end_user_id") or r["tags"].get("end_user_email") or r["end_user"])
    ]
    assert without_user, "the generator makes broken connections without an end user"
    assert stats.attention_connections == stats.auth_errors
    assert stats.attention_without_user == len(without_user)
    group = stats.attention[-1]
    assert group.label == "No end user" and len(group.broken) == len(without_user)
    assert all(not i.is_no_end_user for i in stats.attention[:-1])


def test_names_sort_naturally():
    def user(uid):
        return {"end_user_id": uid, "end_user_display_name": uid}

    connections = [conn(f"c{n}", errors=["auth"], tags=user(f"user {n}")) for n in (10, 2, 1)]
    stats = aggregate(connections)
    assert [i.label for i in stats.attention] == ["user 1", "user 2", "user 10"]  # one broken each
    many = [conn(f"x{n}", errors=["auth"], tags=user("zed"), integration=f"int{n}") for n in (10, 9, 1)]
    assert aggregate(many).attention[0].integrations == ["int1", "int9", "int10"]
    assert natural_sorted(["b10", "B9", "a", "b009"]) == ["a", "b009", "B9", "b10"]
    assert attention_summary(aggregate([conn("ok")])) == "Nothing is broken"


def test_iso_weeks_across_year_boundary():
    assert iso_week("2026-01-01T00:30:00.000Z") == "2026-W01"
    assert iso_week("2027-01-01T12:00:00.000Z") == "2026-W53"  # a Friday in ISO week 53 of 2026
    assert iso_week("2026-03-02T00:00:00+02:00") == "2026-W09"  # Sunday 22:00 UTC -> previous week
    assert iso_week("garbage") is None and iso_week(None) is None
    assert week_monday("2026-W10") == date(2026, 3, 2)
    weeks = week_range("2026-W52", "2027-W02")
    assert weeks == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]


def _store_event(store: EventStore, payload: dict, received_at: float) -> None:
    raw = nango_json(payload)
    headers = nango_headers(raw, SIGNING_KEY)
    store.add(
        body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]), received_at=received_at
    )


def test_event_counts_from_real_store_and_live_events(tmp_path):
    now = time.time()
    base = (now // 60) * 60
    store = EventStore(tmp_path / "events.sqlite3", profile="p")
    try:
        _store_event(store, auth_webhook(connection_id="c1"), base - 120 + 1)
        _store_event(store, auth_webhook(connection_id="c2", success=False), base - 120 + 2)
        _store_event(store, sync_webhook(connection_id="c3", success=False), base + 1)
        _store_event(store, sync_webhook(connection_id="c4"), base + 2)
        _store_event(store, {"raw": True}, base + 3)  # not from Nango: "other"
        _store_event(store, auth_webhook(connection_id="old"), base - 3 * 3600)  # before the window
        buckets, last_id = read_event_counts(store.path, since=now - 3600)
        assert last_id == 6
        series = buckets.series(now=now, minutes=5)
        assert series.minutes[-1] == int(now // 60) and len(series.minutes) == 5
        assert series.by_type["auth"] == [0, 0, 2, 0, 0]
        assert series.by_type["sync"] == [0, 0, 0, 0, 2]
        assert series.by_type["other"] == [0, 0, 0, 0, 1]
        assert series.failed == [0, 0, 1, 0, 1]
        assert (series.total, series.total_failed) == (5, 2)
        # live events: already counted ones (id <= last_id) are skipped
        event = store.get(4)
        assert not buckets.add_event(event)
        new, _dup = store.add(
            body=nango_json(auth_webhook(connection_id="c9", success=False)),
            headers={},
            verification=verify(b"", {}, []),
            received_at=base + 5,
        )
        assert buckets.add_event(new)
        after = buckets.series(now=now, minutes=5)
        assert after.by_type["auth"][-1] == 1 and after.failed[-1] == 2
        buckets.prune(int(now // 60))
        assert buckets.series(now=now, minutes=5).by_type["auth"] == [0, 0, 0, 0, 1]
    finally:
        store.close()
    assert read_event_counts(tmp_path / "missing.sqlite3", 0)[1] == 0


def test_event_type_folding():
    assert [event_type(t) for t in ("auth", "sync", "async_action", "forward")] == list(EVENT_TYPES[:4])
    assert event_type("raw") == event_type(None) == event_type("refresh-recovered") == "other"
    buckets = EventBuckets()
    buckets.add(120.0, "sync", False, n=3)
    assert buckets.series(now=120.0, minutes=1).failed == [3]


def test_link_status_counts_with_real_store(tmp_path):
    clock = [1_000_000.0]
    store = LinkStore(tmp_path / "links.sqlite3", clock=lambda: clock[0])
    try:

        def add(expires_in: float):
            return store.add(profile="p", kind="new", link="https://connect.example/?x=1",
                             expires_at=clock[0] + expires_in, end_user_id="u1")  # fmt: skip

        live, done, gone, bad, revoked = (add(1800) for _ in range(5))
        late = add(-1)  # still pending in the store, but its 30 minutes are over
        store.set_status(done.id, LinkStatus.COMPLETED)
        store.set_status(gone.id, LinkStatus.EXPIRED)
        store.set_status(bad.id, LinkStatus.FAILED)
        store.set_status(revoked.id, LinkStatus.REVOKED)
        store.add(profile="other", kind="new", link="https://x/", expires_at=clock[0] + 60)
        counts = link_status_counts(store.list("p"), now=clock[0])
        assert counts == {"pending": 1, "completed": 1, "expired": 2, "revoked": 1, "failed": 1}
        assert live.status is LinkStatus.PENDING and late.status is LinkStatus.PENDING
    finally:
        store.close()


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_nice_ticks_cover_the_maximum(maximum):
    ticks = nice_ticks(maximum)
    assert ticks[0] == 0 and ticks[-1] >= maximum
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and min(steps) >= 1
    assert len(ticks) <= 12


def test_csv_text_escapes_formulas():
    text = csv_text(["Integration", "OK"], [["=cmd()", 3], ["github, inc", 4]])
    assert text.splitlines() == ["Integration,OK", "'=cmd(),3", '"github, inc",4']
