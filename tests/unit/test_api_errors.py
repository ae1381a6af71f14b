"""Every error class the client raises, with the title the user sees; retries; no secrets in messages."""

from __future__ import annotations

import threading

import httpx
import pytest

from nango_desktop.services.api import CallInfo, NangoClient
from nango_desktop.services.errors import (
    ApiTimeoutError,
    BadRequestError,
    CancelledError,
    ConflictError,
    InvalidKeyError,
    MalformedResponseError,
    MissingScopeError,
    NangoError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RefreshExhaustedError,
    ServerError,
    redact,
)

KEY = "sk-test-0f3c9a4e-5b6d-4c1e-9a7b-secretvalue"
SESSION = "nango_connect_session_feedfacecafebeef0123"


class Server:
    """A MockTransport that replays queued responses (the last one repeats) and records requests."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        return item


def error(status: int, code: str, message: str | None = None, **extra) -> httpx.Response:
    err = {"code": code, **({"message": message} if message else {}), **extra}
    return httpx.Response(status, json={"error": err})


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def calls() -> list[CallInfo]:
    return []


@pytest.fixture
def client_for(sleeps, calls):
    clients: list[NangoClient] = []

    def make(*responses, **kw) -> tuple[NangoClient, Server]:
        server = Server(*responses)
        client = NangoClient(
            "https://api.test",
            KEY,
            transport=httpx.MockTransport(server),
            **{"sleep": sleeps.append, "on_call": calls.append, **kw},
        )
        clients.append(client)
        return client, server

    yield make
    for client in clients:
        client.close()


def user_sees(exc: NangoError) -> str:
    """What the app shows: the title, with the detail behind a disclosure."""
    assert KEY not in str(exc) and KEY not in repr(exc) and KEY not in exc.detail
    return exc.title


@pytest.mark.parametrize("code", ["invalid_secret_key", "unknown_account", "malformed_auth_header"])
def test_401_invalid_key(client_for, code):
    client, server = client_for(
        error(401, code, f"Authentication failed. The provided key is invalid: {KEY}")
    )
    with pytest.raises(InvalidKeyError) as info:
        client.list_integrations()
    assert user_sees(info.value) == "The API key was rejected"
    assert info.value.status == 401 and info.value.code == code
    assert len(server.requests) == 1  # never retried


def test_403_names_the_missing_scope(client_for):
    client, _ = client_for(
        error(403, "forbidden", "This API key is missing the scope environment:webhook_signing_key:rotate")
    )
    with pytest.raises(MissingScopeError) as info:
        client.rotate_webhook_signing_key()
    assert info.value.scope == "environment:webhook_signing_key:rotate"
    assert user_sees(info.value) == "The API key lacks the “environment:webhook_signing_key:rotate” scope"


def test_403_scope_from_payload_or_unknown(client_for):
    client, _ = client_for(
        error(403, "forbidden", "Forbidden", payload={"missing_scopes": ["connections:read"]})
    )
    with pytest.raises(MissingScopeError) as info:
        client.get_connection("c1", "github")
    assert info.value.scope == "connections:read"
    client, _ = client_for(error(403, "forbidden"))
    with pytest.raises(MissingScopeError) as info:
        client.list_integrations()
    assert info.value.scope is None
    assert user_sees(info.value) == "The API key lacks a required permission"


def test_404_not_found(client_for):
    client, _ = client_for(error(404, "not_found", "Failed to find connection"))
    with pytest.raises(NotFoundError) as info:
        client.get_connection("gone", "github")
    assert user_sees(info.value) == "Not found (it may have been deleted)"
    assert "GET /connections/gone -> HTTP 404" in info.value.detail
    assert "Failed to find connection" in info.value.detail


def test_400_unknown_connection_is_not_found(client_for):
    client, _ = client_for(
        error(400, "unknown_connection", "Provided ConnectionId and ProviderConfigKey not found")
    )
    with pytest.raises(NotFoundError) as info:
        client.delete_connection("gone", "github")
    assert info.value.status == 400 and info.value.code == "unknown_connection"


def test_other_400_is_bad_request_with_nangos_message(client_for):
    client, _ = client_for(
        error(
            400,
            "invalid_body",
            'Tag "end_user_email" must be a valid email',
            errors=[
                {"code": "custom", "message": "must be a valid email", "path": ["tags", "end_user_email"]}
            ],
        )
    )
    with pytest.raises(BadRequestError) as info:
        client.patch_connection("c1", "github", tags={"end_user_email": "a@b.c"})
    assert user_sees(info.value) == 'Nango rejected the request: Tag "end_user_email" must be a valid email'
    assert info.value.errors[0]["path"] == ["tags", "end_user_email"]
    assert "tags.end_user_email: must be a valid email" in info.value.detail


def test_400_without_message_and_legacy_shapes(client_for):
    client, _ = client_for(error(400, "invalid_query_params"))
    with pytest.raises(BadRequestError) as info:
        client.list_connections()
    assert user_sees(info.value) == "Nango rejected the request"
    client, _ = client_for(httpx.Response(400, json={"message": "Missing connection_id"}))
    with pytest.raises(BadRequestError) as info:
        client.set_metadata("c1", "github", {})
    assert user_sees(info.value) == "Nango rejected the request: Missing connection_id"


def test_a_long_message_is_shortened_in_the_title_but_kept_in_the_detail(client_for):
    client, _ = client_for(error(400, "invalid_body", "x" * 1000))
    with pytest.raises(BadRequestError) as info:
        client.list_connections()
    assert len(info.value.title) < 300 and info.value.title.endswith("…")
    assert "x" * 1000 in info.value.detail


def test_409_conflict(client_for):
    client, _ = client_for(error(409, "conflict", "Environment has more than one webhook signing key"))
    with pytest.raises(ConflictError) as info:
        client.rotate_webhook_signing_key()
    assert user_sees(info.value) == "The request conflicts with the current state"


def test_424_refresh_exhausted(client_for):
    client, server = client_for(
        error(424, "invalid_credentials", "The refresh limit has been reached for this connection.")
    )
    with pytest.raises(RefreshExhaustedError) as info:
        client.get_connection("c1", "github", force_refresh=True)
    assert user_sees(info.value) == ("The connection's refresh limit is reached; the customer must reconnect")
    assert len(server.requests) == 1


def test_429_is_retried_after_retry_after(client_for, sleeps, calls):
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"code": "too_many_request"}})
    client, server = client_for(limited, limited, httpx.Response(200, json={"data": []}))
    assert client.list_integrations() == []
    assert len(server.requests) == 3
    assert sleeps == [7.0, 7.0]
    assert [c.status for c in calls] == [429, 429, 200]
    assert calls[0].error == "Nango's rate limit was reached; try again shortly" and calls[-1].error is None


def test_429_uses_x_ratelimit_reset_without_retry_after(client_for, sleeps):
    import time

    reset = int(time.time()) + 20
    limited = httpx.Response(
        429,
        headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        json={"error": {"code": "too_many_request"}},
    )
    client, _ = client_for(limited, httpx.Response(200, json={"data": []}))
    client.list_integrations()
    assert len(sleeps) == 1 and 19 <= sleeps[0] <= 21  # the reset, plus a second for its resolution
    assert client.rate_limit.limit == 200


def test_429_retries_are_bounded_even_for_post(client_for, sleeps):
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"code": "too_many_request"}})
    client, server = client_for(limited, max_retries=2)
    with pytest.raises(RateLimitedError) as info:
        client.create_connect_session(tags={"end_user_id": "u1"})
    assert len(server.requests) == 3  # 429 means "not processed": POST is retried too
    assert sleeps == [2.0, 2.0]
    assert info.value.retry_after == 2.0
    assert user_sees(info.value) == "Nango's rate limit was reached; try again shortly"


def test_429_with_a_very_long_retry_after_is_reported_at_once(client_for, sleeps):
    client, server = client_for(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError) as info:
        client.list_integrations()
    assert len(server.requests) == 1 and sleeps == []
    assert info.value.retry_after == 3600


def test_5xx_retried_with_exponential_backoff_for_get(client_for, sleeps):
    client, server = client_for(
        error(500, "server_error"), error(503, "unavailable"), httpx.Response(200, json={"data": []})
    )
    assert client.list_integrations() == []
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_gives_up_after_max_retries(client_for, sleeps):
    client, server = client_for(error(502, "bad_gateway"), max_retries=3)
    with pytest.raises(ServerError) as info:
        client.delete_connection("c1", "github")
    assert len(server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert user_sees(info.value) == "The Nango server had an error"
    assert info.value.status == 502


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_connect_session(tags={"end_user_id": "u"}),
        lambda c: c.create_reconnect_session("c1", "github"),
        lambda c: c.set_metadata("c1", "github", {"a": 1}),
        lambda c: c.trigger_sync("github", "c1", ["issues"]),
        lambda c: c.rotate_webhook_signing_key(),
    ],
)
def test_post_is_never_retried_on_5xx(client_for, sleeps, call):
    client, server = client_for(error(500, "server_error"))
    with pytest.raises(ServerError):
        call(client)
    assert len(server.requests) == 1 and sleeps == []


def test_non_json_error_body(client_for):
    client, _ = client_for(
        httpx.Response(502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}),
        max_retries=0,
    )
    with pytest.raises(ServerError) as info:
        client.list_integrations()
    assert "non-JSON body (text/html)" in info.value.detail


def test_timeout_retried_then_reported(client_for, sleeps):
    client, server = client_for(httpx.ReadTimeout("timed out"), max_retries=2, timeout=5)
    with pytest.raises(ApiTimeoutError) as info:
        client.list_connections()
    assert len(server.requests) == 3 and sleeps == [0.5, 1.0]
    assert user_sees(info.value) == "The Nango server did not answer in time"
    assert "no answer within 5 s" in info.value.detail


def test_timeout_on_post_is_not_retried(client_for, sleeps):
    client, server = client_for(httpx.ReadTimeout("timed out"))
    with pytest.raises(ApiTimeoutError):
        client.create_connect_session(tags={"end_user_id": "u"})
    assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ReadError("reset")]
)
def test_network_errors(client_for, sleeps, calls, exc):
    client, server = client_for(exc, max_retries=1)
    with pytest.raises(NetworkError) as info:
        client.list_integrations()
    assert len(server.requests) == 2 and sleeps == [0.5]
    assert user_sees(info.value) == "Cannot reach the Nango server"
    assert "https://api.test/integrations" in info.value.detail
    assert [c.status for c in calls] == [None, None]
    assert calls[0].error == "Cannot reach the Nango server"


def test_network_error_against_a_closed_port():
    """A real refused connection on loopback (port 9 is the discard port, normally closed)."""
    import socket

    with socket.socket() as sock:  # find a free port, then close it: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with NangoClient(f"http://127.0.0.1:{port}", KEY, max_retries=0) as client:
        with pytest.raises(NetworkError) as info:
            client.list_integrations()
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="{not json"),
        httpx.Response(200, text=""),
        httpx.Response(200, text="<html>login</html>"),
        httpx.Response(200, json={"connections": "nope"}),
        httpx.Response(200, json={"connections": [{"id": "x"}]}),
        httpx.Response(200, json=[]),
    ],
)
def test_malformed_responses(client_for, response):
    client, _ = client_for(response)
    with pytest.raises(MalformedResponseError) as info:
        client.list_connections()
    assert user_sees(info.value) == "The Nango server sent an unexpected response"
    assert info.value.detail.startswith("GET /connections -> HTTP 200: ")


def test_redirect_points_at_the_api_url(client_for):
    client, server = client_for(
        httpx.Response(301, headers={"location": "https://api.test/integrations?session_token=abc"})
    )
    with pytest.raises(MalformedResponseError) as info:
        client.list_integrations()
    assert user_sees(info.value) == (
        "The server answered with a redirect; check the API URL (http:// or https://, path)"
    )
    assert info.value.detail == "GET /integrations -> HTTP 301 to https://api.test/integrations"
    assert len(server.requests) == 1


def test_undecodable_body(client_for):
    client, _ = client_for(
        httpx.Response(200, stream=httpx.ByteStream(b"not gzip at all"), headers={"content-encoding": "gzip"})
    )
    with pytest.raises(MalformedResponseError) as info:
        client.list_integrations()
    assert "undecodable body" in info.value.detail


def test_malformed_detail_never_echoes_values(client_for):
    body = {"id": 1, "connection_id": "c", "provider": "p", "provider_config_key": "k", "credentials": KEY}
    client, _ = client_for(httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError) as info:
        client.get_connection("c", "k")
    assert "credentials" in info.value.detail
    assert KEY not in str(info.value)


def test_session_token_401_has_its_own_title_and_no_token(client_for):
    client, _ = client_for(error(401, "unknown_connect_session_token", f"token {SESSION} is invalid"))
    with pytest.raises(InvalidKeyError) as info:
        client.get_connect_session(SESSION)
    assert info.value.title == "The connect session was not found; the link has expired or was revoked"
    assert SESSION not in str(info.value) and SESSION not in repr(info.value)


def test_cancel_during_retry_backoff(client_for):
    cancel = threading.Event()
    client, server = client_for(error(500, "server_error"), sleep=lambda s: cancel.set())
    with pytest.raises(CancelledError) as info:
        client.list_connections(cancel=cancel)
    assert len(server.requests) == 1
    assert info.value.title == "Cancelled"


def test_error_str_and_repr():
    exc = NotFoundError(detail="GET /x -> HTTP 404", status=404, code="not_found")
    assert str(exc) == "Not found (it may have been deleted): GET /x -> HTTP 404"
    assert (
        repr(exc)
        == "NotFoundError(title='Not found (it may have been deleted)', status=404, code='not_found')"
    )
    assert str(NangoError()) == "The Nango API request failed"


def test_redact_known_shapes():
    text = redact(
        f"Bearer {KEY} access_token=abc123 {SESSION} refresh_token: 'xyz' password=hunter2", secrets=(KEY,)
    )
    for secret in (KEY, "abc123", SESSION, "xyz", "hunter2"):
        assert secret not in text
