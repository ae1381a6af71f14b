"""`records`, `syncs`, `action` and `proxy` commands against FakeNango (in-process CLI, real HTTP)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from nango_desktop import cli
from tests.nango_server import FakeNango

CID, INT = "conn-1", "github"
CONN = ("--connection", CID, "--integration", INT)


@pytest.fixture
def server(monkeypatch):
    with FakeNango(connections=4, integrations=("github", "slack")) as fake:
        fake.add_connection(INT, CID)
        monkeypatch.setenv("NANGO_SECRET_KEY", fake.secret_key)
        yield fake


@pytest.fixture
def run(capsys, server):
    def _run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        code = cli.main(
            ["--api-url", server.url, *argv], stdin=io.StringIO(stdin) if stdin is not None else None
        )
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def test_records_list_streams_every_page_as_jsonl(server, run):
    records = server.workbench.generate_records(INT, CID, "Issue", 2500)
    code, out, err = run(
        "records", "list", *CONN, "--model", "Issue", "--format", "jsonl", "--page-size", "1000"
    )
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [r["id"] for r in records]
    assert len(server.requests_to("/records", "GET")) == 3


def test_records_list_json_csv_and_table(server, run):
    records = server.workbench.generate_records(INT, CID, "Issue", 40)
    code, out, _ = run("records", "list", *CONN, "--model", "Issue", "--format", "json")
    assert code == 0 and json.loads(out) == records
    code, out, _ = run("records", "list", *CONN, "--model", "Issue", "--format", "csv", "--filter", "updated")
    rows = list(csv.DictReader(io.StringIO(out)))
    updated = [r for r in records if r["_nango_metadata"]["last_action"] == "UPDATED"]
    assert [r["id"] for r in rows] == [r["id"] for r in updated]
    assert json.loads(rows[0]["assignee"]) == updated[0]["assignee"]  # nested values as JSON
    assert rows[0]["_nango_metadata.last_action"] == "UPDATED"
    assert server.requests_to("/records", "GET")[-1].param("filter") == "updated"
    code, out, _ = run("records", "list", *CONN, "--model", "Issue")
    assert code == 0 and "LAST ACTION" in out and out.rstrip().endswith("40 record(s)")


def test_records_list_modified_after_is_checked_and_sent(server, run):
    code, _, err = run("records", "list", *CONN, "--model", "Issue", "--modified-after", "yesterday")
    assert code == 2 and "ISO 8601" in err
    server.workbench.generate_records(INT, CID, "Issue", 3)
    code, _, err = run(
        "records", "list", *CONN, "--model", "Issue", "--modified-after", "2026-01-01T00:00:00Z"
    )
    assert code == 0, err
    assert server.requests_to("/records", "GET")[-1].param("modified_after") == "2026-01-01T00:00:00Z"


def test_records_of_an_unknown_connection_fail_cleanly(run):
    code, out, err = run("records", "list", "--connection", "nope", "--integration", INT, "--model", "Issue")
    assert code == 1 and out == "" and err.startswith("Error: ")


def test_syncs_list_trigger_pause_start_frequency(server, run):
    code, out, _ = run("syncs", "list", *CONN)
    assert code == 0 and "github-issues" in out and "every hour" in out
    code, out, _ = run("syncs", "trigger", *CONN, "--full", "github-issues")
    assert code == 0 and server.triggered[-1]["sync_mode"] == "full_refresh"
    code, _, _ = run("syncs", "pause", *CONN, "github-issues")
    assert code == 0 and server.workbench.paused[-1]["syncs"] == ["github-issues"]
    code, out, _ = run("syncs", "list", *CONN, "--json")
    assert {s["name"]: s["status"] for s in json.loads(out)}["github-issues"] == "PAUSED"
    code, _, _ = run("syncs", "start", *CONN)
    assert code == 0 and server.workbench.started[-1]["syncs"] == []
    code, out, _ = run("syncs", "frequency", *CONN, "github-issues", "every 2 hours")
    assert code == 0 and "every 2 hours" in out
    code, out, _ = run("syncs", "frequency", *CONN, "github-issues", "--default")
    assert code == 0 and "every hour" in out
    code, _, err = run("syncs", "frequency", *CONN, "github-issues")
    assert code == 2 and "--default" in err


def _add_production_profile(server: FakeNango) -> None:
    code = cli.main(
        ["profile", "add", "prod", "--url", server.url, "--production"],
        stdin=io.StringIO(server.secret_key + "\n"),
    )
    assert code == 0


def test_production_profile_needs_yes_for_sync_changes(server, run, memory_keyring):
    _add_production_profile(server)
    assert cli.main(["--profile", "prod", "syncs", "pause", *CONN]) == 2
    assert server.workbench.paused == []
    assert cli.main(["--profile", "prod", "syncs", "pause", *CONN, "--yes"]) == 0
    assert len(server.workbench.paused) == 1


def test_action_run_from_stdin_file_and_failure(server, run, tmp_path):
    code, out, err = run(
        "action", "run", "create-issue", *CONN, "--input", "-", stdin='{"owner":"o","repo":"r","title":"t"}'
    )
    assert code == 0, err
    assert json.loads(out)["title"] == "t"
    path = tmp_path / "in.json"
    path.write_text('{"message": "hello"}', encoding="utf-8")
    code, out, _ = run(
        "action", "run", "echo", *CONN, "--input", str(path), "--async", "--poll-interval", "0"
    )
    assert code == 0 and json.loads(out)["echo"] == {"message": "hello"}
    code, out, err = run("action", "run", "always-fails", *CONN)
    assert code == 1 and out == ""
    assert "action_script_failure" in err and "Failed to fetch the repository" in err


def test_action_input_is_validated_locally(server, run):
    code, _, err = run("action", "run", "create-issue", *CONN, "--input", "-", stdin='{"owner": "o"}')
    assert code == 2 and "$.repo: required property missing" in err
    assert server.workbench.action_runs == []  # nothing was sent
    code, _, err = run("action", "run", "create-issue", *CONN, "--input", "-", stdin="{nope")
    assert code == 2 and "not valid JSON" in err


def test_proxy_body_on_stdout_and_exit_1_on_provider_errors(server, run):
    code, out, err = run("proxy", "GET", "/user", *CONN, "-H", "Accept: application/json")
    assert code == 0 and json.loads(out)["login"] == "octocat" and err == ""
    assert server.workbench.provider.requests[-1]["headers"]["accept"] == "application/json"
    code, out, err = run("proxy", "GET", "/status/404", *CONN)
    assert code == 1 and json.loads(out) == {"message": "Status 404"}
    assert "HTTP 404 from the external API" in err
    code, out, err = run("proxy", "POST", "/echo", *CONN, "--data", '{"a": 1}', "-q", "x=1")
    assert (
        code == 0
        and json.loads(json.loads(out)["body"]) == {"a": 1}
        and json.loads(out)["query"] == {"x": ["1"]}
    )
    code, _, err = run("proxy", "GET", "/user", "--connection", "nope", "--integration", INT)
    assert code == 1 and "from Nango (unknown_connection)" in err


def test_proxy_write_on_production_needs_yes(server, run, memory_keyring):
    _add_production_profile(server)
    assert cli.main(["--profile", "prod", "proxy", "DELETE", "/echo", *CONN]) == 2
    assert cli.main(["--profile", "prod", "proxy", "GET", "/user", *CONN]) == 0
    assert cli.main(["--profile", "prod", "proxy", "DELETE", "/echo", *CONN, "--yes"]) == 0
    assert [r["method"] for r in server.workbench.provider.requests] == ["GET", "DELETE"]
