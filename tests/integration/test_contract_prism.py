"""Contract test: every NangoClient method against Prism mocking the official spec.

``prism mock --errors`` answers a request that violates the spec (parameters, body, security) with an
error instead of a mocked response, so each call below succeeding proves the client sends what the spec
accepts; parsing the mocked bodies (generated from the spec's schemas and examples) proves the models
read what the spec promises. Needs ``npm ci`` in tests/contract (see its README); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "contract"
PRISM = CONTRACT_DIR / "node_modules" / ".bin" / ("prism.cmd" if os.name == "nt" else "prism")
STARTUP_TIMEOUT = 60.0
CONNECTION = ("conn-1", "github")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prism:
    """A `prism mock --errors` subprocess; its output is collected for failure messages."""

    def __init__(self, spec: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: list[str] = []
        self._ready = threading.Event()
        self._proc = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(self.port), "--errors", str(spec)],
            cwd=CONTRACT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, name="prism-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.output.append(line.rstrip())
            if "Prism is listening" in line:
                self._ready.set()
        self._ready.set()  # exited: wake the waiter, which then sees the exit code

    def wait_ready(self) -> None:
        if not self._ready.wait(STARTUP_TIMEOUT) or self._proc.poll() is not None:
            self.stop()
            tail = "\n".join(self.output[-30:])
            pytest.fail(f"prism did not start within {STARTUP_TIMEOUT:g} s:\n{tail}")

    def log_since(self, mark: int) -> str:
        return "\n".join(self.output[mark:])

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._reader.join(timeout=10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


@pytest.fixture(scope="module")
def prism() -> Iterator[Prism]:
    from tests.conftest import SPEC_PATH

    if not SPEC_PATH.is_file():
        pytest.skip(f"Nango OpenAPI spec not found at {SPEC_PATH}")
    if not PRISM.exists():
        pytest.skip(f"prism is not installed: run `npm ci` in {CONTRACT_DIR} (see its README)")
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH (prism needs Node.js)")
    server = Prism(SPEC_PATH)
    server.wait_ready()
    try:
        yield server
    finally:
        server.stop()


class RecordingTransport(httpx.HTTPTransport):
    """Keeps every exchange so a failure shows what Prism objected to."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


@pytest.fixture
def client(prism):
    # Static responses (the spec's examples / schema defaults). Prism's dynamic mode is not used: its
    # generator ignores maxProperties on Tags and then rejects its own responses (HTTP 500).
    from nango_desktop.services.api import NangoClient

    transport = RecordingTransport()
    with NangoClient(prism.url, "contract-test-key", max_retries=0, transport=transport, timeout=10) as api:
        api.transport = transport  # type: ignore[attr-defined]  # for the assertions below
        yield api


SESSION_TOKEN = "nango_connect_session_" + "ab" * 32


def _find_connection(api: Any) -> Any:
    """conn-1 on FakeNango; the spec mock's example row has connection_id and provider_config_key "string"."""
    from nango_desktop.services.errors import NotFoundError

    try:
        return api.find_connection(*CONNECTION)
    except NotFoundError:
        return api.find_connection("string", "string")


CALLS: dict[str, Callable[[Any], Any]] = {
    "list_connections": lambda api: api.list_connections(),
    "list_connections_filtered": lambda api: api.list_connections(
        search="acme",
        integration_ids=["github", "slack"],
        tags={"end_user_id": "u1", "organization_id": "o1"},
        connection_id="conn-1",
        limit=2000,
        page=3,
    ),
    "list_connections_server_limit": lambda api: api.list_connections(limit=None),
    "iter_connection_pages": lambda api: next(iter(api.iter_connection_pages(page_size=500)), []),
    "list_all_connections": lambda api: api.list_all_connections(tags={"project": "p1"}),
    "get_connection": lambda api: api.get_connection(*CONNECTION),
    "find_connection": lambda api: _find_connection(api),
    "get_connection_refresh": lambda api: api.get_connection(
        *CONNECTION, force_refresh=True, refresh_token=True
    ),
    "patch_connection_tags": lambda api: api.patch_connection(*CONNECTION, tags={"end_user_id": "u1"}),
    "patch_connection_webhook": lambda api: api.patch_connection(
        *CONNECTION, webhook_url_override="https://hooks.example.com/nango"
    ),
    "patch_connection_clear_webhook": lambda api: api.patch_connection(*CONNECTION, webhook_url_override=""),
    "delete_connection": lambda api: api.delete_connection(*CONNECTION),
    "set_metadata": lambda api: api.set_metadata("conn-1", "github", {"plan": "pro"}),
    "set_metadata_many": lambda api: api.set_metadata(["conn-1", "conn-2"], "github", {"plan": "pro"}),
    "update_metadata": lambda api: api.update_metadata("conn-1", "github", {"seats": 3}),
    "update_metadata_many": lambda api: api.update_metadata(("conn-1", "conn-2"), "github", {"seats": 3}),
    "create_connect_session_tags": lambda api: api.create_connect_session(
        tags={"end_user_id": "u1", "end_user_email": "ann@example.com"},
        allowed_integrations=["github"],
        integrations_config_defaults={"github": {"connection_config": {"oauth_scopes_override": "repo"}}},
        overrides={"github": {"docs_connect": "https://docs.example.com"}},
        webhook_url_override="https://hooks.example.com/nango",
    ),
    "create_connect_session_end_user": lambda api: api.create_connect_session(
        end_user={"id": "u1", "email": "ann@example.com", "display_name": "Ann"},
        organization={"id": "o1", "display_name": "Acme"},
    ),
    "create_reconnect_session": lambda api: api.create_reconnect_session(
        *CONNECTION, tags={"end_user_id": "u1"}, webhook_url_override="https://hooks.example.com/nango"
    ),
    "create_reconnect_session_end_user": lambda api: api.create_reconnect_session(
        *CONNECTION, end_user={"id": "u1"}, organization={"id": "o1"}
    ),
    "get_connect_session": lambda api: api.get_connect_session(SESSION_TOKEN),
    "delete_connect_session": lambda api: api.delete_connect_session(SESSION_TOKEN),
    "list_integrations": lambda api: api.list_integrations(),
    "sync_status": lambda api: api.sync_status("github", "conn-1"),
    "sync_status_named": lambda api: api.sync_status("github", "conn-1", ["issues", "pulls"]),
    "sync_status_all_connections": lambda api: api.sync_status("github", None),
    "trigger_sync": lambda api: api.trigger_sync("github", "conn-1", ["issues"]),
    "trigger_sync_full_refresh": lambda api: api.trigger_sync(
        "github", "conn-1", ["issues"], sync_mode="full_refresh"
    ),
    "rotate_webhook_signing_key": lambda api: api.rotate_webhook_signing_key(),
}


def test_every_client_method_is_covered():
    from nango_desktop.services.api import NangoClient

    public = {
        name
        for name in vars(NangoClient)
        if not name.startswith("_") and callable(getattr(NangoClient, name)) and name != "close"
    }
    covered = {name for name in public if any(call == name or call.startswith(name + "_") for call in CALLS)}
    assert public - covered == set(), "add the new client methods to CALLS"


@pytest.mark.parametrize("name", list(CALLS))
def test_client_call_is_accepted_by_the_spec(prism, client, name):
    mark = len(prism.output)
    try:
        result = CALLS[name](client)
    except Exception as exc:
        sent = "\n".join(
            f"{req.method} {req.url} {req.content.decode(errors='replace')} -> {resp.status_code} {resp.text[:500]}"
            for req, resp in client.transport.exchanges
        )
        pytest.fail(f"{name} failed against the spec mock: {exc!r}\n{sent}\nprism:\n{prism.log_since(mark)}")
    assert client.transport.exchanges, "no HTTP request was sent"
    for request, response in client.transport.exchanges:
        assert response.status_code < 400, (request.method, request.url, response.text)
        violations = response.headers.get("sl-violations")
        assert violations is None, f"{request.method} {request.url}: {violations}"
    _check_result(name, result)


def _check_result(name: str, result: Any) -> None:
    from pydantic import SecretStr

    from nango_desktop.domain.models import (
        Connection,
        ConnectionFull,
        ConnectSession,
        Integration,
        SyncStatus,
    )

    if name.startswith(("list_connections", "list_all", "iter_connection")):
        assert isinstance(result, list) and all(isinstance(c, Connection) for c in result)
        assert result, "the mock returns one example connection"
    elif name.startswith("get_connection"):
        assert isinstance(result, ConnectionFull) and result.connection_id
    elif name.startswith("create_"):
        assert isinstance(result, ConnectSession)
        assert isinstance(result.token, SecretStr) and result.expires_at is not None
    elif name == "list_integrations":
        assert result and all(isinstance(i, Integration) for i in result)
    elif name.startswith("sync_status"):
        assert all(isinstance(s, SyncStatus) for s in result)
    elif name == "rotate_webhook_signing_key":
        assert isinstance(result, SecretStr) and result.get_secret_value()
    elif name == "get_connect_session":
        assert result is not None


def test_prism_rejects_a_request_that_breaks_the_spec(prism):
    """The guard itself works: a request breaking the spec gets an error and a violation report."""
    response = httpx.get(f"{prism.url}/connections/conn-1", headers={"Authorization": "Bearer k"})
    assert response.status_code == 400
    assert "provider_config_key" in response.headers["sl-violations"]
    unauthenticated = httpx.get(f"{prism.url}/integrations")
    assert unauthenticated.status_code == 401
