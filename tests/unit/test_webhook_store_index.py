"""EventStore's deferred search index: committed events are found at once, the index catches up in the
background and after a crash, and it never sits on the commit path."""

from __future__ import annotations

import pytest

from nango_desktop.services.signing import verify
from nango_desktop.store.events import EventStore, event_store_path
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json


def add(store: EventStore, connection_id: str):
    raw = nango_json(auth_webhook(connection_id=connection_id))
    headers = nango_headers(raw, SIGNING_KEY)
    return store.add(body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]))[0]


def indexed_ids(store: EventStore) -> set[int]:
    with store._reader() as conn:
        return {r[0] for r in conn.execute("SELECT rowid FROM events_fts")}


@pytest.fixture
def store(tmp_home):
    s = EventStore(event_store_path("dev"), profile="dev")
    if not s.fts:
        pytest.skip("SQLite without the FTS5 trigram tokenizer")
    yield s
    s.close()


def test_add_does_not_write_the_index_but_search_finds_the_event(store):
    event = add(store, "needle-1")
    assert event.id not in indexed_ids(store) or store._fts_upto >= event.id  # the indexer may have run
    assert [e.id for e in store.search("needle-1")] == [event.id]
    assert event.id in indexed_ids(store)  # a search indexes what is pending first


def test_events_committed_after_the_index_watermark_are_searched_too(store, monkeypatch):
    first = add(store, "alpha-1")
    store.index_pending()
    store._fts_stop.set()  # no background indexing from here on
    store._fts_wake.set()
    store._fts_thread.join()
    store._fts_thread = None
    monkeypatch.setattr(store, "index_pending", lambda: 0)  # as if the row below raced with the search
    with store._transaction() as conn:
        conn.execute(
            "INSERT INTO events (profile, received_at, body, dedupe_key, verification, verification_status)"
            " VALUES ('dev', 0, ?, 'k-late', '{}', 'unsigned')",
            (b'{"connectionId":"Alpha-2 late \xff"}',),
        )
    late = store._fts_upto + 1
    assert late not in indexed_ids(store)
    assert {e.id for e in store.search("alpha-")} == {first.id, late}
    assert {e.id for e in store.search("ALPHA-2 LATE \ufffd")} == {
        late
    }  # decoded and case-folded like the index


def test_backlog_is_indexed_on_open_after_a_crash(tmp_home):
    path = event_store_path("dev")
    store = EventStore(path, profile="dev")
    if not store.fts:
        store.close()
        pytest.skip("SQLite without the FTS5 trigram tokenizer")
    ids = [add(store, f"crash-{i}").id for i in range(5)]
    # simulate a crash before the indexer ran: drop what it may have indexed, close without indexing
    with store._transaction() as conn:
        conn.execute("DELETE FROM events_fts")
    store.fts = False  # close() leaves the index as it is
    store.close()

    reopened = EventStore(path, profile="dev")
    try:
        assert reopened._fts_upto == 0
        reopened.index_pending()
        assert set(ids) <= indexed_ids(reopened)
        assert len(reopened.search("crash-")) == 5
    finally:
        reopened.close()


def test_close_leaves_the_index_complete(tmp_home):
    path = event_store_path("dev")
    store = EventStore(path, profile="dev")
    if not store.fts:
        store.close()
        pytest.skip("SQLite without the FTS5 trigram tokenizer")
    ids = [add(store, f"closing-{i}").id for i in range(20)]
    store.close()
    reopened = EventStore(path, profile="dev")
    try:
        assert set(ids) <= indexed_ids(reopened)
        assert reopened._fts_upto == max(ids)
    finally:
        reopened.close()


def test_search_with_a_nul_character(store):
    raw = b'{"connectionId":"nul\x00here"}'  # not JSON: stored as malformed, still searchable
    event = store.add(body=raw, headers={}, verification=verify(raw, {}, [SIGNING_KEY]))[0]
    assert [e.id for e in store.search("nul\x00he")] == [event.id]
    assert store.search("absent\x00text") == []


def test_two_stores_on_the_same_file_share_the_index(tmp_home):
    path = event_store_path("dev")
    first, second = EventStore(path, profile="dev"), EventStore(path, profile="dev")
    try:
        if not first.fts:
            pytest.skip("SQLite without the FTS5 trigram tokenizer")
        ids = [add(first, f"shared-{i}").id for i in range(3)]
        first.index_pending()
        assert second.index_pending() == 0  # already indexed by the other store: no duplicate rowids
        assert {e.id for e in second.search("shared-")} == set(ids)
        ids.append(add(second, "shared-3").id)
        assert {e.id for e in first.search("shared-")} == set(ids)
    finally:
        first.close()
        second.close()
