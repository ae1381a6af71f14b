"""Workbench (records, sync control, actions, proxy, integrations) against FakeNango over real HTTP, and its
error paths with httpx.MockTransport."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from nango_desktop.domain.workbench import ProxyRequest, SyncRef
from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import CancelledError, MalformedResponseError, NotFoundError
from nango_desktop.services.workbench import Workbench
from tests.nango_server import FakeNango

CID, INT = "conn-1", "github"


@pytest.fixture
def server():
    with FakeNango(connections=6, integrations=("github", "slack")) as fake:
        fake.add_connection(INT, CID)
        yield fake


@pytest.fixture
def wb(server):
    with NangoClient(server.url, server.secret_key, max_retries=2, sleep=lambda s: None) as client:
        yield Workbench(client, sleep=lambda s: None)


# -- records -------------------------------------------------------------------------------------------------


def test_iter_records_follows_the_cursor_to_the_end(server, wb):
    records = server.workbench.generate_records(INT, CID, "Issue", 2345)
    pages = list(wb.iter_records(CID, INT, "Issue", page_size=1000))
    assert [len(p.records) for p in pages] == [1000, 1000, 345]
    assert [r["id"] for p in pages for r in p.records] == [r["id"] for r in records]
    sent = server.requests_to("/records", "GET")
    assert [r.param("cursor") is None for r in sent] == [True, False, False]
    assert {r.headers["connection-id"] for r in sent} == {CID}
    assert {r.headers["provider-config-key"] for r in sent} == {INT}
    assert pages[-1].next_cursor is None


def test_record_filters_are_sent_and_applied(server, wb):
    records = server.workbench.generate_records(INT, CID, "Issue", 300)
    deleted = [r["id"] for r in records if r["_nango_metadata"]["last_action"] == "DELETED"]
    got = [
        r["id"] for p in wb.iter_records(CID, INT, "Issue", page_size=7, filter="deleted") for r in p.records
    ]
    assert got == deleted and deleted
    middle = records[150]["_nango_metadata"]["last_modified_at"]
    after = [r for p in wb.iter_records(CID, INT, "Issue", modified_after=middle) for r in p.records]
    assert [r["id"] for r in after] == [r["id"] for r in records[151:]]
    picked = wb.records_page(CID, INT, "Issue", ids=["issue-000003", "issue-000010"])
    assert [r["id"] for r in picked.records] == ["issue-000003", "issue-000010"]
    server.workbench.generate_records(INT, CID, "Issue", 5, variant="v2")
    assert len(wb.records_page(CID, INT, "Issue", variant="v2").records) == 5
    sent = server.requests_to("/records", "GET")[-1]
    assert sent.param("variant") == "v2"


def test_records_arguments_are_checked_before_sending(wb):
    with pytest.raises(ValueError, match="filter"):
        wb.records_page(CID, INT, "Issue", filter="removed")
    with pytest.raises(ValueError, match="limit"):
        wb.records_page(CID, INT, "Issue", limit=0)
    with pytest.raises(ValueError, match="100 ids"):
        wb.records_page(CID, INT, "Issue", ids=[str(i) for i in range(101)])


def test_records_of_an_unknown_connection_is_a_clear_error(wb):
    with pytest.raises(NotFoundError) as info:
        wb.records_page("nope", INT, "Issue")
    assert "unknown_connection" in info.value.detail


def test_iter_records_cancel_between_pages(server, wb):
    server.workbench.generate_records(INT, CID, "Issue", 500)
    cancel = threading.Event()
    got = []
    with pytest.raises(CancelledError):
        for page in wb.iter_records(CID, INT, "Issue", page_size=100, cancel=cancel):
            got.append(page)
            cancel.set()
    assert len(got) == 1
    assert len(server.requests_to("/records", "GET")) == 1


def test_a_repeated_cursor_stops_the_load():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"records": [{"id": "a"}], "next_cursor": "same"})

    with NangoClient("http://nango.test", "k", transport=httpx.MockTransport(handler)) as client:
        pages = Workbench(client).iter_records(CID, INT, "Issue")
        with pytest.raises(MalformedResponseError, match="repeated"):
            list(pages)


# -- sync control --------------------------------------------------------------------------------------------


def test_pause_start_trigger_and_frequency_change_the_state(server, wb):
    names = [s.name for s in wb.sync_status(INT, CID)]
    wb.pause_syncs(INT, CID, [names[0]])
    assert {s.name: s.status for s in wb.sync_status(INT, CID)}[names[0]] == "PAUSED"
    wb.start_syncs(INT, CID, [names[0]])
    assert {s.name: s.status for s in wb.sync_status(INT, CID)}[names[0]] == "RUNNING"
    wb.trigger_syncs(INT, CID, [names[1]], sync_mode="full_refresh")
    assert server.triggered[-1] == {
        "provider_config_key": INT, "connection_id": CID, "syncs": [names[1]], "sync_mode": "full_refresh"
    }  # fmt: skip
    assert wb.update_frequency(INT, CID, names[0], "every 2 hours") == "every 2 hours"
    assert {s.name: s.frequency for s in wb.sync_status(INT, CID)}[names[0]] == "every 2 hours"
    assert wb.update_frequency(INT, CID, names[0], None) == "every hour"  # back to the default
    assert server.workbench.frequency_updates[-1]["frequency"] is None


def test_variants_are_sent_as_objects_for_every_sync(server, wb):
    wb.pause_syncs(INT, CID, ["github-users", SyncRef("github-issues", "v2")])
    assert server.workbench.paused[-1]["syncs"] == [
        {"name": "github-users"},
        {"name": "github-issues", "variant": "v2"},
    ]


def test_too_short_a_frequency_is_refused(wb):
    from nango_desktop.services.errors import BadRequestError

    with pytest.raises(BadRequestError, match="minimum interval"):
        wb.update_frequency(INT, CID, "github-issues", "every 10 seconds")


# -- actions ---------------------------------------------------------------------------------------------


def test_scripts_config_gives_models_and_action_schemas(wb):
    scripts = wb.integration_scripts(INT)
    assert [s.model_names for s in scripts.syncs] == [["Issue"], ["User"]]
    action = next(a for a in scripts.actions if a.name == "create-issue")
    assert action.input_schema()["required"] == ["owner", "repo", "title"]
    assert next(a for a in scripts.actions if a.name == "always-fails").input_schema() is None


def test_sync_action_result_and_errors(server, wb):
    ok = wb.run_action(CID, INT, "create-issue", {"owner": "o", "repo": "r", "title": "Bug"})
    assert ok.ok and ok.result["title"] == "Bug" and ok.status == 200
    body = server.workbench.action_runs[-1]
    assert body["body"] == {
        "action_name": "create-issue",
        "input": {"owner": "o", "repo": "r", "title": "Bug"},
    }
    assert body["headers"]["connection-id"] == CID and "x-async" not in body["headers"]
    failed = wb.run_action(CID, INT, "always-fails")
    assert not failed.ok and failed.status == 500 and failed.error_code == "action_script_failure"
    assert failed.error_payload == {"error": "Request failed with status code 404"}
    upstream = wb.run_action(CID, INT, "forbidden-upstream")
    assert upstream.status == 424 and upstream.error_payload["status"] == 403
    invalid = wb.run_action(CID, INT, "create-issue", {"owner": "o"})
    assert not invalid.ok and invalid.error_code == "invalid_action_input"
    assert "repo" in invalid.error_detail


def test_async_action_is_polled_until_done(server, wb):
    server.workbench.async_polls = 3
    polls = []
    outcome = wb.run_action(
        CID, INT, "echo", {"message": "hi"}, run_async=True, max_retries=2, on_poll=polls.append
    )
    assert outcome.ok and outcome.result == {"echo": {"message": "hi"}, "connection_id": CID}
    assert polls == [1, 2, 3, 4] and outcome.async_id
    headers = server.workbench.action_runs[-1]["headers"]
    assert headers["x-async"] == "true" and headers["x-max-retries"] == "2"
    failed = wb.run_action(CID, INT, "always-fails", run_async=True)
    assert not failed.ok and failed.error_code == "action_script_failure"


def test_async_action_cancel_and_timeout(server, wb):
    from nango_desktop.services.errors import ApiTimeoutError

    server.workbench.async_polls = 10**6
    with pytest.raises(ApiTimeoutError):
        wb.run_action(CID, INT, "echo", {"message": "x"}, run_async=True, poll_interval=1.0, timeout=3.0)
    cancel = threading.Event()
    with pytest.raises(CancelledError):
        wb.run_action(
            CID, INT, "echo", {"message": "x"}, run_async=True, cancel=cancel, on_poll=lambda n: cancel.set()
        )


# -- proxy -----------------------------------------------------------------------------------------------------


def test_proxy_get_reaches_the_provider_as_the_connection(server, wb):
    response = wb.proxy(
        ProxyRequest(
            "GET",
            "/echo/repos",
            CID,
            INT,
            query=[("per_page", "5"), ("q", "a b")],
            headers=[("Accept", "application/vnd.github+json")],
        )
    )
    assert response.status == 200 and response.nango_error is None
    seen = json.loads(response.content)
    assert seen["path"] == "/echo/repos" and seen["query"] == {"per_page": ["5"], "q": ["a b"]}
    assert seen["headers"]["accept"] == "application/vnd.github+json"
    provider_saw = server.workbench.provider.requests[-1]["headers"]
    assert provider_saw["authorization"].startswith("Bearer ")
    assert server.secret_key not in json.dumps(server.workbench.provider.requests)


def test_proxy_post_body_and_provider_errors_pass_through(server, wb):
    echoed = wb.proxy(ProxyRequest("POST", "/echo", CID, INT, body='{"title": "x"}'))
    assert json.loads(json.loads(echoed.content)["body"]) == {"title": "x"}
    failed = wb.proxy(ProxyRequest("DELETE", "/status/404", CID, INT))
    assert failed.status == 404 and not failed.ok and failed.nango_error is None
    assert json.loads(failed.content) == {"message": "Status 404"}
    refused = wb.proxy(ProxyRequest("GET", "/user", "nope", INT))
    assert refused.status == 400 and refused.nango_error == "unknown_connection"


def test_proxy_retries_and_base_url_override(server, wb):
    server.workbench.provider.flaky_failures = 2
    assert wb.proxy(ProxyRequest("GET", "/flaky", CID, INT, retries=2)).status == 200
    server.workbench.provider.flaky_failures = 2
    assert wb.proxy(ProxyRequest("GET", "/flaky", CID, INT, retries=1)).status == 503
    base = server.workbench.provider.url + "/echo"
    seen = json.loads(wb.proxy(ProxyRequest("GET", "/v2/x", CID, INT, base_url_override=base)).content)
    assert seen["path"] == "/echo/v2/x"


def test_proxy_waits_out_nangos_own_429(server, wb):
    server.fail_next(429, path_prefix="/proxy/", body={"error": {"code": "too_many_request"}})
    assert wb.proxy(ProxyRequest("GET", "/user", CID, INT)).status == 200
    assert len(server.requests_to("/proxy/user", "GET")) == 2


def test_proxy_does_not_retry_a_providers_5xx_itself(server, wb):
    server.workbench.provider.flaky_failures = 1
    assert wb.proxy(ProxyRequest("POST", "/flaky", CID, INT, body="{}")).status == 503
    assert len(server.requests_to("/proxy/flaky", "POST")) == 1


# -- integrations ----------------------------------------------------------------------------------------


def test_integration_detail_functions_and_provider(wb):
    detail = wb.get_integration("github")
    assert detail.unique_key == "github" and detail.webhook_url
    functions = wb.integration_functions("github")
    assert {f.type for f in functions} == {"sync", "action"}
    assert "create-issue" in {f.name for f in functions}
    assert wb.provider("github").auth_mode == "OAUTH2"
    with pytest.raises(NotFoundError):
        wb.get_integration("nope")
