"""NangoClient request shapes (per the OpenAPI spec), paging, cancel, call reports, threads."""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from nango_desktop.domain.models import (
    ConnectionFull,
    ConnectSession,
    ConnectSessionInfo,
    Integration,
    SyncStatus,
)
from nango_desktop.services.api import CallInfo, NangoClient
from nango_desktop.services.errors import CancelledError, NotFoundError
from nango_desktop.services.ratelimit import RESET_MARGIN, RateLimiter

KEY = "sk-live-6b1d2f0e-aaaa-bbbb-cccc-0123456789ab"
SESSION = "nango_connect_session_0a1b2c3d4e5f60718293"
SIGNING = "5f1c0d2e-6a1b-4f3c-9d8e-7b6a5c4d3e2f"


def conn_row(i: int) -> dict:
    return {
        "id": i,
        "connection_id": f"c{i}",
        "provider": "github",
        "provider_config_key": "github",
        "created": "2026-05-01T10:00:00.000Z",
        "metadata": None,
        "tags": {"end_user_id": f"u{i}"},
        "errors": [],
    }


class Api:
    """A MockTransport routing by (method, path); records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], object] = {}

    def on(self, method: str, path: str, response) -> None:
        self.routes[(method, path)] = response

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?")[0]  # still percent-encoded
        handler = self.routes.get((request.method, path))
        if handler is None:
            return httpx.Response(404, json={"error": {"code": "not_found"}})
        return handler(request) if callable(handler) else handler

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def body(request: httpx.Request):
    return json.loads(request.content)


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def calls() -> list[CallInfo]:
    return []


@pytest.fixture
def client(api, calls):
    with NangoClient(
        "https://nango.example/prefix/", KEY, transport=httpx.MockTransport(api), on_call=calls.append
    ) as c:
        yield c


def test_auth_header_and_base_url_prefix(client, api):
    api.on("GET", "/prefix/integrations", httpx.Response(200, json={"data": []}))
    client.list_integrations()
    assert api.last.headers["authorization"] == f"Bearer {KEY}"
    assert api.last.headers["accept"] == "application/json"
    assert api.last.headers["user-agent"].startswith("nango-desktop/")
    assert client.base_url == "https://nango.example/prefix"


def test_repr_has_no_key(client):
    assert KEY not in repr(client) and KEY not in str(client)
    assert repr(client) == "NangoClient(base_url='https://nango.example/prefix')"


def test_secret_key_may_be_a_secretstr(api):
    api.on("GET", "/integrations", httpx.Response(200, json={"data": []}))
    with NangoClient("https://n.test", SecretStr(KEY), transport=httpx.MockTransport(api)) as c:
        c.list_integrations()
    assert api.last.headers["authorization"] == f"Bearer {KEY}"


def test_list_connections_query_shape(client, api):
    api.on("GET", "/prefix/connections", httpx.Response(200, json={"connections": [conn_row(1)]}))
    rows = client.list_connections(
        search="ada",
        integration_ids=["github", "slack"],
        tags={"end_user_id": "u 1", "organization_id": "org/1"},
        connection_id="c1",
        limit=500,
        page=3,
    )
    assert [r.connection_id for r in rows] == ["c1"]
    assert query(api.last) == [
        ("connectionId", "c1"),
        ("search", "ada"),
        ("integrationId", "github,slack"),
        ("tags[end_user_id]", "u 1"),
        ("tags[organization_id]", "org/1"),
        ("limit", "500"),
        ("page", "3"),
    ]
    # deepObject style on the wire: tags%5Bend_user_id%5D=u+1
    assert "tags%5Bend_user_id%5D=u+1" in api.last.url.query.decode()


def test_list_connections_defaults_and_limits(client, api):
    api.on("GET", "/prefix/connections", httpx.Response(200, json={"connections": []}))
    client.list_connections()
    assert query(api.last) == [("limit", "1000")]
    client.list_connections(limit=None)
    assert query(api.last) == []
    for bad in (0, 2001):
        with pytest.raises(ValueError):
            client.list_connections(limit=bad)
    with pytest.raises(ValueError):
        client.list_connections(page=-1)


def paged(total: int, api: Api, path: str = "/prefix/connections", shift_after_first: int = 0):
    """Serve `total` rows newest first; optionally insert new rows after the first page (offset shift)."""
    rows = [conn_row(i) for i in range(total, 0, -1)]

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(query(request))
        limit, page = int(params["limit"]), int(params.get("page", 0))
        page_rows = rows[page * limit : (page + 1) * limit]
        if page == 0 and shift_after_first:
            for j in range(shift_after_first):
                rows.insert(0, conn_row(10_000 + j))
        return httpx.Response(200, json={"connections": page_rows})

    api.on("GET", path, handler)
    return rows


def test_iter_pages_until_a_short_page(client, api):
    paged(2500, api)
    pages = list(client.iter_connection_pages(page_size=1000))
    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert [dict(query(r)).get("page", "0") for r in api.requests] == ["0", "1", "2"]
    assert len({c.id for p in pages for c in p}) == 2500


def test_exact_multiple_needs_one_empty_page(client, api):
    paged(2000, api)
    assert len(client.list_all_connections(page_size=1000)) == 2000
    assert len(api.requests) == 3


def test_rows_repeated_by_an_offset_shift_are_dropped(client, api):
    paged(25, api, shift_after_first=3)
    rows = client.list_all_connections(page_size=10)
    ids = [c.id for c in rows]
    assert len(ids) == len(set(ids)) == 25


def test_paging_stops_if_the_server_ignores_the_page(client, api):
    api.on(
        "GET",
        "/prefix/connections",
        httpx.Response(200, json={"connections": [conn_row(i) for i in range(5)]}),
    )
    from nango_desktop.services.pagination import EndlessPaginationError

    with pytest.raises(EndlessPaginationError, match="repeats the same page"):
        client.list_all_connections(page_size=5)  # an error, not a silently truncated list (issue 18)
    assert len(api.requests) == 2


def test_iter_pages_passes_filters(client, api):
    paged(3, api)
    client.list_all_connections(search="x", integration_ids=["github"], tags={"team": "a"}, page_size=10)
    assert query(api.last) == [
        ("search", "x"),
        ("integrationId", "github"),
        ("tags[team]", "a"),
        ("limit", "10"),
    ]


def test_cancel_between_pages(client, api):
    paged(50, api)
    cancel = threading.Event()
    pages = client.iter_connection_pages(page_size=10, cancel=cancel)
    assert len(next(pages)) == 10
    cancel.set()
    with pytest.raises(CancelledError):
        next(pages)
    assert len(api.requests) == 1


def test_cancel_before_start(client, api):
    paged(5, api)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        client.list_all_connections(cancel=cancel)
    assert api.requests == []


def test_get_connection_shape(client, api):
    full = {
        **conn_row(1),
        "connection_config": {},
        "created_at": "2026-05-01T10:00:00.000Z",
        "updated_at": "2026-05-01T10:00:00.000Z",
        "last_fetched_at": "2026-05-01T10:00:00.000Z",
        "credentials": {"type": "API_KEY", "apiKey": "provider-secret"},
        "webhook_url_override": "https://hooks.example/x",
    }
    del full["created"]
    api.on("GET", "/prefix/connections/a%2Fb%20c", httpx.Response(200, json=full))
    conn = client.get_connection("a/b c", "github")
    assert isinstance(conn, ConnectionFull)
    assert query(api.last) == [("provider_config_key", "github")]
    assert conn.webhook_url_override == "https://hooks.example/x"
    assert "provider-secret" not in repr(conn)
    client.get_connection("a/b c", "github", force_refresh=True, refresh_token=True)
    assert query(api.last) == [
        ("provider_config_key", "github"),
        ("force_refresh", "true"),
        ("refresh_token", "true"),
    ]


def test_patch_connection_shape(client, api):
    api.on("PATCH", "/prefix/connections/c1", httpx.Response(200, json={"success": True}))
    client.patch_connection("c1", "github", tags={"team": "core"}, webhook_url_override="")
    assert query(api.last) == [("provider_config_key", "github")]
    assert body(api.last) == {"tags": {"team": "core"}, "webhook_url_override": ""}
    client.patch_connection("c1", "github", tags={})
    assert body(api.last) == {"tags": {}}
    with pytest.raises(ValueError):
        client.patch_connection("c1", "github")


def test_delete_connection_shape(client, api):
    api.on("DELETE", "/prefix/connections/c1", httpx.Response(200, json={"success": True}))
    assert client.delete_connection("c1", "github") is None
    assert api.last.method == "DELETE" and query(api.last) == [("provider_config_key", "github")]


def test_metadata_set_and_update(client, api):
    api.on("POST", "/prefix/connections/metadata", httpx.Response(201, json={}))
    api.on("PATCH", "/prefix/connections/metadata", httpx.Response(200, json={}))
    client.set_metadata("c1", "github", {"plan": "pro"})
    assert api.last.method == "POST"
    assert body(api.last) == {
        "connection_id": "c1",
        "provider_config_key": "github",
        "metadata": {"plan": "pro"},
    }
    client.update_metadata(("c1", "c2"), "github", {"seats": 3})
    assert api.last.method == "PATCH"
    assert body(api.last) == {
        "connection_id": ["c1", "c2"],
        "provider_config_key": "github",
        "metadata": {"seats": 3},
    }


SESSION_DATA = {
    "data": {
        "token": SESSION,
        "connect_link": f"https://connect.nango.dev/?session_token={SESSION}",
        "expires_at": "2026-05-01T10:30:00.000Z",
    }
}


def test_create_connect_session_shape(client, api):
    api.on("POST", "/prefix/connect/sessions", httpx.Response(201, json=SESSION_DATA))
    session = client.create_connect_session(
        tags={"end_user_id": "u1", "end_user_email": "ada@example.com"},
        allowed_integrations=("github",),
        webhook_url_override="https://hooks.example/x",
    )
    assert isinstance(session, ConnectSession)
    assert session.token.get_secret_value() == SESSION
    assert body(api.last) == {
        "tags": {"end_user_id": "u1", "end_user_email": "ada@example.com"},
        "allowed_integrations": ["github"],
        "webhook_url_override": "https://hooks.example/x",
    }
    client.create_connect_session(
        end_user={"id": "u1", "email": "ada@example.com"},
        organization={"id": "o1", "display_name": "Acme"},
        integrations_config_defaults={"github": {"user_scopes": "repo"}},
        overrides={"github": {"docs_connect": "https://docs.example"}},
    )
    assert body(api.last) == {
        "end_user": {"id": "u1", "email": "ada@example.com"},
        "organization": {"id": "o1", "display_name": "Acme"},
        "integrations_config_defaults": {"github": {"user_scopes": "repo"}},
        "overrides": {"github": {"docs_connect": "https://docs.example"}},
    }


def test_create_reconnect_session_shape(client, api):
    api.on("POST", "/prefix/connect/sessions/reconnect", httpx.Response(201, json=SESSION_DATA))
    session = client.create_reconnect_session("c1", "github", tags={"end_user_id": "u1"})
    assert session.expires_at.year == 2026
    assert body(api.last) == {
        "connection_id": "c1",
        "integration_id": "github",
        "tags": {"end_user_id": "u1"},
    }


def test_connect_session_endpoints_use_the_session_token(client, api):
    api.on(
        "GET",
        "/prefix/connect/session",
        httpx.Response(200, json={"data": {"end_user": {"id": "u1"}, "allowed_integrations": ["github"]}}),
    )
    api.on("DELETE", "/prefix/connect/session", httpx.Response(204))
    info = client.get_connect_session(SecretStr(SESSION))
    assert isinstance(info, ConnectSessionInfo) and info.end_user.id == "u1"
    assert api.last.headers["authorization"] == f"Bearer {SESSION}"
    assert client.delete_connect_session(SESSION) is None
    assert api.last.method == "DELETE" and api.last.headers["authorization"] == f"Bearer {SESSION}"
    assert api.last.content == b""


def test_list_integrations(client, api):
    api.on(
        "GET",
        "/prefix/integrations",
        httpx.Response(
            200,
            json={
                "data": [
                    {
                        "unique_key": "github",
                        "display_name": "GitHub",
                        "provider": "github",
                        "created_at": "2026-01-01T00:00:00.000Z",
                        "updated_at": "2026-01-01T00:00:00.000Z",
                    }
                ]
            },
        ),
    )
    (integration,) = client.list_integrations()
    assert isinstance(integration, Integration) and integration.label == "GitHub"


def test_sync_status_shape(client, api):
    api.on(
        "GET",
        "/prefix/sync/status",
        httpx.Response(200, json={"syncs": [{"id": "s", "name": "issues", "status": "SUCCESS"}]}),
    )
    (sync,) = client.sync_status("github", "c1")
    assert isinstance(sync, SyncStatus) and sync.status == "SUCCESS"
    assert query(api.last) == [("provider_config_key", "github"), ("syncs", "*"), ("connection_id", "c1")]
    client.sync_status("github", None, ["issues", "prs::v2"])
    assert query(api.last) == [("provider_config_key", "github"), ("syncs", "issues,prs::v2")]


def test_trigger_sync_shape(client, api):
    api.on("POST", "/prefix/sync/trigger", httpx.Response(200, json={"success": True}))
    client.trigger_sync("github", "c1", ["issues"])
    assert body(api.last) == {"provider_config_key": "github", "connection_id": "c1", "syncs": ["issues"]}
    client.trigger_sync("github", None, ["issues", "prs"], sync_mode="full_refresh_and_clear_cache")
    assert body(api.last) == {
        "provider_config_key": "github",
        "syncs": ["issues", "prs"],
        "sync_mode": "full_refresh_and_clear_cache",
    }
    with pytest.raises(ValueError):
        client.trigger_sync("github", "c1", ["issues"], sync_mode="bogus")


def test_rotate_signing_key(client, api):
    api.on(
        "POST",
        "/prefix/environment/webhook-signing-key/rotate",
        httpx.Response(200, json={"data": {"webhook_signing_key": SIGNING}}),
    )
    key = client.rotate_webhook_signing_key()
    assert isinstance(key, SecretStr) and key.get_secret_value() == SIGNING
    assert SIGNING not in repr(key)
    assert api.last.content == b""


def test_on_call_reports_every_attempt_with_rate_limit(client, api, calls):
    api.on(
        "GET",
        "/prefix/integrations",
        httpx.Response(
            200,
            json={"data": []},
            headers={
                "X-RateLimit-Limit": "200",
                "X-RateLimit-Remaining": "199",
                "X-RateLimit-Reset": "1900000000",
            },
        ),
    )
    client.list_integrations()
    with pytest.raises(NotFoundError):
        client.get_connection("nope", "github")
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("GET", "/integrations", 200),
        ("GET", "/connections/nope", 404),
    ]
    assert calls[0].rate_limit.remaining == 199 and calls[0].error is None
    assert calls[1].error == "Not found (it may have been deleted)"
    assert client.rate_limit.remaining == 199


def test_on_call_elapsed_is_the_time_the_request_took(api, calls, monkeypatch):
    """``elapsed`` spans the HTTP exchange (a manual clock the transport moves), not the rate-limit wait."""
    import time as real_time
    from types import SimpleNamespace

    from nango_desktop.services import api as api_module

    clock = SimpleNamespace(now=1000.0)
    fake_time = SimpleNamespace(monotonic=lambda: clock.now, sleep=real_time.sleep, time=real_time.time)
    monkeypatch.setattr(api_module, "time", fake_time)

    def slow(seconds: float, response: httpx.Response):
        def handler(_request: httpx.Request) -> httpx.Response:
            clock.now += seconds
            return response

        return handler

    api.on("GET", "/prefix/integrations", slow(0.25, httpx.Response(200, json={"data": []})))
    api.on("GET", "/prefix/connections/gone", slow(1.5, httpx.Response(404, json={"error": {"code": "x"}})))
    with NangoClient(
        "https://nango.example/prefix/", KEY, transport=httpx.MockTransport(api), on_call=calls.append
    ) as client:
        client.list_integrations()
        with pytest.raises(NotFoundError):
            client.get_connection("gone", "github")
    assert [(c.status, c.elapsed) for c in calls] == [(200, 0.25), (404, 1.5)]


def test_a_failing_on_call_does_not_break_the_call(api, caplog):
    api.on("GET", "/integrations", httpx.Response(200, json={"data": []}))

    def boom(info):
        raise RuntimeError("status bar gone")

    with NangoClient("https://n.test", KEY, transport=httpx.MockTransport(api), on_call=boom) as c:
        assert c.list_integrations() == []
    assert "on_call callback failed" in caplog.text


def test_logs_method_path_status_but_no_secrets(client, api, caplog):
    caplog.set_level(logging.DEBUG)
    api.on("POST", "/prefix/connect/sessions", httpx.Response(201, json=SESSION_DATA))
    client.create_connect_session(tags={"end_user_id": "u1"})
    assert "POST /connect/sessions -> 201" in caplog.text
    assert KEY not in caplog.text and SESSION not in caplog.text


def test_shared_rate_limiter_blocks_the_next_call_after_the_budget(api):
    slept: list[float] = []
    now = [1000.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], wall=lambda: 1_800_000_000 + now[0], sleep=sleep)
    reset = str(int(1_800_000_000 + now[0] + 40))
    remaining = iter(["1", "0", "199"])

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {
            "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": next(remaining),
            "X-RateLimit-Reset": reset,
        }
        return httpx.Response(200, json={"data": []}, headers=headers)

    api.on("GET", "/integrations", handler)
    first = NangoClient("https://n.test", KEY, transport=httpx.MockTransport(api), rate_limiter=limiter)
    second = NangoClient("https://n.test", KEY, transport=httpx.MockTransport(api), rate_limiter=limiter)
    first.list_integrations()  # server: 1 left
    second.list_integrations()  # server: 0 left
    assert slept == []
    first.list_integrations()  # budget spent: waits for the reset
    assert slept == [pytest.approx(40 + RESET_MARGIN)]
    first.close()
    second.close()


def test_concurrent_calls_from_threads(api):
    counter = {"n": 0}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            counter["n"] += 1
        return httpx.Response(
            200, json={"connections": [conn_row(int(dict(query(request))["connectionId"]))]}
        )

    api.on("GET", "/connections", handler)
    results: dict[int, int] = {}
    with NangoClient("https://n.test", KEY, transport=httpx.MockTransport(api)) as c:

        def work(i: int) -> None:
            results[i] = c.list_connections(connection_id=str(i))[0].id

        threads = [threading.Thread(target=work, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert results == {i: i for i in range(32)}
    assert counter["n"] == 32


def test_a_plain_http_client_loads_no_ca_bundle_and_trusts_no_certificate():
    """http:// servers (a self-hosted Nango on the LAN, the test server) need no CA bundle: the client's TLS
    context is left empty, still requiring a verified certificate, so an https:// request fails closed."""
    import ssl

    def context(client: NangoClient) -> ssl.SSLContext:
        return client._http._transport._pool._ssl_context

    with NangoClient("http://127.0.0.1:9", KEY) as plain, NangoClient("https://nango.example", KEY) as tls:
        empty, loaded = context(plain), context(tls)
    assert empty.verify_mode == ssl.CERT_REQUIRED and empty.check_hostname
    assert empty.cert_store_stats()["x509_ca"] == 0
    assert loaded.verify_mode == ssl.CERT_REQUIRED and loaded.check_hostname
    assert loaded.cert_store_stats()["x509_ca"] > 0
