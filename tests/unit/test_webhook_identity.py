"""Webhook identity (issue 14 item 4): Nango's webhooks carry no id and no timestamp, so identical bytes are
a retry of one delivery only within RETRY_WINDOW_SECONDS; later they are a new event. Old stores migrate."""

from __future__ import annotations

import sqlite3

import pytest

from nango_desktop.services.signing import verify
from nango_desktop.store.events import RETRY_WINDOW_SECONDS, SCHEMA_VERSION, EventStore, event_store_path
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json

T0 = 1_800_000_000.0


def add(store, raw: bytes, at: float):
    headers = nango_headers(raw, SIGNING_KEY)
    return store.add(
        body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]), received_at=at
    )


@pytest.fixture
def raw():
    body = auth_webhook()
    body.update(operation="refresh", success=False)
    return nango_json(body)


def test_identical_bytes_are_a_retry_only_inside_the_window(tmp_home, raw):
    with EventStore(event_store_path("dev"), profile="dev") as store:
        first, dup = add(store, raw, T0)
        assert not dup
        # Nango's own retries: 3 s, then 6 s later (after 20 s timeouts at worst): one delivery
        retry, dup = add(store, raw, T0 + 49)
        assert dup and retry.id == first.id and retry.duplicates == 1
        # the same bytes a minute later: a second refresh failure, a new event
        second, dup = add(store, raw, T0 + RETRY_WINDOW_SECONDS + 1)
        assert not dup and second.id != first.id
        # and its own retry counts on it, not on the first
        again, dup = add(store, raw, T0 + RETRY_WINDOW_SECONDS + 5)
        assert dup and again.id == second.id
        third, dup = add(store, raw, T0 + 3 * RETRY_WINDOW_SECONDS)
        assert not dup
        assert store.count() == 3
        assert [e.duplicates for e in store.list()] == [0, 1, 1]


def test_a_schema_1_store_migrates(tmp_home, raw):
    path = event_store_path("dev")
    path.parent.mkdir(parents=True, exist_ok=True)
    with EventStore(path, profile="dev") as store:
        add(store, raw, T0)
    # make it look like a store written by the previous version: unique dedupe index, user_version 1
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX IF EXISTS events_dedupe_at")
    conn.execute("CREATE UNIQUE INDEX events_dedupe ON events(dedupe_key)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with EventStore(path, profile="dev") as store:
        later, dup = add(store, raw, T0 + 600)
        assert not dup and store.count() == 2  # the unique index would have merged (or refused) it
        version = store._query("PRAGMA user_version")[0][0]
        indexes = {row[0] for row in store._query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert version == SCHEMA_VERSION == 3
    assert "events_dedupe" not in indexes and "events_dedupe_at" in indexes
