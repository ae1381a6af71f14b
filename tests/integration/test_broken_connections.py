"""Broken connections as the real Nango server behaves (issue 14, NOTES.md "second look"): a refresh that
fails answers 424, then "Backing off" for ~30 s, then "refresh limit reached" after N failures; reading a
connection must not refresh it; reconnect links take tags from the list endpoint."""

from __future__ import annotations

import io
import json

import pytest

from nango_desktop import cli
from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import (
    RefreshBackingOffError,
    RefreshExhaustedError,
    RefreshFailedError,
    RefreshState,
)
from tests.fake_refresh import BACKOFF_MESSAGE, EXHAUSTED_MESSAGE, REFRESH_FAILED_MESSAGE
from tests.nango_server import FakeNango


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(clock):
    with FakeNango(connections=5, clock=clock) as fake:
        yield fake


@pytest.fixture
def broken(server):
    """A connection whose token expired and whose refresh token the provider rejects."""
    conn = server.connections[1]
    conn["tags"] = {"end_user_id": "u-42", "plan": "gold"}
    server.invalidate()
    server.expire_token(conn["connection_id"], conn["provider_config_key"])
    server.fail_refresh(conn["connection_id"], conn["provider_config_key"])
    return conn


@pytest.fixture
def run(capsys, server, monkeypatch):
    monkeypatch.setenv("NANGO_SECRET_KEY", server.secret_key)

    def _run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["--api-url", server.url, *argv], stdin=io.StringIO(""))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def _reads(server: FakeNango, conn: dict) -> list:
    """Requests that read the connection's credentials (GET /connections/{id}: refreshes the token)."""
    return [
        r for r in server.requests if r.method == "GET" and r.path == f"/connections/{conn['connection_id']}"
    ]


# -- the fake server and the core ------------------------------------------------------------------------


def test_failed_refresh_then_back_off_then_exhausted(server, broken, clock):
    cid, iid = broken["connection_id"], broken["provider_config_key"]
    states = []
    with NangoClient(server.url, server.secret_key) as client:
        for step in range(5):
            with pytest.raises(RefreshFailedError) as info:
                client.get_connection(cid, iid)
            exc = info.value
            states.append((exc.state, exc.nango_message))
            assert exc.connection is not None and exc.connection["tags"] == broken["tags"]
            if step < 2:  # after a failed attempt: back off for the window, then the next attempt
                with pytest.raises(RefreshBackingOffError) as backing:
                    client.get_connection(cid, iid)
                assert "Wait about 30" in backing.value.advice
                clock.now += server.refresh.backoff_seconds + 1
    assert states == [
        (RefreshState.OTHER, REFRESH_FAILED_MESSAGE),
        (RefreshState.OTHER, REFRESH_FAILED_MESSAGE),
        (RefreshState.EXHAUSTED, EXHAUSTED_MESSAGE),
        (RefreshState.EXHAUSTED, EXHAUSTED_MESSAGE),
        (RefreshState.EXHAUSTED, EXHAUSTED_MESSAGE),
    ]
    # one refresh-failure webhook per attempt (3), byte-identical: Nango's webhooks carry no id or time
    assert len(server.webhooks) == 3
    assert len({json.dumps(w, sort_keys=True) for w in server.webhooks}) == 1
    assert server.webhooks[0]["operation"] == "refresh" and server.webhooks[0]["success"] is False


def test_424_messages_are_told_apart():
    from nango_desktop.services.errors import error_for_status

    def make(message):
        return error_for_status(
            424, method="GET", path="/connections/x", code="invalid_credentials", message=message,
            payload={"connection": {"connection_id": "x", "tags": {"a": "b"}}},
        )  # fmt: skip

    backing, exhausted, other = make(BACKOFF_MESSAGE), make(EXHAUSTED_MESSAGE), make("Provider said no")
    assert isinstance(backing, RefreshBackingOffError) and "backing off" in backing.title.lower()
    assert "reconnect yet" in backing.advice
    assert isinstance(exhausted, RefreshExhaustedError) and "reconnect link" in exhausted.advice
    assert type(other) is RefreshFailedError and "Provider said no" in other.title
    assert backing.connection == {"connection_id": "x", "tags": {"a": "b"}}


def test_find_connection_reads_the_list_endpoint_only(server, broken):
    with NangoClient(server.url, server.secret_key) as client:
        row = client.find_connection(broken["connection_id"], broken["provider_config_key"])
    assert row.tags == broken["tags"]
    assert _reads(server, broken) == [] and server.webhooks == []
    listed = server.requests_to("/connections", "GET")
    assert listed[-1].param("connectionId") == broken["connection_id"]


# -- CLI: connections show -------------------------------------------------------------------------------


def test_show_reads_the_list_and_never_refreshes(run, server, broken):
    code, out, err = run(
        "connections", "show", broken["connection_id"], "--integration", broken["provider_config_key"]
    )
    assert code == 0, err
    assert "gold" in out and "State" in out
    assert _reads(server, broken) == [] and server.webhooks == []


@pytest.mark.parametrize("failures", [3, 1], ids=["backing-off", "exhausted"])
def test_show_credentials_on_a_broken_connection_exits_0_with_a_state_line(run, server, broken, failures):
    cid, iid = broken["connection_id"], broken["provider_config_key"]
    server.refresh.max_failures = failures
    with NangoClient(server.url, server.secret_key) as client, pytest.raises(RefreshFailedError):
        client.get_connection(cid, iid)  # the first failed attempt
    code, out, err = run("connections", "show", cid, "--integration", iid, "--credentials")
    assert code == 0, err
    state = next(line for line in out.splitlines() if line.startswith("State"))
    if failures == 3:
        assert "exhausted" not in state and "backing off" in state
        assert "Wait about 30" in out
    else:
        assert "refresh exhausted" in state and "reconnect link" in out
    assert "Nango could not refresh" in out
    assert "gold" in out  # the connection from error.payload.connection
    code, out, err = run("connections", "show", cid, "--integration", iid, "--credentials", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["tags"]["plan"] == "gold"
    assert data["credentials_error"]["state"] == ("backing_off" if failures == 3 else "exhausted")
    assert "credentials" not in data


def test_show_credentials_without_the_scope_says_so(capsys, monkeypatch):
    with FakeNango(
        connections=3, scopes=["environment:connections:list", "environment:connections:read"]
    ) as fake:
        monkeypatch.setenv("NANGO_SECRET_KEY", fake.secret_key)
        conn = fake.connections[0]
        code = cli.main(
            ["--api-url", fake.url, "connections", "show", conn["connection_id"],
             "--integration", conn["provider_config_key"], "--credentials"],
            stdin=io.StringIO(""),
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    assert "lacks the environment:connections:read_credentials scope" in out


# -- CLI: link reconnect ---------------------------------------------------------------------------------


def test_link_reconnect_on_an_exhausted_connection_sends_the_current_tags(run, server, broken, tmp_path):
    cid, iid = broken["connection_id"], broken["provider_config_key"]
    broken["_refresh_exhausted"] = True
    code, out, err = run("link", "reconnect", cid, "--integration", iid)
    assert code == 0, err
    assert "Link:" in out
    sent = server.requests_to("/connect/sessions/reconnect", "POST")
    assert len(sent) == 1 and sent[0].body["tags"] == {"end_user_id": "u-42", "plan": "gold"}
    assert _reads(server, broken) == []


# -- CLI: --format json on a failing first page ----------------------------------------------------------


def test_json_listing_prints_nothing_when_the_first_page_fails(run, server):
    server.fail_next(500, times=10, path_prefix="/connections")
    code, out, err = run("connections", "list", "--format", "json")
    assert code == 1
    assert out == ""
    assert "Error" in err
