"""Every NangoClient method end to end against FakeNango (real HTTP on 127.0.0.1), faults included."""

from __future__ import annotations

import threading

import pytest
from pydantic import SecretStr

from nango_desktop.domain.models import ConnectionFull
from nango_desktop.services.api import CallInfo, NangoClient
from nango_desktop.services.errors import (
    ApiTimeoutError,
    BadRequestError,
    CancelledError,
    ConflictError,
    InvalidKeyError,
    MalformedResponseError,
    MissingScopeError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RefreshExhaustedError,
    ServerError,
)
from nango_desktop.services.ratelimit import RateLimiter
from tests.nango_server import FakeNango, ManualClock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(nango_server, sleeps):
    with NangoClient(nango_server.url, nango_server.secret_key, sleep=sleeps.append, timeout=10) as c:
        yield c


def server_order(server: FakeNango) -> list[str]:
    rows = sorted(server.connections, key=lambda c: (c["created"], c["id"]), reverse=True)
    return [c["connection_id"] for c in rows]


# --- listing --------------------------------------------------------------------------------------------


def test_list_all_25000_connections_in_pages():
    with FakeNango(connections=25_000).start() as server:
        calls: list[CallInfo] = []
        with NangoClient(server.url, server.secret_key, on_call=calls.append) as client:
            pages = list(client.iter_connection_pages(page_size=2000))
        assert [len(p) for p in pages] == [2000] * 12 + [1000]
        rows = [c for page in pages for c in page]
        assert len({c.id for c in rows}) == 25_000
        assert [c.connection_id for c in rows] == server_order(server)  # fixed order, nothing skipped
        assert len(calls) == 13 and all(c.status == 200 for c in calls)
        assert [r.param("page") for r in server.requests_to("/connections")] == [None] + [
            str(i) for i in range(1, 13)
        ]
        assert {c.status for c in rows} == {"ok", "auth_error", "sync_error"}
        assert any(c.end_user is not None for c in rows) and any(c.tags for c in rows)


def test_list_filters(client, nango_server):
    everything = client.list_all_connections(page_size=7)
    assert len(everything) == 50
    github = client.list_connections(integration_ids=["github", "slack"])
    assert github and {c.provider_config_key for c in github} <= {"github", "slack"}
    expected = [
        c["connection_id"]
        for c in nango_server.connections
        if c["provider_config_key"] in ("github", "slack")
    ]
    assert sorted(c.connection_id for c in github) == sorted(expected)

    tagged = next(c for c in everything if c.tags.get("end_user_id"))
    by_tag = client.list_connections(tags={"end_user_id": tagged.tags["end_user_id"]})
    assert tagged.id in {c.id for c in by_tag}
    assert all(c.tags.get("end_user_id") == tagged.tags["end_user_id"] for c in by_tag)

    one = client.list_connections(connection_id=tagged.connection_id)
    assert [c.id for c in one] == [tagged.id]
    assert client.list_connections(search="no-such-connection-anywhere") == []


def test_cancel_listing_between_pages(client, nango_server):
    cancel = threading.Event()
    pages = client.iter_connection_pages(page_size=10, cancel=cancel)
    next(pages)
    cancel.set()
    with pytest.raises(CancelledError):
        next(pages)
    assert len(nango_server.requests_to("/connections")) == 1


# --- one connection --------------------------------------------------------------------------------------


def test_get_patch_delete_connection(client, nango_server):
    target = nango_server.connections[3]
    cid, integration = target["connection_id"], target["provider_config_key"]
    conn = client.get_connection(cid, integration)
    assert isinstance(conn, ConnectionFull)
    assert conn.id == target["id"] and conn.created
    secret_values = [v for v in target["credentials"].values() if isinstance(v, str) and len(v) > 8]
    assert all(v not in repr(conn) for v in secret_values)
    assert conn.credentials_type == target["credentials"]["type"]

    client.get_connection(cid, integration, force_refresh=True, refresh_token=True)
    last = nango_server.requests_to(f"/connections/{cid}")[-1]
    assert last.param("force_refresh") == "true" and last.param("refresh_token") == "true"

    client.patch_connection(
        cid,
        integration,
        tags={"End_User_ID": "u-new", "team": "core"},
        webhook_url_override="https://h.example/x",
    )
    patched = client.get_connection(cid, integration)
    assert patched.tags == {"end_user_id": "u-new", "team": "core"}
    assert patched.webhook_url_override == "https://h.example/x"

    client.delete_connection(cid, integration)
    with pytest.raises(NotFoundError) as info:
        client.get_connection(cid, integration)
    assert info.value.status == 404
    with pytest.raises(NotFoundError) as info:
        client.delete_connection(cid, integration)
    assert info.value.status == 400 and info.value.code == "unknown_connection"


def test_invalid_tag_is_a_bad_request_with_nangos_message(client, nango_server):
    target = nango_server.connections[0]
    with pytest.raises(BadRequestError) as info:
        client.patch_connection(
            target["connection_id"], target["provider_config_key"], tags={"end_user_email": "a@b.c"}
        )
    assert "end_user_email" in str(info.value)


def test_metadata_set_and_update(client, nango_server):
    a, b = nango_server.connections[0], nango_server.connections[1]
    integration = a["provider_config_key"]
    ids = [c["connection_id"] for c in nango_server.connections if c["provider_config_key"] == integration][
        :2
    ]
    client.set_metadata(ids, integration, {"plan": "pro", "seats": 1})
    client.update_metadata(ids[0], integration, {"seats": 5})
    assert client.get_connection(ids[0], integration).metadata == {"plan": "pro", "seats": 5}
    if len(ids) > 1:
        assert client.get_connection(ids[1], integration).metadata == {"plan": "pro", "seats": 1}
    assert b  # two connections exist


# --- connect sessions ------------------------------------------------------------------------------------


def test_connect_session_lifecycle(client, nango_server):
    session = client.create_connect_session(
        tags={"end_user_id": "u-77", "end_user_email": "u77@example.com", "end_user_display_name": "Seventy"},
        allowed_integrations=["github"],
    )
    token = session.token.get_secret_value()
    assert token.startswith("nango_connect_session_")
    assert session.connect_link and token in session.connect_link
    assert token not in repr(session)

    info = client.get_connect_session(session.token)
    assert info.allowed_integrations == ["github"]

    nango_server.complete_session(token, connection_id="new-conn-1")
    created = client.list_connections(connection_id="new-conn-1")
    assert [c.customer.customer for c in created] == ["Seventy"]

    client.delete_connect_session(token)
    with pytest.raises(InvalidKeyError) as err:
        client.get_connect_session(token)
    assert err.value.title == "The connect session was not found; the link has expired or was revoked"
    assert token not in str(err.value)


def test_legacy_end_user_session(client, nango_server):
    session = client.create_connect_session(
        end_user={"id": "legacy-9", "email": "nine@example.com", "display_name": "Nine"},
        organization={"id": "org-9", "display_name": "Org Nine"},
    )
    info = client.get_connect_session(session.token)
    assert info.customer.end_user_id == "legacy-9"
    assert info.customer.organization_id == "org-9"


def test_reconnect_session(client, nango_server):
    target = nango_server.connections[5]
    session = client.create_reconnect_session(
        target["connection_id"], target["provider_config_key"], tags=dict(target["tags"]) or None
    )
    info = client.get_connect_session(SecretStr(session.token.get_secret_value()))
    assert info.is_reconnecting is True
    with pytest.raises(BadRequestError) as err:
        client.create_reconnect_session("does-not-exist", target["provider_config_key"])
    assert "does not exists" in err.value.title


# --- integrations, syncs, environment ------------------------------------------------------------------


def test_list_integrations(client, nango_server):
    integrations = client.list_integrations()
    assert [i.unique_key for i in integrations] == [i["unique_key"] for i in nango_server.integrations]
    assert all(i.display_name and i.provider for i in integrations)


def test_sync_status_and_trigger(client, nango_server):
    target = nango_server.connections[0]
    cid, integration = target["connection_id"], target["provider_config_key"]
    syncs = client.sync_status(integration, cid)
    assert syncs and all(s.connection_id == cid for s in syncs)
    names = [s.name for s in syncs]
    assert [s.name for s in client.sync_status(integration, cid, names[:1])] == names[:1]
    client.trigger_sync(integration, cid, names[:1], sync_mode="full_refresh")
    assert nango_server.triggered[-1] == {
        "provider_config_key": integration,
        "connection_id": cid,
        "syncs": names[:1],
        "sync_mode": "full_refresh",
    }


def test_rotate_webhook_signing_key(client, nango_server):
    old = nango_server.webhook_signing_key
    key = client.rotate_webhook_signing_key()
    assert key.get_secret_value() == nango_server.webhook_signing_key != old
    nango_server.signing_key_count = 2
    with pytest.raises(ConflictError):
        client.rotate_webhook_signing_key()


# --- faults ----------------------------------------------------------------------------------------------


def test_key_revoked_mid_listing_keeps_the_pages_already_read(client, nango_server):
    pages = client.iter_connection_pages(page_size=10)
    kept = next(pages)
    nango_server.revoke_key()
    with pytest.raises(InvalidKeyError) as info:
        next(pages)
    assert len(kept) == 10
    assert nango_server.secret_key not in str(info.value)


def test_missing_scope_is_named():
    with FakeNango(connections=3, scopes=["environment:connections:list"]).start() as server:
        with NangoClient(server.url, server.secret_key) as client:
            assert len(client.list_connections()) == 3
            with pytest.raises(MissingScopeError) as info:
                client.list_integrations()
    assert info.value.scope and info.value.scope.startswith("environment:")
    assert info.value.scope in info.value.title


def test_refresh_exhausted(client, nango_server):
    target = nango_server.connections[2]
    nango_server.mark_refresh_exhausted(target["connection_id"], target["provider_config_key"])
    with pytest.raises(RefreshExhaustedError):
        client.get_connection(target["connection_id"], target["provider_config_key"])


def test_5xx_burst_is_retried_for_get_but_not_post(client, nango_server, sleeps):
    nango_server.fail_next(503, times=2, path_prefix="/integrations")
    assert client.list_integrations()
    assert sleeps == [0.5, 1.0]
    nango_server.fail_next(500, times=1, path_prefix="/connect/sessions")
    with pytest.raises(ServerError):
        client.create_connect_session(tags={"end_user_id": "u1"})
    assert len(nango_server.requests_to("/connect/sessions")) == 1


def test_connection_reset_is_retried(client, nango_server, sleeps):
    nango_server.reset_next(times=1, path_prefix="/integrations")
    assert client.list_integrations()
    assert sleeps == [0.5]
    nango_server.reset_next(times=4, path_prefix="/integrations")
    with pytest.raises(NetworkError):
        client.list_integrations()


def test_truncated_and_non_json_bodies(client, nango_server):
    nango_server.truncate_next(times=4, path_prefix="/connections")
    with pytest.raises((NetworkError, MalformedResponseError)):
        client.list_connections()
    nango_server.clear_faults()
    nango_server.non_json_next(path_prefix="/integrations")
    with pytest.raises(MalformedResponseError):
        client.list_integrations()
    nango_server.fail_next(200, body={"connections": [{"id": "not-a-number"}]}, path_prefix="/connections")
    with pytest.raises(MalformedResponseError) as info:
        client.list_connections()
    assert "connections.0" in info.value.detail


def test_slow_server_times_out(nango_server, sleeps):
    nango_server.set_delay(2.0, path_prefix="/integrations")
    with NangoClient(
        nango_server.url, nango_server.secret_key, timeout=0.2, max_retries=1, sleep=sleeps.append
    ) as c:
        with pytest.raises(ApiTimeoutError):
            c.list_integrations()
    assert sleeps == [0.5]


def test_unreachable_server():
    server = FakeNango().start()
    url = server.url
    server.stop()
    with NangoClient(url, "k", max_retries=0) as client:
        with pytest.raises(NetworkError) as info:
            client.list_integrations()
    assert info.value.title == "Cannot reach the Nango server"


def test_budget_from_headers_avoids_429s():
    clock = ManualClock()
    with FakeNango(connections=30, rate_limit=5, clock=clock).start() as server:
        waited: list[float] = []

        def sleep(seconds: float) -> None:
            waited.append(seconds)
            clock.advance(seconds)

        limiter = RateLimiter(clock=clock, wall=clock, sleep=sleep)
        with NangoClient(server.url, server.secret_key, rate_limiter=limiter, sleep=sleep) as client:
            rows = client.list_all_connections(page_size=3)  # 10 pages + 1 empty, budget 5 a minute
            assert len(rows) == 30
            assert len(waited) == 2 and all(55 <= w <= 62 for w in waited)  # two window resets
            assert client.rate_limit.limit == 5
        assert len(server.requests) == 11  # no request was refused


def test_429_storm_honours_retry_after(client, nango_server, sleeps):
    nango_server.fail_next(429, times=3, headers={"Retry-After": "4"}, path_prefix="/integrations")
    assert client.list_integrations()
    assert sleeps == [4.0, 4.0, 4.0]
    assert len(nango_server.requests_to("/integrations")) == 4


def test_429_gives_up_after_bounded_retries():
    clock = ManualClock()
    with FakeNango(connections=3, rate_limit=1, clock=clock).start() as server:
        with NangoClient(server.url, server.secret_key, max_retries=2, sleep=lambda s: None) as client:
            client.list_integrations()
            with pytest.raises(RateLimitedError) as info:
                client.list_integrations()  # the clock never moves: always limited
        assert info.value.retry_after is not None
        assert len(server.requests) == 4


def test_rate_budget_is_shared_by_concurrent_threads():
    clock = ManualClock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.advance(seconds)

    with FakeNango(connections=5, rate_limit=20, clock=clock).start() as server:
        limiter = RateLimiter(clock=clock, wall=clock, sleep=sleep)
        results: list[int] = []
        failures: list[BaseException] = []
        calls: list[CallInfo] = []
        start = clock()

        def work() -> None:
            with NangoClient(
                server.url, server.secret_key, rate_limiter=limiter, sleep=sleep, on_call=calls.append
            ) as client:
                for _ in range(10):
                    try:
                        results.append(len(client.list_connections()))
                    except Exception as exc:  # collected and asserted below
                        failures.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert failures == []
        assert results == [5] * 80
        windows = int((clock() - start) // 60) + 1
        limited = sum(1 for c in calls if c.status == 429)
        # at most the requests in flight (8) overshoot a window's budget
        assert limited <= 8 * windows
        assert windows >= 4  # 80 requests at 20 a minute
