"""EventStore: durable adds, duplicates, filters, search (FTS and LIKE), retention, export, threads."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nango_desktop.redaction import is_sensitive_header
from nango_desktop.services.signing import VerificationStatus, verify
from nango_desktop.store.events import (
    REDACTED,
    EventFilter,
    EventStore,
    ForwardResult,
    event_store_path,
)
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json, sync_webhook


@pytest.fixture
def store(tmp_home):
    s = EventStore(event_store_path("dev"), profile="dev")
    yield s
    s.close()


def add(store, payload, key=SIGNING_KEY, **kw):
    raw = payload if isinstance(payload, bytes) else nango_json(payload)
    headers = nango_headers(raw, key) | kw.pop("extra_headers", {})
    return store.add(body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]), **kw)


def test_path_is_per_profile_in_data_dir(tmp_home):
    assert event_store_path("dev") == tmp_home / "data" / "events-dev.sqlite3"
    assert event_store_path("../evil name").parent == tmp_home / "data"


def test_add_is_committed_and_visible_to_another_connection(store):
    event, duplicate = add(store, auth_webhook(), peer="10.0.0.1", path="/webhooks/nango")
    assert not duplicate and event.id == 1
    other = sqlite3.connect(store.path)  # a different connection sees it: committed
    assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    got = store.get(event.id)
    assert got.verification.status is VerificationStatus.VERIFIED
    assert got.summary.connection_id == "conn-1" and got.peer == "10.0.0.1" and got.profile == "dev"
    assert store._query("PRAGMA synchronous")[0][0] == 2  # FULL


def test_duplicate_counted_on_original(store):
    first, _ = add(store, auth_webhook())
    again, duplicate = add(store, auth_webhook(), received_at=time.time() + 5)
    assert duplicate and again.id == first.id and again.duplicates == 1 and again.last_seen_at
    assert store.count() == 1
    # Same body, different signature (another key) or a replay marker: a different delivery.
    _, dup2 = add(store, auth_webhook(), key="other-key")
    _, dup3 = add(store, auth_webhook(), extra_headers={"X-Nango-Desktop-Replay": "1"})
    assert (dup2, dup3) == (False, False)
    assert store.count() == 3
    assert store.count(EventFilter(replay=True)) == 1 and store.list(1)[0].replay_of == 1


def test_malformed_and_binary_bodies(store):
    event, _ = add(store, b'{"broken":')
    assert event.malformed.startswith("Body is not valid JSON") and event.summary is None
    binary, _ = add(store, b"\xff\x00\xfe")
    assert binary.body == b"\xff\x00\xfe" and "UTF-8" in binary.malformed
    assert binary.to_dict()["body_hex"] == "ff00fe"
    assert store.count(EventFilter(malformed=True)) == 2


def test_sensitive_headers_are_redacted(store):
    event, _ = add(
        store, auth_webhook(), extra_headers={"Authorization": "Bearer sk-live-123", "Cookie": "s=1"}
    )
    assert event.header("authorization") == REDACTED and event.header("cookie") == REDACTED
    assert b"sk-live-123" not in store.path.read_bytes()


def test_filters(store):
    add(store, auth_webhook(connection_id="a", integration="hub", success=False))
    add(store, auth_webhook(connection_id="b", integration="slack", operation="refresh"))
    add(store, sync_webhook(connection_id="a", integration="hub"))
    add(store, auth_webhook(connection_id="c"), key="wrong")
    assert store.count(EventFilter(connection_id="a")) == 2
    assert store.count(EventFilter(type="auth", success=True)) == 2
    assert store.count(EventFilter(operation="refresh")) == 1
    assert store.count(EventFilter(integration="hub", type="sync")) == 1
    assert store.count(EventFilter(verification="invalid")) == 1
    assert [e.summary.connection_id for e in store.list(10, 0, EventFilter(success=False))] == ["a"]
    assert store.distinct("integration") == ["hub", "hubspot-crm", "slack"]
    with pytest.raises(ValueError):
        store.distinct("body; DROP TABLE events")


@pytest.mark.parametrize("fts", [True, False])
def test_search_in_bodies(store, fts):
    store.fts = store.fts and fts
    add(store, auth_webhook(connection_id="needle-42"))
    add(store, auth_webhook(connection_id="hay", end_user_id="ünïcødé"))
    add(store, sync_webhook(connection_id="x", model="100%_done"))
    assert [e.summary.connection_id for e in store.search("needle")] == ["needle-42"]
    assert [e.summary.connection_id for e in store.search("eedle-4")] == ["needle-42"]  # substring
    assert len(store.search("ünïcødé")) == 1
    assert len(store.search('"')) == 3  # every JSON body has a quote; quoting is escaped, not an error
    assert [e.summary.connection_id for e in store.search("100%_")] == ["x"]  # LIKE wildcards escaped
    assert store.search("%") != [] and store.search("absent-text") == []
    assert store.count(EventFilter(search="needle", type="sync")) == 0


def test_paging_is_newest_first(store):
    for i in range(25):
        add(store, auth_webhook(connection_id=f"c{i}"))
    page1, page2 = store.list(10, 0), store.list(10, 10)
    assert [e.id for e in page1] == list(range(25, 15, -1))
    assert [e.id for e in page2] == list(range(15, 5, -1))
    assert [e.id for e in store.list_after(20)] == [21, 22, 23, 24, 25]
    assert [e.id for e in store.list(3, oldest_first=True)] == [1, 2, 3]


def test_retention_by_count_and_age_keeps_pinned(store):
    now = time.time()
    for i in range(10):
        add(store, auth_webhook(connection_id=f"conn-{i}"), received_at=now - (10 - i) * 86400)
    store.pin(1)
    store.pin(2)
    store.pin(2, False)
    removed = store.apply_retention(days=5.5)  # events 1..5 are older than 5.5 days; 1 is pinned
    assert removed == 4 and store.get(1).pinned and store.get(2) is None
    removed = store.apply_retention(count=3)  # keep the newest 3 unpinned
    assert removed == 2
    assert sorted(e.id for e in store.list(100)) == [1, 8, 9, 10]
    assert store.search("conn-0") != []  # FTS rows of kept events remain...
    assert store.search("conn-3") == []  # ...and those of removed ones are gone
    assert store.integrity_check() == "ok"


def test_automatic_retention_on_add(tmp_home):
    with EventStore(event_store_path("r"), retention_count=10) as s:
        for i in range(600):
            add(s, auth_webhook(connection_id=f"c{i}"))
        assert s.count() < 600 and s.get(600) is not None


def test_forward_results_recorded(store):
    event, _ = add(store, auth_webhook())
    store.record_forward(
        ForwardResult(event.id, "http://127.0.0.1:9/x", time.time(), False, 502, 0.01, "bad", None)
    )
    store.record_forward(
        ForwardResult(event.id, "http://127.0.0.1:9/x", time.time(), True, None, 0.5, None, "refused")
    )
    results = store.forwards(event.id)
    assert [(r.status, r.replay, r.ok) for r in results] == [(502, False, False), (None, True, False)]
    store.delete([event.id])
    assert store.forwards(event.id) == [] and store.get(event.id) is None


def test_export_json_streams_filtered_and_selected(store):
    for i in range(5):
        add(store, auth_webhook(connection_id=f"c{i}", end_user_id="日本"))
    add(store, b"not json")
    out = io.StringIO()
    assert store.export_json(out) == 6
    data = json.loads(out.getvalue())
    assert [d["id"] for d in data] == [1, 2, 3, 4, 5, 6]
    assert data[0]["body_json"]["tags"]["end_user_id"] == "日本"
    assert data[0]["verification"]["status"] == "verified" and data[5]["malformed"]
    out = io.StringIO()
    assert store.export_json(out, EventFilter(malformed=False), ids=[2, 4, 6]) == 2
    assert [d["id"] for d in json.loads(out.getvalue())] == [2, 4]
    empty = io.StringIO()
    assert store.export_json(empty, EventFilter(search="zzz")) == 0 and json.loads(empty.getvalue()) == []


def test_concurrent_writers_and_readers(store):
    errors: list[BaseException] = []
    ready = threading.Barrier(6)

    def writer(n):
        try:
            ready.wait()
            for i in range(100):
                add(store, auth_webhook(connection_id=f"w{n}-{i}"))
                add(store, auth_webhook(connection_id=f"w{n}-{i}"))  # duplicate
        except BaseException as exc:
            errors.append(exc)

    def reader():
        try:
            ready.wait()
            for _ in range(100):
                store.list(50, 0, EventFilter(type="auth"))
                store.count()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 400
    assert sum(e.duplicates for e in store.iter_events()) == 400
    assert store.integrity_check() == "ok"


def test_reopen_keeps_events(tmp_home):
    path = event_store_path("dev")
    with EventStore(path, profile="dev") as s:
        add(s, auth_webhook())
    with EventStore(path, profile="dev") as s:
        assert s.count() == 1 and s.get(1).summary.type == "auth"
    with pytest.raises(sqlite3.ProgrammingError):
        s.count()


def _plan(store, filters):
    where, params = store._where(filters)
    sql = f"EXPLAIN QUERY PLAN SELECT id FROM events WHERE {where} ORDER BY id DESC LIMIT 100"  # noqa: S608
    return " ".join(row[-1] for row in store._query(sql, params))


def test_filtered_paging_uses_indexes_at_100k_rows(store):
    """Paging must not scan the table: every filter column has an (col, id) index."""
    rows = [
        (
            "dev",
            i,
            b"{}",
            f"k{i}",
            "{}",
            "verified",
            "auth" if i % 3 else "sync",
            f"c{i % 1000}",
            f"int{i % 7}",
        )
        for i in range(100_000)
    ]
    with store._transaction() as conn:
        conn.executemany(
            "INSERT INTO events (profile, received_at, body, dedupe_key, verification, verification_status, type,"
            " connection_id, integration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("ANALYZE")
    for f in (
        EventFilter(connection_id="c5"),
        EventFilter(type="sync"),
        EventFilter(integration="int3"),
        EventFilter(verification="invalid"),
    ):
        plan = _plan(store, f)
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort of the whole result
    assert store.count(EventFilter(connection_id="c5")) == 100
    assert [e.id for e in store.list(3, 0, EventFilter(connection_id="c5"))] == [99006, 98006, 97006]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=300) | st.text(max_size=100).map(str.encode),
    headers=st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=5),
)
def test_any_request_round_trips(store, body, headers):
    event, duplicate = store.add(
        body=body, headers=headers, verification=verify(body, headers, [SIGNING_KEY])
    )
    got = store.get(event.id)
    assert got.body == body
    if not duplicate:  # a duplicate returns the original delivery (same body, same signatures)
        kept = {k: v for k, v in headers.items() if not is_sensitive_header(k)}
        assert {k: v for k, v in got.headers.items() if v != REDACTED} == kept
    assert (got.malformed is None) == (got.summary is not None)
    json.dumps(got.to_dict())  # always exportable
    text = body.decode("utf-8", "replace")
    if not duplicate and len(text) >= 3:
        assert event.id in {e.id for e in store.search(text[:20], limit=1000)}


def test_a_schema_2_store_loses_its_expected_signatures_and_downgrades(tmp_path):
    """Issue 19 item 1: stores written before schema 3 kept, for every event, the signatures the key gives its
    body (also for bodies that did not verify). Opening one removes them from every row and keeps per-header
    verdicts; an event the old rules verified by the legacy header next to a wrong HMAC becomes invalid."""
    import json
    import sqlite3

    from nango_desktop.services.signing import sign_headers, verify
    from nango_desktop.store.events import SCHEMA_VERSION, EventFilter, EventStore
    from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json

    path = tmp_path / "events.sqlite3"
    bodies = {name: nango_json(auth_webhook(connection_id=name)) for name in ("ok", "bad", "downgrade")}
    headers = {
        "ok": nango_headers(bodies["ok"]),
        "bad": nango_headers(bodies["bad"], "wrong-key"),
        "downgrade": nango_headers(bodies["downgrade"]) | {"X-Nango-Hmac-Sha256": "0" * 64},
    }
    with EventStore(path, profile="p") as store:
        ids = {
            name: store.add(body=bodies[name], headers=headers[name], verification=verify(bodies[name], headers[name], [SIGNING_KEY]), received_at=1.0 + i)[0].id
            for i, name in enumerate(bodies)
        }  # fmt: skip
    conn = sqlite3.connect(path)  # rewrite the rows as schema 2 kept them
    for name, eid in ids.items():
        right = sign_headers(SIGNING_KEY, bodies[name])
        old = {
            "status": "invalid" if name == "bad" else "verified",
            "header": {"ok": "X-Nango-Hmac-Sha256", "bad": None, "downgrade": "X-Nango-Signature"}[name],
            "key_index": None if name == "bad" else 0,
            "expected_hmac": right["X-Nango-Hmac-Sha256"],
            "received_hmac": headers[name]["X-Nango-Hmac-Sha256"],
            "expected_legacy": right["X-Nango-Signature"],
            "received_legacy": headers[name]["X-Nango-Signature"],
        }
        conn.execute(
            "UPDATE events SET verification = ?, verification_status = ? WHERE id = ?",
            (json.dumps(old), old["status"], eid),
        )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    with EventStore(path, profile="p") as store:
        events = {name: store.get(eid) for name, eid in ids.items()}
        invalid = [e.id for e in store.list(filters=EventFilter(verification="invalid"))]  # status column
    raw_rows = sqlite3.connect(path).execute("SELECT verification FROM events").fetchall()
    assert SCHEMA_VERSION == 3
    never_received = [
        *sign_headers(SIGNING_KEY, bodies["bad"]).values(),
        sign_headers(SIGNING_KEY, bodies["downgrade"])["X-Nango-Hmac-Sha256"],
    ]
    for (text,) in raw_rows:
        assert "expected" not in text
        assert not any(value in text for value in never_received)
    assert events["ok"].verification.ok and events["ok"].verification.hmac_result == "match"
    assert (events["bad"].verification.hmac_result, events["bad"].verification.legacy_result) == (
        "mismatch",
    ) * 2
    assert not events["downgrade"].verification.ok
    assert events["downgrade"].verification.legacy_result == "match"
    assert sorted(invalid) == sorted([ids["bad"], ids["downgrade"]])  # the status column follows


def test_retention_budgets_are_separate_for_unverified_events(tmp_path):
    """Issue 19 item 4: verified (and not-checked) events and unverified (invalid, unsigned) ones are evicted
    each within their own budget, oldest first; pinned events never."""
    from nango_desktop.services.signing import verify
    from nango_desktop.store.events import EventFilter, EventStore
    from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json

    with EventStore(tmp_path / "e.sqlite3", profile="p") as store:

        def add(name, key):
            raw = nango_json(auth_webhook(connection_id=name))
            headers = nango_headers(raw, key) if key else {}
            return store.add(body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]))[
                0
            ].id

        verified = [add(f"v{i}", SIGNING_KEY) for i in range(20)]
        pinned = add("junk-pinned", None)
        store.pin(pinned)
        junk = [add(f"u{i}", None) for i in range(300)] + [add(f"w{i}", "wrong") for i in range(100)]
        later = [add(f"v-late{i}", SIGNING_KEY) for i in range(5)]
        store.apply_retention(count=22, unverified=30)
        assert [e.id for e in store.list(1000, filters=EventFilter(verification="verified"))] == sorted(
            verified + later, reverse=True
        )[:22]
        kept_junk = {e.id for e in store.list(1000) if e.verification.status in ("invalid", "unsigned")}
        assert kept_junk == set(junk[-30:]) | {pinned}
