"""FakeNango must not drift from the real Nango API.

Every endpoint FakeNango serves is called over real HTTP (success and error statuses) and the response
is validated against the official OpenAPI spec with openapi-core. Where the real server differs from the
spec (NOTES.md), the difference is asserted explicitly: a patch documents it, and a test proves the
unpatched spec still disagrees, so the patch can be dropped once the spec is fixed.
Also covers the FakeNango behaviour other tests rely on (paging, order, rate limit, faults, sessions).
"""

from __future__ import annotations

import copy
import functools
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.nango_server import (
    DEFAULT_LIST_LIMIT,
    SESSION_PREFIX,
    FakeNango,
    ManualClock,
    make_connections,
    webhook_bytes,
)

pytest.importorskip("openapi_core")
from jsonschema import Draft202012Validator  # noqa: E402
from openapi_core import Config, OpenAPI  # noqa: E402
from openapi_core.datatypes import RequestParameters  # noqa: E402
from openapi_core.templating.responses.exceptions import ResponseNotFound  # noqa: E402
from referencing import Registry, Resource  # noqa: E402
from referencing.jsonschema import DRAFT202012  # noqa: E402
from werkzeug.datastructures import Headers, ImmutableMultiDict  # noqa: E402

KEY = "test-secret-key"


# --- spec loading and the documented deviations -----------------------------------------------------------


def _fix_oauth2_credentials(spec: dict) -> None:
    """OAuth2CredentialsWithRaw is allOf[OAuth2Credentials, {raw}] where BOTH parts forbid additional
    properties, so no object satisfies it: real OAuth2 credentials ({type, access_token, ..., raw}) can never
    validate. Patched to the evident intent: OAuth2Credentials' properties plus raw."""
    schemas = spec["components"]["schemas"]
    base = schemas["OAuth2Credentials"]
    schemas["OAuth2CredentialsWithRaw"] = {
        "title": "OAuth2",
        "type": "object",
        "additionalProperties": False,
        "required": [*base["required"], "raw"],
        "properties": {**base["properties"], "raw": {"type": "object"}},
    }


def _fix_get_connect_session(spec: dict) -> None:
    """GET /connect/session: the spec says data is a ConnectSession (token, expires_at); the real server
    (getSession.ts) returns {endUser, connectUISettings, allowed_integrations?, isReconnecting?, ...}."""
    response = spec["paths"]["/connect/session"]["get"]["responses"]["200"]
    response["content"]["application/json"]["schema"]["properties"]["data"] = {
        "type": "object",
        "required": ["endUser", "connectUISettings"],
        "properties": {
            "endUser": {"anyOf": [{"type": "object", "required": ["id"]}, {"type": "null"}]},
            "connectUISettings": {"type": "object"},
            "allowed_integrations": {"type": "array", "items": {"type": "string"}},
            "integrations_config_defaults": {"type": "object"},
            "overrides": {"type": "object"},
            "isReconnecting": {"type": "boolean"},
        },
    }


def _fix_connection_full_metadata(spec: dict) -> None:
    """ConnectionFull.metadata: the spec says object; the real server sends null when none is set
    (formatters/connection.ts: ``metadata: data.metadata || null``), as GET /connections does."""
    spec["components"]["schemas"]["ConnectionFull"]["properties"]["metadata"] = {
        "anyOf": [{"type": "object"}, {"type": "null"}]
    }


DEVIATIONS: dict[str, Callable[[dict], None]] = {
    "connection-full-metadata-null": _fix_connection_full_metadata,
    "oauth2-credentials-unsatisfiable": _fix_oauth2_credentials,
    "get-connect-session-shape": _fix_get_connect_session,
}

# (method, spec path, status) FakeNango answers like the real server but the spec does not list.
# Their bodies are checked against StdError instead (429 has its own shape, see test_rate_limit...).
UNDOCUMENTED = {
    ("GET", "/connections", 401),
    ("GET", "/connections", 403),
    ("GET", "/connections/{connectionId}", 401),
    ("GET", "/connections/{connectionId}", 403),
    ("PATCH", "/connections/{connectionId}", 401),
    ("DELETE", "/connections/{connectionId}", 401),
    ("POST", "/connections/metadata", 404),
    ("PATCH", "/connections/metadata", 404),
    ("POST", "/connect/sessions", 403),
    ("POST", "/sync/trigger", 401),
}


@functools.cache
def _spec_dict(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


@functools.cache
def _openapi(path: str, patched: bool) -> OpenAPI:
    spec = copy.deepcopy(_spec_dict(path))
    if patched:
        for fix in DEVIATIONS.values():
            fix(spec)
    # The published spec fails openapi-spec-validator (an empty anyOf under /proxy): skip spec checks.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@functools.cache
def _schema_validator(path: str, name: str) -> Draft202012Validator:
    resource = Resource.from_contents(_spec_dict(path), default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:nango", resource)
    return Draft202012Validator({"$ref": f"urn:nango#/components/schemas/{name}"}, registry=registry)


class _Request:
    """openapi-core Request protocol over an httpx.Request (as if sent to the spec's server)."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = "https://api.nango.dev"
        self.path = request.url.path
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content or None
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(list(response.headers.items()))


def spec_path_of(path: str) -> str:
    if path.startswith("/connections/") and path != "/connections/metadata":
        return "/connections/{connectionId}"
    return path


def validate(spec_path: Path, response: httpx.Response, *, patched: bool = True) -> str:
    """Validate one exchange; returns "documented" or "undocumented" (body then checked as StdError)."""
    api = _openapi(str(spec_path), patched)
    try:
        api.validate_response(_Request(response.request), _Response(response))
    except ResponseNotFound:
        errors = list(_schema_validator(str(spec_path), "StdError").iter_errors(response.json()))
        assert not errors, [e.message for e in errors]
        return "undocumented"
    return "documented"


def schema_errors(spec_path: Path, response: httpx.Response, *, patched: bool) -> list[str]:
    try:
        validate(spec_path, response, patched=patched)
    except Exception as exc:  # openapi-core wraps jsonschema errors in its own exceptions
        cause = exc.__cause__
        return [e.message for e in getattr(cause, "schema_errors", None) or []] or [str(exc)]
    return []


# --- one exchange per endpoint and status -------------------------------------------------------------------


@dataclass
class Case:
    id: str
    method: str
    path: str  # {cid}: a connection's id ({cid:<integration>}: of that integration), {int}: its integration
    status: int
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    code: str | None = None  # expected error.code
    auth: str | None = "key"  # "key", "session", "none", or a raw Authorization value
    setup: Callable[[FakeNango], None] | None = None
    request_valid: bool = True  # the request itself conforms to the spec


def _refresh_exhausted(server: FakeNango) -> None:
    conn = server.connections[0]
    server.mark_refresh_exhausted(conn["connection_id"], conn["provider_config_key"])


def _refresh_fails(backing_off: bool) -> Callable[[FakeNango], None]:
    def setup(server: FakeNango) -> None:
        conn = server.connections[0]
        server.expire_token(conn["connection_id"], conn["provider_config_key"])
        server.fail_refresh(conn["connection_id"], conn["provider_config_key"])
        if backing_off:
            conn["_refresh_backoff_until"] = server.clock() + 30

    return setup


def _scopes(*scopes: str) -> Callable[[FakeNango], None]:
    def setup(server: FakeNango) -> None:
        server.scopes = scopes

    return setup


def _two_signing_keys(server: FakeNango) -> None:
    server.signing_key_count = 2


def _expire_sessions(server: FakeNango) -> None:
    server.clock = lambda: 4_000_000_000.0


CASES = [
    # connections list
    Case("list-default", "GET", "/connections", 200),
    Case("list-page", "GET", "/connections", 200, {"limit": 7, "page": 2}),
    Case("list-search", "GET", "/connections", 200, {"search": "a", "limit": 2000}),
    Case("list-tags", "GET", "/connections", 200, {"tags[end_user_id]": "user_000001"}),
    Case("list-connection-id", "GET", "/connections", 200, {"connectionId": "{cid}"}),
    Case("list-integration-csv", "GET", "/connections", 200, {"integrationId": "github,slack"}),
    Case("list-limit-0", "GET", "/connections", 400, {"limit": 0}, code="invalid_query_params"),
    Case("list-limit-2001", "GET", "/connections", 400, {"limit": 2001}, code="invalid_query_params"),
    Case("list-page-negative", "GET", "/connections", 400, {"page": -1}, code="invalid_query_params"),
    Case("list-bad-tag-key", "GET", "/connections", 400, {"tags[1bad]": "x"}, code="invalid_query_params"),
    Case("list-no-auth", "GET", "/connections", 401, auth="none", code="missing_auth_header"),
    Case("list-malformed-auth", "GET", "/connections", 401, auth="Token abc", code="malformed_auth_header"),
    Case("list-wrong-key", "GET", "/connections", 401, auth="Bearer nope", code="invalid_secret_key"),
    Case(
        "list-revoked", "GET", "/connections", 401, code="invalid_secret_key", setup=lambda s: s.revoke_key()
    ),
    Case(
        "list-no-scope",
        "GET",
        "/connections",
        403,
        code="forbidden",
        setup=_scopes("environment:integrations:list"),
    ),
    # one connection
    Case("get", "GET", "/connections/{cid}", 200, {"provider_config_key": "{int}"}),
    Case(
        "get-refresh",
        "GET",
        "/connections/{cid}",
        200,
        {"provider_config_key": "{int}", "force_refresh": "true", "refresh_token": "true"},
    ),
    Case("get-api-key", "GET", "/connections/{cid:sendgrid}", 200, {"provider_config_key": "sendgrid"}),
    Case(
        "get-no-integration",
        "GET",
        "/connections/{cid}",
        400,
        code="invalid_query_params",
        request_valid=False,
    ),
    Case("get-unknown", "GET", "/connections/nope", 404, {"provider_config_key": "github"}, code="not_found"),
    Case(
        "get-unknown-integration",
        "GET",
        "/connections/{cid}",
        400,
        {"provider_config_key": "nope"},
        code="unknown_provider_config",
    ),
    Case(
        "get-refresh-exhausted",
        "GET",
        "/connections/{cid}",
        424,
        {"provider_config_key": "{int}"},
        code="invalid_credentials",
        setup=_refresh_exhausted,
    ),
    Case(
        "get-refresh-failed",
        "GET",
        "/connections/{cid}",
        424,
        {"provider_config_key": "{int}"},
        code="invalid_credentials",
        setup=_refresh_fails(backing_off=False),
    ),
    Case(
        "get-refresh-backing-off",
        "GET",
        "/connections/{cid}",
        424,
        {"provider_config_key": "{int}"},
        code="invalid_credentials",
        setup=_refresh_fails(backing_off=True),
    ),
    Case(
        "get-without-credentials-scope",
        "GET",
        "/connections/{cid}",
        200,
        {"provider_config_key": "{int}"},
        setup=lambda s: (_refresh_exhausted(s), _scopes("environment:connections:read")(s)),
    ),
    Case(
        "get-force-refresh-no-scope",
        "GET",
        "/connections/{cid}",
        403,
        {"provider_config_key": "{int}", "force_refresh": "true"},
        code="forbidden",
        setup=_scopes("environment:connections:read"),
    ),
    Case("get-no-auth", "GET", "/connections/{cid}", 401, {"provider_config_key": "{int}"}, auth="none"),
    Case(
        "patch-tags",
        "PATCH",
        "/connections/{cid}",
        200,
        {"provider_config_key": "{int}"},
        {"tags": {"end_user_id": "u1", "End_User_Email": "ann@example.com"}},
    ),
    Case(
        "patch-webhook",
        "PATCH",
        "/connections/{cid}",
        200,
        {"provider_config_key": "{int}"},
        {"webhook_url_override": "https://hooks.example.com/nango"},
    ),
    Case(
        "patch-bad-email",
        "PATCH",
        "/connections/{cid}",
        400,
        {"provider_config_key": "{int}"},
        {"tags": {"end_user_email": "a@b.c"}},
        code="invalid_body",
    ),
    Case(
        "patch-too-many-tags",
        "PATCH",
        "/connections/{cid}",
        400,
        {"provider_config_key": "{int}"},
        {"tags": {f"k{i}": "v" for i in range(11)}},
        code="invalid_body",
        request_valid=False,
    ),
    Case(
        "patch-unknown",
        "PATCH",
        "/connections/nope",
        404,
        {"provider_config_key": "github"},
        {"tags": {}},
        code="not_found",
    ),
    Case(
        "patch-no-auth", "PATCH", "/connections/{cid}", 401, {"provider_config_key": "{int}"}, {}, auth="none"
    ),
    Case("delete", "DELETE", "/connections/{cid}", 200, {"provider_config_key": "{int}"}),
    Case(
        "delete-unknown",
        "DELETE",
        "/connections/nope",
        400,
        {"provider_config_key": "github"},
        code="unknown_connection",
    ),
    Case(
        "delete-no-auth", "DELETE", "/connections/{cid}", 401, {"provider_config_key": "{int}"}, auth="none"
    ),
    # metadata
    Case(
        "metadata-set",
        "POST",
        "/connections/metadata",
        201,
        json={"connection_id": "{cid}", "provider_config_key": "{int}", "metadata": {"a": 1}},
    ),
    Case(
        "metadata-set-many",
        "POST",
        "/connections/metadata",
        201,
        json={"connection_id": ["{cid}"], "provider_config_key": "{int}", "metadata": {"a": 1}},
    ),
    Case(
        "metadata-update",
        "PATCH",
        "/connections/metadata",
        200,
        json={"connection_id": "{cid}", "provider_config_key": "{int}", "metadata": {"b": 2}},
    ),
    Case(
        "metadata-invalid",
        "POST",
        "/connections/metadata",
        400,
        json={"connection_id": "{cid}"},
        code="invalid_body",
        request_valid=False,
    ),
    Case(
        "metadata-unknown",
        "POST",
        "/connections/metadata",
        404,
        json={"connection_id": "nope", "provider_config_key": "github", "metadata": {}},
        code="unknown_connection",
    ),
    Case(
        "metadata-update-unknown",
        "PATCH",
        "/connections/metadata",
        404,
        json={"connection_id": "nope", "provider_config_key": "github", "metadata": {}},
        code="unknown_connection",
    ),
    # connect sessions
    Case(
        "session-tags",
        "POST",
        "/connect/sessions",
        201,
        json={
            "tags": {"end_user_id": "u1", "end_user_email": "ann@example.com"},
            "allowed_integrations": ["github"],
        },
    ),
    Case(
        "session-end-user",
        "POST",
        "/connect/sessions",
        201,
        json={
            "end_user": {"id": "u1", "email": "ann@example.com"},
            "organization": {"id": "o1", "display_name": "Acme"},
        },
    ),
    Case("session-empty", "POST", "/connect/sessions", 400, json={}, code="invalid_body"),
    Case(
        "session-unknown-integration",
        "POST",
        "/connect/sessions",
        400,
        json={"tags": {"end_user_id": "u1"}, "allowed_integrations": ["nope"]},
        code="invalid_body",
    ),
    Case("session-no-auth", "POST", "/connect/sessions", 401, json={"tags": {"a": "b"}}, auth="none"),
    Case(
        "session-no-scope",
        "POST",
        "/connect/sessions",
        403,
        json={"tags": {"a": "b"}},
        code="forbidden",
        setup=_scopes("environment:connections:*"),
    ),
    Case(
        "reconnect",
        "POST",
        "/connect/sessions/reconnect",
        201,
        json={"connection_id": "{cid}", "integration_id": "{int}", "tags": {"end_user_id": "u1"}},
    ),
    Case(
        "reconnect-unknown",
        "POST",
        "/connect/sessions/reconnect",
        400,
        json={"connection_id": "nope", "integration_id": "github"},
        code="invalid_body",
    ),
    Case("get-session", "GET", "/connect/session", 200, auth="session"),
    Case("get-session-unknown", "GET", "/connect/session", 401, auth=f"Bearer {SESSION_PREFIX}00"),
    Case("get-session-expired", "GET", "/connect/session", 401, auth="session", setup=_expire_sessions),
    Case("delete-session", "DELETE", "/connect/session", 204, auth="session"),
    Case(
        "delete-session-no-auth", "DELETE", "/connect/session", 401, auth="none", code="missing_auth_header"
    ),
    # integrations, syncs, environment
    Case("integrations", "GET", "/integrations", 200),
    Case(
        "integrations-wrong-key", "GET", "/integrations", 401, auth="Bearer nope", code="invalid_secret_key"
    ),
    Case(
        "sync-status",
        "GET",
        "/sync/status",
        200,
        {"provider_config_key": "{int}", "syncs": "*", "connection_id": "{cid}"},
    ),
    Case("sync-status-all", "GET", "/sync/status", 200, {"provider_config_key": "github", "syncs": "*"}),
    Case(
        "sync-status-missing",
        "GET",
        "/sync/status",
        400,
        {"syncs": "*"},
        code="invalid_query_params",
        request_valid=False,
    ),
    Case(
        "sync-trigger",
        "POST",
        "/sync/trigger",
        200,
        json={"provider_config_key": "{int}", "connection_id": "{cid}", "syncs": ["x"]},
    ),
    Case(
        "sync-trigger-invalid",
        "POST",
        "/sync/trigger",
        400,
        json={"syncs": ["x"]},
        code="invalid_body",
        request_valid=False,
    ),
    Case("sync-trigger-no-auth", "POST", "/sync/trigger", 401, json={}, auth="none", request_valid=False),
    Case("rotate", "POST", "/environment/webhook-signing-key/rotate", 200),
    Case("rotate-wrong-key", "POST", "/environment/webhook-signing-key/rotate", 401, auth="Bearer x"),
    Case(
        "rotate-no-scope",
        "POST",
        "/environment/webhook-signing-key/rotate",
        403,
        code="forbidden",
        setup=_scopes("environment:connections:*"),
    ),
    Case(
        "rotate-two-keys",
        "POST",
        "/environment/webhook-signing-key/rotate",
        409,
        code="conflict",
        setup=_two_signing_keys,
    ),
]


@pytest.fixture
def fake():
    server = FakeNango(
        connections=60, seed=7, integrations=("github", "slack", "hubspot", "jira", "sendgrid")
    ).start()
    try:
        yield server
    finally:
        server.stop()


def _fill(value: Any, conn: dict) -> Any:
    if isinstance(value, str):
        return value.replace("{cid}", conn["connection_id"]).replace("{int}", conn["provider_config_key"])
    if isinstance(value, dict):
        return {_fill(k, conn): _fill(v, conn) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, conn) for v in value]
    return value


def exchange(server: FakeNango, case: Case) -> httpx.Response:
    token = server.create_session()["token"]
    if case.setup:
        case.setup(server)
    path = case.path
    integration = path.partition("{cid:")[2].partition("}")[0] or None
    conn = next(c for c in server.connections if integration in (None, c["provider_config_key"]))
    path = path.replace(f"{{cid:{integration}}}", "{cid}")
    headers = {}
    if case.auth == "key":
        headers["Authorization"] = f"Bearer {server.secret_key}"
    elif case.auth == "session":
        headers["Authorization"] = f"Bearer {token}"
    elif case.auth != "none":
        headers["Authorization"] = case.auth
    with httpx.Client(base_url=server.url) as client:
        return client.request(
            case.method,
            _fill(path, conn),
            params=_fill(case.params, conn),
            json=_fill(case.json, conn) if case.json is not None else None,
            headers=headers,
        )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_endpoint_matches_the_spec(fake, spec_path, case):
    response = exchange(fake, case)
    assert response.status_code == case.status, response.text
    if case.code is not None:
        assert response.json()["error"]["code"] == case.code
    if case.request_valid and case.auth != "none" and not str(case.auth).startswith("Token"):
        _openapi(str(spec_path), True).validate_request(_Request(response.request))
    kind = validate(spec_path, response)
    key = (case.method, spec_path_of(response.request.url.path), case.status)
    assert (kind == "undocumented") == (key in UNDOCUMENTED), f"{key} is {kind}: update UNDOCUMENTED"


def test_every_served_route_is_in_the_spec(spec_path):
    from tests.nango_server import _ROUTES

    paths = _spec_dict(str(spec_path))["paths"]
    for method, path in _ROUTES:
        spec_route = path.replace("{id}", "{connectionId}")
        assert method.lower() in paths[spec_route], (method, path)
        assert any(c.method == method and spec_path_of(c.path) == spec_route for c in CASES), (method, path)


# --- deviations, asserted explicitly --------------------------------------------------------------------------


def test_oauth2_credentials_deviation_is_still_in_the_spec(fake, spec_path):
    case = Case("get", "GET", "/connections/{cid:github}", 200, {"provider_config_key": "github"})
    response = exchange(fake, case)
    credentials = response.json()["credentials"]
    assert credentials["type"] == "OAUTH2" and credentials["raw"]
    unpatched = schema_errors(spec_path, response, patched=False)
    assert unpatched, (
        "the spec now accepts OAuth2 credentials: drop the oauth2-credentials-unsatisfiable patch"
    )
    assert schema_errors(spec_path, response, patched=True) == []


def test_get_connect_session_deviation(fake, spec_path):
    response = exchange(fake, Case("get-session", "GET", "/connect/session", 200, auth="session"))
    data = response.json()["data"]
    assert "token" not in data and "connectUISettings" in data
    assert schema_errors(spec_path, response, patched=False), "spec matches getSession now: drop the patch"
    assert schema_errors(spec_path, response, patched=True) == []


def test_connection_full_metadata_null_deviation(fake, spec_path):
    bare = next(c for c in fake.connections if c["metadata"] is None)
    response = httpx.get(
        f"{fake.url}/connections/{bare['connection_id']}",
        params={"provider_config_key": bare["provider_config_key"]},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.json()["metadata"] is None
    assert schema_errors(spec_path, response, patched=False), "spec allows null metadata now: drop the patch"
    assert schema_errors(spec_path, response, patched=True) == []


def test_support_key_reads_connections_without_credentials(fake):
    """Without environment:connections:read_credentials: credentials {}, no refresh (so no 424), and
    refresh options are refused with 403."""
    fake.scopes = ("environment:connections:read", "environment:connections:list")
    conn = fake.connections[0]
    fake.mark_refresh_exhausted(conn["connection_id"], conn["provider_config_key"])
    url = f"{fake.url}/connections/{conn['connection_id']}"
    params = {"provider_config_key": conn["provider_config_key"]}
    headers = {"Authorization": f"Bearer {KEY}"}
    plain = httpx.get(url, params=params, headers=headers)
    assert plain.status_code == 200 and plain.json()["credentials"] == {}
    refused = httpx.get(url, params={**params, "force_refresh": "true"}, headers=headers)
    assert refused.status_code == 403
    assert "environment:connections:read_credentials" in refused.json()["error"]["message"]
    fake.scopes = None
    exhausted = httpx.get(url, params=params, headers=headers)
    assert exhausted.status_code == 424
    payload = exhausted.json()["error"]["payload"]["connection"]
    assert payload["connection_id"] == conn["connection_id"]


def test_delete_unknown_connection_is_400_not_404(fake, spec_path):
    """The spec documents 404 for a missing connection; the server answers 400 unknown_connection."""
    operation = _spec_dict(str(spec_path))["paths"]["/connections/{connectionId}"]["delete"]
    assert "404" in operation["responses"]
    response = exchange(
        fake, Case("x", "DELETE", "/connections/nope", 400, {"provider_config_key": "github"})
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "unknown_connection", "message": "Failed to delete connection"}
    }
    conn = fake.connections[0]
    params = {"provider_config_key": conn["provider_config_key"]}
    headers = {"Authorization": f"Bearer {KEY}"}
    first = httpx.delete(f"{fake.url}/connections/{conn['connection_id']}", params=params, headers=headers)
    second = httpx.delete(f"{fake.url}/connections/{conn['connection_id']}", params=params, headers=headers)
    assert (first.status_code, second.status_code) == (200, 400)


def test_integration_id_filter_is_not_in_the_spec_but_served(fake, spec_path):
    names = {p["name"] for p in _spec_dict(str(spec_path))["paths"]["/connections"]["get"]["parameters"]}
    assert "integrationId" not in names
    response = exchange(fake, Case("x", "GET", "/connections", 200, {"integrationId": "github, jira"}))
    integrations = {c["provider_config_key"] for c in response.json()["connections"]}
    assert integrations == {"github", "jira"}
    assert validate(spec_path, response) == "documented"


def test_error_bodies_follow_std_error(fake, spec_path):
    """StdError forbids extra keys in error{}: only 424 (payload) and 429 (method, path) add any."""
    response = exchange(fake, CASES[[c.id for c in CASES].index("get-refresh-exhausted")])
    assert (
        response.json()["error"]["payload"]["connection"]["connection_id"]
        == fake.connections[0]["connection_id"]
    )
    assert list(_schema_validator(str(spec_path), "StdError").iter_errors(response.json()))


# --- behaviour other tests rely on ------------------------------------------------------------------------


def _get(server: FakeNango, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{server.url}{path}", params=params, headers={"Authorization": f"Bearer {server.secret_key}"}
    )


def test_paging_order_and_default_limit():
    with FakeNango(connections=10_050, seed=3) as server:
        everything = _get(server, "/connections").json()["connections"]
        assert len(everything) == DEFAULT_LIST_LIMIT
        keys = [(c["created"], c["id"]) for c in everything]
        assert keys == sorted(keys, reverse=True)
        assert any(a[0] == b[0] for a, b in zip(keys, keys[1:], strict=False)), (
            "ties on created exercise the id order"
        )
        pages = []
        page = 0
        while True:
            rows = _get(server, "/connections", limit=2000, page=page).json()["connections"]
            pages += rows
            page += 1
            if len(rows) < 2000:
                break
        assert len(pages) == 10_050 and len({c["id"] for c in pages}) == 10_050
        assert pages[:DEFAULT_LIST_LIMIT] == everything
        assert _get(server, "/connections", limit=2000, page=99).json() == {"connections": []}


def test_search_matches_ids_and_legacy_end_users_but_not_tags(fake):
    legacy = next(c for c in fake.connections if c["end_user"])
    tagged = next(c for c in fake.connections if c["tags"].get("end_user_email"))
    hits = _get(fake, "/connections", search=legacy["end_user"]["email"].upper()).json()["connections"]
    assert legacy["id"] in {c["id"] for c in hits}
    hits = _get(fake, "/connections", search=tagged["tags"]["end_user_email"]).json()["connections"]
    assert tagged["id"] not in {c["id"] for c in hits}
    hits = _get(fake, "/connections", search=tagged["connection_id"][3:12]).json()["connections"]
    assert tagged["id"] in {c["id"] for c in hits}


def test_tag_filters_are_anded(fake):
    tagged = next(c for c in fake.connections if c["tags"].get("organization_id"))
    org = tagged["tags"]["organization_id"]
    user = tagged["tags"]["end_user_id"]
    both = _get(fake, "/connections", **{"tags[organization_id]": org, "tags[END_USER_ID]": user}).json()
    assert tagged["id"] in {c["id"] for c in both["connections"]}
    assert all(c["tags"]["end_user_id"] == user for c in both["connections"])
    none = _get(fake, "/connections", **{"tags[organization_id]": org, "tags[end_user_id]": "nobody"}).json()
    assert none == {"connections": []}


def test_patch_tags_replaces_the_whole_set(fake):
    conn = next(c for c in fake.connections if len(c["tags"]) >= 3)
    response = httpx.patch(
        f"{fake.url}/connections/{conn['connection_id']}",
        params={"provider_config_key": conn["provider_config_key"]},
        json={"tags": {"Project": "p1"}},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.json() == {"success": True}
    assert conn["tags"] == {"project": "p1"}


def test_generated_data_is_deterministic_and_varied():
    first, again = make_connections(3000, seed=5), make_connections(3000, seed=5)
    assert first == again
    assert first != make_connections(3000, seed=6)
    assert {c["provider_config_key"] for c in first} >= {"github", "slack", "hubspot", "salesforce", "notion"}
    share = lambda pred: sum(map(pred, first)) / len(first)  # noqa: E731
    assert 0.05 < share(lambda c: any(e["type"] == "auth" for e in c["errors"])) < 0.11
    assert 0.03 < share(lambda c: any(e["type"] == "sync" for e in c["errors"])) < 0.08
    assert 0.4 < share(lambda c: bool(c["tags"])) < 0.8
    assert 0.15 < share(lambda c: c["end_user"] is not None) < 0.5
    assert share(lambda c: bool((c["end_user"] or {}).get("organization"))) > 0.1
    assert share(lambda c: c.get("_refresh_exhausted", False)) > 0
    assert all(e["log_id"] for c in first for e in c["errors"])


def test_rate_limit_window_headers_and_429():
    clock = ManualClock(1_800_000_000.0)
    with FakeNango(connections=3, rate_limit=3, clock=clock) as server:
        seen = [_get(server, "/integrations") for _ in range(4)]
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["2", "1", "0", "0"]
        assert {r.headers["X-RateLimit-Limit"] for r in seen} == {"3"}
        assert {r.headers["X-RateLimit-Reset"] for r in seen} == {str(1_800_000_060)}
        limited = seen[-1]
        assert limited.headers["Retry-After"] == "60"
        assert limited.json()["error"]["code"] == "too_many_request"
        clock.advance(59.5)
        assert _get(server, "/integrations").headers["Retry-After"] == "0"
        clock.advance(0.5)
        fresh = _get(server, "/integrations")
        assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "2"


def test_fault_injection(fake):
    fake.fail_next(503, times=2, path_prefix="/connections")
    assert _get(fake, "/integrations").status_code == 200
    assert [_get(fake, "/connections").status_code for _ in range(3)] == [503, 503, 200]
    fake.fail_next(429, headers={"Retry-After": "7"})
    limited = _get(fake, "/integrations")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    fake.fail_next(200, body={"connections": [{"id": "not-an-int"}]})
    assert _get(fake, "/connections").json() == {"connections": [{"id": "not-an-int"}]}
    fake.non_json_next(status=502)
    html = _get(fake, "/connections")
    assert html.status_code == 502 and html.text.startswith("<html>")
    fake.truncate_next()
    with pytest.raises(httpx.RemoteProtocolError):
        _get(fake, "/connections")
    fake.reset_next()
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        _get(fake, "/connections")
    assert _get(fake, "/connections").status_code == 200


def test_fault_after_and_mid_load_hooks(fake):
    fake.fail_next(500, path_prefix="/connections", after=2)
    statuses = [_get(fake, "/connections", limit=5, page=p).status_code for p in range(4)]
    assert statuses == [200, 200, 500, 200]
    doomed = fake.connections[0]

    def delete_then_revoke(request):
        if request.param("page") == "1":
            fake.connections.remove(doomed)
            fake.invalidate()
        elif request.param("page") == "2":
            fake.revoke_key()

    fake.on_request = delete_then_revoke
    first = _get(fake, "/connections", limit=5, page=0)
    second = _get(fake, "/connections", limit=5, page=1)
    third = _get(fake, "/connections", limit=5, page=2)
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 401)
    assert fake.find(doomed["connection_id"], doomed["provider_config_key"]) is None


def test_large_servers_cache_list_json_until_invalidated():
    with FakeNango(connections=10_000, seed=2) as server:
        newest = server._ordered()[0]
        assert _get(server, "/connections", limit=1).json()["connections"][0]["tags"] == newest["tags"]
        newest["tags"] = {"edited": "in-place"}
        server.invalidate()
        assert _get(server, "/connections", limit=1).json()["connections"][0]["tags"] == {
            "edited": "in-place"
        }
        response = httpx.patch(
            f"{server.url}/connections/{newest['connection_id']}",
            params={"provider_config_key": newest["provider_config_key"]},
            json={"tags": {"via": "api"}},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert response.status_code == 200
        assert _get(server, "/connections", limit=1).json()["connections"][0]["tags"] == {"via": "api"}


def test_delay_times_out_a_client(fake):
    fake.set_delay(5)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{fake.url}/integrations", headers={"Authorization": f"Bearer {KEY}"}, timeout=0.2)
    fake.set_delay(0)
    assert _get(fake, "/integrations").status_code == 200


def test_requests_are_recorded_without_the_key(fake):
    _get(fake, "/connections", limit=5, **{"tags[a]": "b"})
    recorded = fake.requests[-1]
    assert (recorded.method, recorded.path, recorded.param("limit")) == ("GET", "/connections", "5")
    assert recorded.query["tags[a]"] == ["b"]
    assert recorded.headers["authorization"] == "<redacted>"
    assert KEY not in repr(fake.requests)


def test_connect_session_link_ttl_and_revocation(fake):
    clock = ManualClock(1_900_000_000.0)
    fake.clock = clock
    created = httpx.post(
        f"{fake.url}/connect/sessions",
        json={"tags": {"end_user_id": "u9"}},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()["data"]
    token = created["token"]
    assert token.startswith(SESSION_PREFIX) and len(token) > len(SESSION_PREFIX) + 32
    assert created["connect_link"] == f"https://connect.nango.dev/?session_token={token}"
    assert created["expires_at"] == "2030-03-17T18:16:40.000Z"  # 1_900_000_000 + 30 min
    session_auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{fake.url}/connect/session", headers=session_auth).status_code == 200
    assert (
        httpx.get(f"{fake.url}/connect/session", headers={"Authorization": f"Bearer {KEY}"}).status_code
        == 401
    )
    clock.advance(30 * 60)
    assert httpx.get(f"{fake.url}/connect/session", headers=session_auth).status_code == 401
    clock.advance(-60)
    assert httpx.delete(f"{fake.url}/connect/session", headers=session_auth).status_code == 204
    assert httpx.get(f"{fake.url}/connect/session", headers=session_auth).status_code == 401


def test_complete_session_creates_a_connection_and_returns_the_webhook(fake):
    response = httpx.post(
        f"{fake.url}/connect/sessions",
        json={
            "end_user": {"id": "u7", "email": "u7@example.com", "display_name": "User Seven"},
            "tags": {"project": "p1"},
            "allowed_integrations": ["slack"],
        },
        headers={"Authorization": f"Bearer {KEY}"},
    )
    token = response.json()["data"]["token"]
    before = len(fake.connections)
    body = fake.complete_session(token, connection_id="conn-u7")
    assert len(fake.connections) == before + 1
    conn = fake.find("conn-u7", "slack")
    assert conn["tags"] == {
        "end_user_display_name": "User Seven",
        "end_user_email": "u7@example.com",
        "end_user_id": "u7",
        "project": "p1",
    }
    assert body == {
        "authMode": "OAUTH2",
        "connectionId": "conn-u7",
        "endUser": {"endUserEmail": "u7@example.com", "endUserId": "u7", "tags": {}},
        "environment": "dev",
        "from": "nango",
        "operation": "creation",
        "provider": "slack",
        "providerConfigKey": "slack",
        "success": True,
        "tags": conn["tags"],
        "type": "auth",
    }
    raw = webhook_bytes(body)
    assert raw.startswith(b'{"authMode":"OAUTH2","connectionId":"conn-u7","endUser":{')
    assert json.loads(raw) == body
    listed = _get(fake, "/connections", connectionId="conn-u7").json()["connections"]
    assert [c["id"] for c in listed] == [conn["id"]]
    assert _get(fake, "/connections", limit=1).json()["connections"][0]["connection_id"] == "conn-u7"


def test_reconnect_without_tags_resets_tags(fake):
    conn = next(c for c in fake.connections if c["tags"])
    conn["errors"] = [{"type": "auth", "log_id": "x"}]
    created = httpx.post(
        f"{fake.url}/connect/sessions/reconnect",
        json={"connection_id": conn["connection_id"], "integration_id": conn["provider_config_key"]},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert created.status_code == 201
    body = fake.complete_session(created.json()["data"]["token"])
    assert body["operation"] == "override" and body["tags"] == {} and "endUser" not in body
    assert conn["tags"] == {} and conn["errors"] == []


def test_stop_closes_kept_alive_connections_and_joins_their_threads():
    before = set(threading.enumerate())
    server = FakeNango(connections=3).start()
    outcome: list[BaseException] = []

    def slow_call() -> None:
        try:
            httpx.get(f"{server.url}/integrations", timeout=60)
        except httpx.HTTPError as exc:  # the server goes away without answering
            outcome.append(exc)

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        assert [client.get("/integrations").status_code for _ in range(3)] == [200] * 3
        arrived = threading.Event()
        server.on_request = lambda request: arrived.set()
        server.set_delay(30)
        slow = threading.Thread(target=slow_call, daemon=True)
        slow.start()
        assert arrived.wait(10)
        server.stop()  # wakes the delayed handler and closes the idle keep-alive connection
        slow.join(timeout=30)
        assert not slow.is_alive() and len(outcome) == 1
    assert set(threading.enumerate()) - before == set()


def test_free_port_and_restart():
    server = FakeNango().start()
    url = server.url
    server.stop()
    with socket.socket() as sock:  # the port is released
        sock.bind(("127.0.0.1", int(url.rsplit(":", 1)[1])))


# --- the real client against FakeNango: requests the spec accepts, responses the client parses ----------------


def test_every_client_call_against_fake_nango_conforms(spec_path):
    from nango_desktop.services.api import NangoClient
    from tests.integration.test_contract_prism import CALLS, CONNECTION, SESSION_TOKEN, RecordingTransport

    api = _openapi(str(spec_path), True)
    for name, call in CALLS.items():
        with FakeNango(connections=20, integrations=("github", "slack", "jira")) as server:
            server.add_connection(CONNECTION[1], CONNECTION[0], tags={"project": "p1"})
            server.add_connection(CONNECTION[1], "conn-2")
            server.create_session(token=SESSION_TOKEN)
            transport = RecordingTransport()
            with NangoClient(server.url, server.secret_key, max_retries=0, transport=transport) as client:
                call(client)
            assert transport.exchanges, name
            for request, response in transport.exchanges:
                assert response.status_code < 400, (name, response.text)
                api.validate_request(_Request(request))
                assert validate(spec_path, response) == "documented", name


def test_run_fake_nango_serves_in_the_foreground_until_terminated():
    import queue
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.run_fake_nango", "--connections", "30", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=60)
        assert first.startswith("FakeNango listening on http://127.0.0.1:"), first
        url = first.split()[-1]
        assert lines.get(timeout=10).strip() == f"secret key: {KEY}"
        listed = httpx.get(f"{url}/connections", headers={"Authorization": f"Bearer {KEY}"})
        assert len(listed.json()["connections"]) == 30
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        reader.join(timeout=10)
        proc.stdout.close()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert rest[-1].strip() == "stopped"
