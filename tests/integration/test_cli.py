"""The CLI against FakeNango (real HTTP on 127.0.0.1): output formats, all pages, filters, errors, profiles."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from nango_desktop import __version__, cli
from nango_desktop.cli.connections import LIST_CONCURRENCY
from nango_desktop.services.secrets import SERVICE
from nango_desktop.settings import load_settings, settings_path
from tests.nango_server import FakeNango

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(capsys):
    """cli.main in-process; returns (exit code, stdout, stderr)."""

    def _run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        code = cli.main(list(argv), stdin=io.StringIO(stdin) if stdin is not None else None)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def adhoc(nango_server, monkeypatch):
    """Global options for an ad-hoc profile on the fake server (key from NANGO_SECRET_KEY)."""
    monkeypatch.setenv("NANGO_SECRET_KEY", nango_server.secret_key)
    return ("--api-url", nango_server.url)


def _server_rows(server: FakeNango, keep=lambda c: True) -> list[str]:
    """The server's connections in API order (newest first, then highest id)."""
    rows = sorted(server.connections, key=lambda c: (c["created"], c["id"]), reverse=True)
    return [c["connection_id"] for c in rows if keep(c)]


def test_version_in_a_subprocess():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "nango_desktop", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"nango-desktop {__version__}"
    assert proc.stderr == ""


def test_lists_all_25000_connections_as_valid_json(run, monkeypatch):
    with FakeNango(connections=25_000) as server:
        monkeypatch.setenv("NANGO_SECRET_KEY", server.secret_key)
        code, out, err = run("--api-url", server.url, "connections", "list", "--format", "json")
        pages = server.requests_to("/connections", "GET")
        expected = {c["connection_id"] for c in server.connections}
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 25_000
    assert {r["connection_id"] for r in rows} == expected
    # 25 full pages of 1000, then an empty one ends the listing; pages are requested a few ahead
    # (LIST_CONCURRENCY), so at most that many requests past the end, each page once.
    numbers = sorted(int(p.param("page") or 0) for p in pages)
    assert numbers[:26] == list(range(26))
    assert len(numbers) == len(set(numbers)) <= 25 + LIST_CONCURRENCY
    assert {p.param("limit") for p in pages} == {"1000"}


def test_json_of_an_empty_result_is_valid(run, adhoc):
    code, out, _ = run(*adhoc, "connections", "list", "--format", "json", "--search", "no-such-customer-xyz")
    assert code == 0
    assert json.loads(out) == []


def test_csv_lists_every_connection_with_customer_columns(run, adhoc, nango_server):
    code, out, err = run(*adhoc, "connections", "list", "--format", "csv", "--page-size", "7")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["connection_id"] for r in rows] == _server_rows(nango_server)
    assert list(rows[0]) == list(cli.CSV_COLUMNS)
    tagged = next(c for c in nango_server.connections if c["tags"].get("end_user_email"))
    row = next(r for r in rows if r["connection_id"] == tagged["connection_id"])
    assert row["email"] == tagged["tags"]["end_user_email"]
    assert json.loads(row["tags"]) == tagged["tags"]


def test_table_is_aligned(run, adhoc, nango_server):
    code, out, _ = run(*adhoc, "connections", "list")
    assert code == 0
    lines = out.splitlines()
    header, body, footer = lines[0], lines[1:-2], lines[-1]
    assert footer == f"{len(nango_server.connections)} connection(s)"
    assert len(body) == len(nango_server.connections)
    starts = [header.index(col) for col in cli.TABLE_COLUMNS]
    for line in body:
        for start in starts[1:]:
            assert line[start - 2 : start] == "  "  # every column begins where its header does
        assert line.split()[0] in _server_rows(nango_server)


def test_filters_integration_tag_errors_search(run, adhoc, nango_server):
    integration = nango_server.connections[0]["provider_config_key"]
    code, out, _ = run(*adhoc, "connections", "list", "--format", "json", "--integration", integration)
    assert code == 0
    assert [r["connection_id"] for r in json.loads(out)] == _server_rows(
        nango_server, lambda c: c["provider_config_key"] == integration
    )

    org = next(
        c["tags"]["organization_id"] for c in nango_server.connections if c["tags"].get("organization_id")
    )
    code, out, _ = run(*adhoc, "connections", "list", "--format", "json", "--tag", f"organization_id={org}")
    ids = [r["connection_id"] for r in json.loads(out)]
    assert ids and ids == _server_rows(nango_server, lambda c: c["tags"].get("organization_id") == org)
    assert nango_server.requests[-1].param("tags[organization_id]") == org

    code, out, _ = run(*adhoc, "connections", "list", "--format", "json", "--errors")
    errored = json.loads(out)
    assert errored and all(r["errors"] for r in errored)
    assert len(errored) == len(_server_rows(nango_server, lambda c: c["errors"]))
    code, out, _ = run(*adhoc, "connections", "list", "--format", "json", "--errors", "auth")
    assert all(any(e["type"] == "auth" for e in r["errors"]) for r in json.loads(out))

    target = nango_server.connections[3]["connection_id"]
    code, out, _ = run(*adhoc, "connections", "list", "--format", "json", "--search", target)
    assert target in [r["connection_id"] for r in json.loads(out)]
    assert nango_server.requests[-1].param("search") == target


def test_show_hides_credentials_unless_asked(run, adhoc, nango_server):
    conn = next(c for c in nango_server.connections if c["credentials"].get("access_token"))
    secret = conn["credentials"]["access_token"]
    args = (
        *adhoc,
        "connections",
        "show",
        conn["connection_id"],
        "--integration",
        conn["provider_config_key"],
    )
    code, out, _ = run(*args)
    assert code == 0
    assert conn["connection_id"] in out and secret not in out
    assert "--credentials" in out
    code, out, _ = run(*args, "--json")
    data = json.loads(out)
    assert data["connection_id"] == conn["connection_id"] and secret not in out
    code, out, _ = run(*args, "--json", "--credentials")
    assert json.loads(out)["credentials"]["access_token"] == secret


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (lambda s: s.revoke_key(), "Error: The API key was rejected"),
        (
            lambda s: s.fail_next(403, body={"error": {"code": "forbidden", "message": "missing scope"}}),
            "Error: The API key lacks",
        ),
        (lambda s: s.non_json_next(), "Error: The Nango server sent an unexpected response"),
    ],
    ids=["401", "403", "non-json"],
)
def test_api_errors_exit_1_with_the_message(run, adhoc, nango_server, fault, message):
    fault(nango_server)
    code, out, err = run(*adhoc, "connections", "list", "--format", "json")
    assert code == 1
    assert err.startswith(message)
    assert nango_server.secret_key not in err + out


def test_not_found_and_refresh_exhausted(run, adhoc, nango_server):
    code, _, err = run(*adhoc, "connections", "show", "nope", "--integration", "slack")
    assert code == 1 and err.startswith("Error: Not found")
    assert "connectionId" in err  # found (or not) through the list endpoint: no refreshing GET
    conn = nango_server.connections[0]
    nango_server.mark_refresh_exhausted(conn["connection_id"], conn["provider_config_key"])
    code, out, err = run(
        *adhoc,
        "connections",
        "show",
        conn["connection_id"],
        "--integration",
        conn["provider_config_key"],
        "--credentials",
    )
    # the connection is still shown (from the 424's payload) with what to do; exit 0 (issue 14)
    assert code == 0, err
    assert "refresh exhausted" in out and "reconnect link" in out


def test_unreachable_server(run, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    monkeypatch.setenv("NANGO_SECRET_KEY", "whatever-key")
    code, _, err = run("--api-url", f"http://127.0.0.1:{port}", "connections", "list")
    assert code == 1 and err.startswith("Error: Cannot reach the Nango server")


@pytest.mark.parametrize(
    "argv",
    [
        ["connections"],
        ["connections", "list", "--format", "xml"],
        ["connections", "list", "--page-size", "0"],
        ["connections", "list", "--page-size", "2001"],
        ["connections", "list", "--tag", "novalue"],
        ["connections", "show", "id-without-integration"],
        ["--api-url", "not-a-url", "connections", "list"],
        ["link", "new"],
        ["link", "new", "--end-user-id", "u1", "--email", "a@b.c"],
        ["link", "new", "--end-user-id", "u1", "--tag", "1bad=x"],
        ["profile", "add"],
        ["profile", "add", "bad/name"],
        ["profile", "add", "p", "--url", "ftp://x"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(run, adhoc, argv, nango_server):
    code, out, err = run(*argv)
    assert code == 2, (out, err)
    assert err
    assert not nango_server.requests_to("/connect/sessions")


def test_help_exits_0(run):
    code, out, _ = run("--help")
    assert code == 0 and "connections" in out and "link" in out and "profile" in out


def test_no_profile_and_unknown_profile(run, memory_keyring):
    code, _, err = run("connections", "list")
    assert code == 1 and err.startswith("Error: No profile is set up")
    code, _, err = run("--profile", "ghost", "connections", "list")
    assert code == 1 and "No profile named “ghost”" in err


def test_profile_add_reads_the_key_from_stdin_into_the_keyring(run, memory_keyring, nango_server):
    key = nango_server.secret_key
    code, out, err = run(
        "profile", "add", "fake", "--url", nango_server.url, "--environment", "test", stdin=key + "\n"
    )
    assert code == 0, err
    assert memory_keyring.store == {(SERVICE, "fake:api-key"): key}
    assert key not in settings_path().read_text()
    profile = load_settings().get("fake")
    assert profile.api_url == nango_server.url and profile.environment == "test"
    assert load_settings().current_profile == "fake"

    # The stored key is used without NANGO_SECRET_KEY.
    code, out, err = run("connections", "list", "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)) == len(nango_server.connections)

    code, out, _ = run("profile", "list", "--format", "json")
    assert json.loads(out) == [
        {
            "name": "fake",
            "current": True,
            "api_url": nango_server.url,
            "environment": "test",
            "production": False,
            "key": "stored",
        }
    ]
    code, _, err = run("profile", "add", "fake", stdin="other\n")
    assert code == 1 and "already exists" in err
    assert memory_keyring.store[(SERVICE, "fake:api-key")] == key

    for home_file in settings_path().parents[1].rglob("*"):
        if home_file.is_file():
            assert key.encode() not in home_file.read_bytes(), home_file


def test_profile_add_with_signing_key_use_remove(run, memory_keyring, nango_server):
    code, _, err = run("profile", "add", "a", "--url", nango_server.url, stdin="key-a\n")
    assert code == 0, err
    code, _, err = run(
        "profile", "add", "b", "--with-signing-key", "--production", stdin="key-b\nsigning-b\n"
    )
    assert code == 0, err
    assert memory_keyring.store[(SERVICE, "b:webhook-signing-key")] == "signing-b"
    assert load_settings().get("b").api_url == "https://api.nango.dev"
    assert load_settings().current_profile == "a"
    assert run("profile", "use", "b")[0] == 0
    assert load_settings().current_profile == "b"
    code, out, _ = run("profile", "list")
    assert out.splitlines()[2].startswith("*") and " b " in out.splitlines()[2]
    assert run("profile", "remove", "b")[0] == 0
    assert (SERVICE, "b:api-key") not in memory_keyring.store
    assert (SERVICE, "b:webhook-signing-key") not in memory_keyring.store
    assert load_settings().current_profile == "a"
    assert run("profile", "use", "b")[0] == 1
    assert run("profile", "remove", "b")[0] == 1


def test_profile_add_check_rejects_a_bad_key_and_saves_nothing(run, memory_keyring, nango_server):
    code, _, err = run("profile", "add", "bad", "--url", nango_server.url, "--check", stdin="wrong-key\n")
    assert code == 1 and err.startswith("Error: The API key was rejected")
    assert memory_keyring.store == {} and not settings_path().exists()
    code, _, err = run(
        "profile", "add", "good", "--url", nango_server.url, "--check", stdin=nango_server.secret_key + "\n"
    )
    assert code == 0, err


def test_profile_add_needs_a_key(run, memory_keyring):
    code, _, err = run("profile", "add", "p", stdin="\n")
    assert code == 2 and "No key given" in err
    code, _, err = run("profile", "add", "p", "--no-key")
    assert code == 0, err
    assert memory_keyring.store == {}


def test_profile_add_refused_without_a_secure_keyring(run, monkeypatch):
    import keyring
    from keyring.backends import null

    monkeypatch.setattr(keyring.core, "_keyring_backend", null.Keyring())
    code, _, err = run("profile", "add", "p", stdin="a-key-value\n")
    assert code == 1
    assert err.startswith("Error: No secure keyring is available")
    assert not settings_path().exists()


def test_named_profile_with_api_url_override(run, memory_keyring, nango_server):
    run("profile", "add", "p", "--url", "http://127.0.0.1:9", stdin=nango_server.secret_key + "\n")
    code, out, err = run(
        "--profile", "p", "--api-url", nango_server.url, "connections", "list", "--format", "csv"
    )
    assert code == 0, err
    assert load_settings().get("p").api_url == "http://127.0.0.1:9"  # the override is not saved


def test_api_url_alone_needs_the_env_key(run, memory_keyring, nango_server):
    run("profile", "add", "p", "--url", nango_server.url, stdin=nango_server.secret_key + "\n")
    code, _, err = run("--api-url", nango_server.url, "connections", "list")
    assert code == 1 and "NANGO_SECRET_KEY" in err  # a stored key is not sent to an arbitrary URL


def test_link_new_prints_link_and_expiry(run, adhoc, nango_server):
    code, out, err = run(
        *adhoc, "link", "new", "--end-user-id", "u42", "--email", "u42@example.com", "--display-name", "User 42",
        "--org", "org-1", "--org-name", "Org One", "--tag", "plan=pro", "--integration", "slack", "--integration", "github",
    )  # fmt: skip
    assert code == 0, err
    body = nango_server.requests_to("/connect/sessions", "POST")[-1].body
    assert body["tags"] == {
        "end_user_id": "u42",
        "end_user_email": "u42@example.com",
        "end_user_display_name": "User 42",
        "organization_id": "org-1",
        "organization_display_name": "Org One",
        "plan": "pro",
    }
    assert body["allowed_integrations"] == ["slack", "github"]
    link_line, expires_line = out.splitlines()[:2]
    link = link_line.split()[1]
    query = parse_qs(urlsplit(link).query)
    assert query["session_token"][0] in nango_server.sessions
    assert query["apiURL"] == [nango_server.url]  # self-hosted: the Connect UI must know the API
    assert expires_line.startswith("Expires:") and "UTC (in 30 min)" in expires_line
    # Recorded in the GUI's link history, without the session token (a bearer secret).
    from nango_desktop.store.links import LinkStore

    store = LinkStore()
    try:
        (record,) = store.list()
    finally:
        store.close()
    assert record.kind == "new" and record.end_user_id == "u42" and "session_token" not in record.link
    token = query["session_token"][0].encode()
    assert not [
        p
        for p in Path(os.environ["NANGO_DESKTOP_HOME"]).rglob("*")
        if p.is_file() and token in p.read_bytes()
    ]


def test_link_json_and_qr(run, adhoc):
    code, out, _ = run(*adhoc, "link", "new", "--end-user-id", "u1", "--json")
    data = json.loads(out)
    assert data["link"].startswith("http") and data["expires_at"].endswith("Z")
    code, out, _ = run(*adhoc, "link", "new", "--end-user-id", "u1", "--qr")
    assert code == 0
    qr_lines = out.splitlines()[3:]
    assert len(qr_lines) > 20 and {"█", "▀", "▄"} & set("".join(qr_lines))


def test_link_reconnect_sends_the_current_tags(run, adhoc, nango_server):
    conn = next(c for c in nango_server.connections if len(c["tags"]) >= 3)
    code, out, err = run(
        *adhoc, "link", "reconnect", conn["connection_id"], "--integration", conn["provider_config_key"]
    )
    assert code == 0, err
    body = nango_server.requests_to("/connect/sessions/reconnect", "POST")[-1].body
    assert body["connection_id"] == conn["connection_id"]
    assert body["integration_id"] == conn["provider_config_key"]
    assert body["tags"] == conn["tags"]
    assert out.startswith("Link:") and "Expires:" in out


def test_link_reconnect_unknown_connection(run, adhoc, nango_server):
    code, _, err = run(*adhoc, "link", "reconnect", "ghost", "--integration", "slack")
    assert code == 1 and err.startswith("Error: Not found")
    assert not nango_server.requests_to("/connect/sessions/reconnect")


def test_no_command_starts_the_gui(run, monkeypatch):
    calls = []
    fake_app = types.ModuleType("nango_desktop.app")
    fake_app.run = lambda argv, verbose=False: calls.append((argv, verbose)) or 0
    monkeypatch.setitem(sys.modules, "nango_desktop.app", fake_app)
    # Set (not just deleted) so that monkeypatch undoes the value run_gui puts there.
    monkeypatch.setenv(cli.PROFILE_ENV, "before")
    assert run("--profile", "prod", "-v")[0] == 0
    assert calls == [([sys.argv[0]], True)]
    assert os.environ[cli.PROFILE_ENV] == "prod"


def test_cli_works_without_the_webhook_commands(run, monkeypatch):
    import nango_desktop

    monkeypatch.setitem(sys.modules, "nango_desktop.cli.webhooks", None)  # importing it now fails
    monkeypatch.delattr(nango_desktop.cli, "webhooks", raising=False)
    code, out, _ = run("--help")
    assert code == 0 and "connections" in out and "listen" not in out


def test_profile_add_keeps_a_dashboard_url_for_open_in_nango_links(run, memory_keyring, nango_server):
    code, _, err = run(
        "profile", "add", "self", "--url", nango_server.url, "--dashboard-url", "http://localhost:3000/",
        stdin=nango_server.secret_key + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert load_settings().get("self").dashboard_base == "http://localhost:3000"


@pytest.mark.parametrize("form", ["base64", "upper", "hex", "basic auth"])  # URL-encoding: test_redaction.py
def test_a_server_echoing_the_key_transformed_never_gets_it_printed_or_logged(
    run, adhoc, nango_server, tmp_home, form
):
    """Issue 19 item 7: the key came back base64-encoded, upper-cased or URL-encoded in Nango's error message
    and was printed in the ``Error:`` detail and written to the log."""
    import base64

    key = nango_server.secret_key
    echoed = {
        "base64": base64.b64encode(key.encode()).decode(),
        "upper": key.upper(),
        "hex": key.encode().hex(),
        "basic auth": base64.b64encode(b"api:" + key.encode()).decode(),
    }[form]
    nango_server.fail_next(
        400, body={"error": {"code": "invalid_request", "message": f"bad credentials {echoed}"}}
    )
    code, out, err = run(*adhoc, "connections", "list")
    assert code == 1 and err.startswith("Error:")
    assert echoed not in err and key not in err and "bad credentials" in err + out
    log_text = "".join(p.read_text() for p in (tmp_home / "logs").glob("*.log*"))
    assert echoed not in log_text and key not in log_text


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_output_is_the_same_whatever_the_pages_in_flight(run, adhoc, nango_server, monkeypatch, fmt):
    """Pages requested ahead are still written in the server's order: the same bytes with 1 to 7 in flight."""
    from nango_desktop.cli import connections as cli_connections

    outputs = {}
    for concurrency in (1, 2, 3, 7):
        monkeypatch.setattr(cli_connections, "LIST_CONCURRENCY", concurrency)
        code, out, err = run(*adhoc, "connections", "list", "--format", fmt, "--page-size", "7")
        assert code == 0, err
        outputs[concurrency] = out
    assert len(set(outputs.values())) == 1
    if fmt == "json":
        assert [r["connection_id"] for r in json.loads(outputs[1])] == _server_rows(nango_server)
        assert len(json.loads(outputs[1])) > 3 * 7  # several pages
