"""Property tests: spec-shaped random responses, and broken ones, fed to the client's parsers.

Whatever a server (or a proxy in front of it) answers, a client call either returns parsed models or raises
MalformedResponseError for a 2xx, and a NangoError subclass for an error status: never anything else.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import MalformedResponseError, NangoError

# Fuzzed credentials are registered for redaction when a connection is read: keep them out of other tests.
pytestmark = pytest.mark.usefixtures("isolated_redaction")

# Examples per property (9 properties). Raise it for a soak run: NANGO_FUZZ_EXAMPLES=5000 pytest ...
EXAMPLES = int(os.environ.get("NANGO_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
text = st.text(max_size=30)
iso = st.datetimes().map(lambda d: d.isoformat() + "Z")
tags = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), st.text(min_size=1, max_size=20), max_size=10
)
end_user = st.none() | st.fixed_dictionaries(
    {"id": text},
    optional={
        "email": st.none() | text,
        "display_name": st.none() | text,
        "tags": st.dictionaries(text, text, max_size=3),
        "organization": st.none()
        | st.fixed_dictionaries({"id": text}, optional={"display_name": st.none() | text}),
    },
)
errors = st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["auth", "sync"]), "log_id": text}), max_size=2
)
connection_item = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=0, max_value=2**53),
        "connection_id": text,
        "provider": text,
        "provider_config_key": text,
        "created": iso,
        "metadata": st.none() | st.dictionaries(text, json_value, max_size=3),
        "tags": tags,
        "errors": errors,
    },
    optional={"end_user": end_user, "unknown_new_field": json_value},
)
credentials = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("OAUTH2"),
            "access_token": text,
            "raw": st.dictionaries(text, json_value, max_size=3),
        },
        optional={"refresh_token": text, "expires_at": iso},
    ),
    st.fixed_dictionaries({"type": st.just("API_KEY"), "apiKey": text}),
    st.fixed_dictionaries({"type": st.just("BASIC"), "username": text, "password": text}),
    st.dictionaries(text, json_value, max_size=4),
)
connection_full = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=0, max_value=2**53),
        "connection_id": text,
        "provider_config_key": text,
        "provider": text,
        "errors": errors,
        "metadata": st.dictionaries(text, json_value, max_size=3),
        "connection_config": st.dictionaries(text, json_value, max_size=3),
        "tags": tags,
        "created_at": iso,
        "updated_at": iso,
        "last_fetched_at": iso,
        "credentials": credentials,
    },
    optional={"end_user": end_user, "webhook_url_override": text},
)
integration = st.fixed_dictionaries(
    {"unique_key": text, "display_name": text, "provider": text, "created_at": iso, "updated_at": iso},
    optional={"logo": text, "forward_webhooks": st.booleans()},
)
session = st.fixed_dictionaries({"token": text, "expires_at": iso}, optional={"connect_link": text})
session_info = st.fixed_dictionaries(
    {},
    optional={
        "token": text,
        "expires_at": iso,
        "end_user": end_user,
        "tags": tags,
        "allowed_integrations": st.lists(text, max_size=3),
        "isReconnecting": st.booleans(),
    },
)
sync = st.fixed_dictionaries(
    {
        "id": text,
        "name": text,
        "status": st.sampled_from(["RUNNING", "PAUSED", "STOPPED", "SUCCESS", "ERROR"]),
    },
    optional={
        "type": st.sampled_from(["INCREMENTAL", "INITIAL"]),
        "finishedAt": iso,
        "frequency": text,
        "recordCount": st.dictionaries(text, st.integers(), max_size=3),
        "latestResult": st.dictionaries(text, json_value, max_size=3),
        "checkpoint": st.none() | st.dictionaries(text, json_value, max_size=2),
    },
)

# endpoint name -> (call, spec-shaped body strategy)
ENDPOINTS: dict[str, tuple[Any, st.SearchStrategy]] = {
    "list_connections": (
        lambda c: c.list_connections(),
        st.fixed_dictionaries({"connections": st.lists(connection_item, max_size=5)}),
    ),
    "get_connection": (lambda c: c.get_connection("c1", "github"), connection_full),
    "list_integrations": (
        lambda c: c.list_integrations(),
        st.fixed_dictionaries({"data": st.lists(integration, max_size=4)}),
    ),
    "create_connect_session": (
        lambda c: c.create_connect_session(tags={"end_user_id": "u1"}),
        st.fixed_dictionaries({"data": session}),
    ),
    "create_reconnect_session": (
        lambda c: c.create_reconnect_session("c1", "github"),
        st.fixed_dictionaries({"data": session}),
    ),
    "get_connect_session": (
        lambda c: c.get_connect_session("tok"),
        st.fixed_dictionaries({"data": session_info}),
    ),
    "sync_status": (
        lambda c: c.sync_status("github", "c1"),
        st.fixed_dictionaries({"syncs": st.lists(sync, max_size=3)}),
    ),
    "rotate_webhook_signing_key": (
        lambda c: c.rotate_webhook_signing_key(),
        st.fixed_dictionaries({"data": st.fixed_dictionaries({"webhook_signing_key": text})}),
    ),
}


def _mutations(value: Any) -> st.SearchStrategy:
    """Broken variants of a spec-shaped value: a key dropped, a value of the wrong type, wrong nesting."""
    options: list[st.SearchStrategy] = [json_value, st.just([value]), st.just({"data": value})]
    if isinstance(value, dict) and value:
        keys = sorted(value)
        options.append(st.sampled_from(keys).map(lambda k: {x: v for x, v in value.items() if x != k}))
        options.append(st.tuples(st.sampled_from(keys), json_value).map(lambda kv: {**value, kv[0]: kv[1]}))
    if isinstance(value, list) and value:
        options.append(
            st.tuples(st.integers(0, len(value) - 1), json_value).map(
                lambda iv: [iv[1] if i == iv[0] else v for i, v in enumerate(value)]
            )
        )
    return st.one_of(options)


def _deep_mutation(value: Any, draw) -> Any:
    """Mutate one randomly chosen node anywhere in the tree."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        return {**value, key: _deep_mutation(value[key], draw)}
    if isinstance(value, list) and value and draw(st.booleans()):
        i = draw(st.integers(0, len(value) - 1))
        return [*value[:i], _deep_mutation(value[i], draw), *value[i + 1 :]]
    return draw(_mutations(value))


@st.composite
def response_bytes(draw, shape: st.SearchStrategy) -> tuple[str, bytes]:
    value = draw(shape)
    kind = draw(st.sampled_from(["valid", "mutated", "truncated", "garbage", "wrong_json"]))
    if kind == "valid":
        return kind, json.dumps(value).encode()
    if kind == "mutated":
        return kind, json.dumps(_deep_mutation(value, draw)).encode()
    if kind == "truncated":
        raw = json.dumps(value).encode()
        return kind, raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    if kind == "garbage":
        return kind, draw(st.binary(max_size=200))
    return kind, json.dumps(draw(json_value)).encode()


class Canned:
    """A transport answering whatever the current example set."""

    def __init__(self) -> None:
        self.status = 200
        self.content = b""
        self.headers: dict[str, str] = {"content-type": "application/json"}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.status, content=self.content, headers=self.headers)


@pytest.fixture(scope="module")
def fuzz():
    """One client for all examples of the module (examples run one at a time)."""
    canned = Canned()
    client = NangoClient(
        "https://fuzz.test",
        "sk-fuzz",
        transport=httpx.MockTransport(canned),
        max_retries=1,
        sleep=lambda s: None,
    )
    yield canned, client
    client.close()


def _make_test(name: str):
    call, shape = ENDPOINTS[name]

    @SETTINGS
    @given(payload=response_bytes(shape), status=st.sampled_from([200, 201]))
    def test(fuzz, payload, status):
        canned, client = fuzz
        kind, content = payload
        canned.status, canned.content = status, content
        try:
            result = call(client)
        except MalformedResponseError as exc:
            assert kind != "valid", f"spec-shaped body rejected: {exc}"
            assert exc.title == "The Nango server sent an unexpected response"
        else:
            assert result is not None

    test.__name__ = f"test_{name}_parses_or_raises_malformed"
    return test


for _name in ENDPOINTS:
    globals()[f"test_{_name}_parses_or_raises_malformed"] = _make_test(_name)


@SETTINGS
@given(
    status=st.integers(min_value=400, max_value=599),
    content=st.one_of(
        st.binary(max_size=100),
        json_value.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "error": st.fixed_dictionaries(
                    {"code": text}, optional={"message": text, "errors": json_value, "payload": json_value}
                )
            }
        ).map(lambda v: json.dumps(v).encode()),
    ),
    retry_after=st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
)
def test_error_statuses_always_raise_a_nango_error(fuzz, status, content, retry_after):
    canned, client = fuzz
    canned.status, canned.content = status, content
    canned.headers = {"retry-after": retry_after} if retry_after is not None else {}
    try:
        client.list_connections()
    except NangoError as exc:
        assert exc.status == status
        assert "sk-fuzz" not in str(exc)
    else:  # pragma: no cover - an error status never parses
        raise AssertionError("an error status returned a result")
    finally:
        canned.headers = {"content-type": "application/json"}
