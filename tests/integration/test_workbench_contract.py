"""The workbench endpoints against the official spec: every Workbench call against Prism (``prism mock
--errors`` rejects a request that breaks the spec) and the same calls against FakeNango, whose requests and
responses are validated against the spec (with the deviations of the real server named below)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from nango_desktop.domain.models import Integration, SyncStatus
from nango_desktop.domain.workbench import (
    ActionOutcome,
    IntegrationFull,
    IntegrationScripts,
    Provider,
    ProxyRequest,
    ProxyResponse,
    RecordsPage,
    ScriptFunction,
    SyncRef,
)
from nango_desktop.services.workbench import Workbench
from tests.integration.test_contract_prism import RecordingTransport, prism  # noqa: F401 - fixture

CONN = ("conn-1", "github")
ANY_QUERY = [("$ANY_QUERY_PARAMS", "x")]
# The spec's own example for a synchronous action result ("your-properties": a string) breaks its oneOf: the
# mock's response violates the spec, the request does not.
MOCK_RESPONSE_VIOLATIONS = {"/action/trigger"}

CALLS: dict[str, Callable[[Workbench], Any]] = {
    "records_page": lambda wb: wb.records_page(*CONN, "Issue"),
    "records_page_filtered": lambda wb: wb.records_page(
        *CONN,
        "Issue",
        cursor="MjAyNi0wMS0wMVQwMDowMTowOS4wMDBafHxpc3N1ZS0wMDAwMDE=",
        limit=500,
        filter="deleted",
        modified_after="2026-01-01T00:00:00.000Z",
        ids=["issue-000001", "issue-000002"],
        variant="v2",
    ),
    "iter_records": lambda wb: next(iter(wb.iter_records(*CONN, "Issue", page_size=50))),
    "sync_status": lambda wb: wb.sync_status("github", "conn-1"),
    "trigger_syncs": lambda wb: wb.trigger_syncs("github", "conn-1", ["github-issues"]),
    "trigger_syncs_full_variant": lambda wb: wb.trigger_syncs(
        "github", "conn-1", [SyncRef("github-issues", "v2")], sync_mode="full_refresh"
    ),
    "pause_syncs": lambda wb: wb.pause_syncs("github", "conn-1", ["github-issues"]),
    "start_syncs": lambda wb: wb.start_syncs("github", "conn-1", ["github-issues", "github-users::v2"]),
    "update_frequency": lambda wb: wb.update_frequency("github", "conn-1", "github-issues", "every 2 hours"),
    "update_frequency_default": lambda wb: wb.update_frequency("github", "conn-1", "github-issues::v2", None),
    "scripts_config": lambda wb: wb.scripts_config(),
    "integration_scripts": lambda wb: wb.integration_scripts("github"),
    "trigger_action": lambda wb: wb.trigger_action(*CONN, "echo", {"message": "hi"}),
    "trigger_action_async": lambda wb: wb.trigger_action(
        *CONN, "echo", {"message": "hi"}, run_async=True, max_retries=2
    ),
    "action_result": lambda wb: wb.action_result("35f461d4-e681-4957-ab14-c0ae1609431d"),
    "run_action": lambda wb: wb.run_action(*CONN, "echo", {"message": "hi"}),
    # The spec's /proxy/{anyPath} matches one path segment, and GET/DELETE declare a REQUIRED query parameter
    # literally named "$ANY_QUERY_PARAMS" (a placeholder for "any"): the Prism calls satisfy both.
    "proxy_get": lambda wb: wb.proxy(
        ProxyRequest("GET", "/user", *CONN, query=ANY_QUERY + [("per_page", "5")])
    ),
    "proxy_post": lambda wb: wb.proxy(
        ProxyRequest(
            "POST", "/echo", *CONN, headers=[("Accept", "application/json")], body='{"a": 1}', retries=2
        )
    ),
    "proxy_put": lambda wb: wb.proxy(ProxyRequest("PUT", "/echo", *CONN, body="{}")),
    "proxy_patch": lambda wb: wb.proxy(ProxyRequest("PATCH", "/echo", *CONN, body="{}")),
    "proxy_delete": lambda wb: wb.proxy(
        ProxyRequest("DELETE", "/echo", *CONN, query=ANY_QUERY + [("force", "1")])
    ),
    "list_integrations": lambda wb: wb.list_integrations(),
    "get_integration": lambda wb: wb.get_integration("github"),
    "integration_functions": lambda wb: wb.integration_functions("github"),
    "provider": lambda wb: wb.provider("github"),
}
RESULT_TYPES: dict[str, Any] = {
    "records_page": RecordsPage,
    "iter_records": RecordsPage,
    "sync_status": list,
    "scripts_config": list,
    "integration_scripts": IntegrationScripts,
    "trigger_action": ActionOutcome,
    "run_action": ActionOutcome,
    "proxy": ProxyResponse,
    "list_integrations": list,
    "get_integration": IntegrationFull,
    "integration_functions": list,
    "provider": Provider,
}


def test_every_workbench_method_is_covered():
    public = {n for n in vars(Workbench) if not n.startswith("_") and callable(getattr(Workbench, n))}
    covered = {n for n in public if any(c == n or c.startswith(n + "_") for c in CALLS)}
    assert public - covered == set(), "add the new Workbench methods to CALLS"


def _check(name: str, result: Any) -> None:
    kind = next((t for prefix, t in RESULT_TYPES.items() if name.startswith(prefix)), None)
    if kind is not None:
        assert isinstance(result, kind), (name, type(result))
    if name == "sync_status":
        assert all(isinstance(s, SyncStatus) for s in result)
    if name == "list_integrations":
        assert all(isinstance(i, Integration) for i in result)
    if name == "integration_functions":
        assert all(isinstance(f, ScriptFunction) for f in result)
    if name.startswith(("trigger_action", "run_action")):
        assert result.ok, result


@pytest.mark.parametrize("name", list(CALLS))
def test_workbench_call_is_accepted_by_the_spec(prism, name):  # noqa: F811
    from nango_desktop.services.api import NangoClient

    transport = RecordingTransport()
    with NangoClient(prism.url, "contract-test-key", max_retries=0, transport=transport, timeout=10) as api:
        mark = len(prism.output)
        try:
            result = CALLS[name](Workbench(api, sleep=lambda s: None))
        except Exception as exc:
            sent = "\n".join(
                f"{q.method} {q.url} {q.content.decode(errors='replace')} -> {r.status_code} {r.text[:300]}"
                for q, r in transport.exchanges
            )
            pytest.fail(f"{name}: {exc!r}\n{sent}\nprism:\n{prism.log_since(mark)}")
    assert transport.exchanges
    for request, response in transport.exchanges:
        violations = json.loads(response.headers.get("sl-violations") or "[]")
        mock_broken = request.url.path in MOCK_RESPONSE_VIOLATIONS
        if mock_broken:  # prism --errors answers 500 with the violations of its own response
            violations = json.loads(response.headers.get("sl-violations") or "[]") or response.json().get(
                "validation", []
            )
            violations = [v for v in violations if v["location"][0] != "response"]
        assert not violations, f"{request.method} {request.url}: {violations}"
        if not mock_broken:
            assert response.status_code < 400, (request.method, request.url, response.text)
    if not any(urlsplit(str(r.url)).path in MOCK_RESPONSE_VIOLATIONS for r, _ in transport.exchanges):
        _check(name, result)
