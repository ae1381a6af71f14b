"""`nango-desktop listen` and `nango-desktop events list|show|export`, in-process and as a real process."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nango_desktop import cli
from nango_desktop.store.events import EventStore, event_store_path
from tests.webhook_helpers import (
    SIGNING_KEY,
    auth_webhook,
    free_port,
    post_webhook,
    running_listener,
    sync_webhook,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env_key(monkeypatch):
    monkeypatch.setenv("NANGO_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


def run(argv, capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def filled_store(tmp_home, env_key):
    store = EventStore(event_store_path("default"), profile="default")
    with running_listener(store, keys=(SIGNING_KEY,)) as server:
        post_webhook(server.url, auth_webhook(connection_id="c-ok"))
        post_webhook(server.url, auth_webhook(connection_id="c-bad"), "wrong")
        post_webhook(server.url, sync_webhook(connection_id="c-sync"), None)
        post_webhook(server.url, b"{oops")
    with running_listener(store, keys=()) as server:
        post_webhook(server.url, auth_webhook(connection_id="c-nokey", operation="refresh", success=False))
    store.close()
    return store.path


def test_events_list_table_and_json(filled_store, capsys):
    code, out, _ = run(["events", "list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "RECEIVED", "VERIFICATION"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["1"][2:4] == ["verified", "auth"] and "c-ok" in rows["1"]
    assert rows["2"][2] == "invalid" and rows["3"][2] == "unsigned" and rows["5"][2] == "no_key"
    assert "malformed" in rows["4"] and "failed" in rows["5"]

    code, out, _ = run(["events", "list", "--format", "json", "--limit", "2"], capsys)
    data = json.loads(out)
    assert [d["id"] for d in data] == [5, 4] and data[0]["verification"]["status"] == "no_key"

    code, out, _ = run(["events", "list", "--search", "c-sync", "--format", "json"], capsys)
    assert [d["summary"]["connection_id"] for d in json.loads(out)] == ["c-sync"]
    code, out, _ = run(["events", "list", "--verification", "invalid", "--format", "json"], capsys)
    assert [d["id"] for d in json.loads(out)] == [2]


def test_events_show(filled_store, capsys):
    code, out, _ = run(["events", "show", "2"], capsys)
    assert code == 0
    assert "Verification:  invalid" in out and "(mismatch)" in out
    assert '"connectionId": "c-bad"' in out and "X-Nango-Hmac-Sha256:" in out
    code, out, _ = run(["events", "show", "4"], capsys)
    assert "Malformed:     Body is not valid JSON" in out and "{oops" in out
    code, out, _ = run(["events", "show", "1", "--format", "json"], capsys)
    data = json.loads(out)
    assert data["verification"]["status"] == "verified" and data["body_json"]["connectionId"] == "c-ok"
    code, out, err = run(["events", "show", "99"], capsys)
    assert code == 1 and "Error: No event #99" in err


def test_events_export(filled_store, capsys, tmp_path):
    target = tmp_path / "out" / "events.json"
    target.parent.mkdir()
    code, out, err = run(["events", "export", "--output", str(target)], capsys)
    assert code == 0 and "Exported 5 events" in err
    data = json.loads(target.read_text(encoding="utf-8"))
    assert [d["verification"]["status"] for d in data] == [
        "verified",
        "invalid",
        "unsigned",
        "verified",
        "no_key",
    ]
    assert not list(target.parent.glob("*.part"))
    code, out, _ = run(["events", "export", "--type", "sync"], capsys)
    assert [d["summary"]["type"] for d in json.loads(out)] == ["sync"]


def test_events_on_empty_store(tmp_home, capsys):
    code, out, _ = run(["events", "list"], capsys)
    assert code == 0 and out.split()[0] == "ID" and len(out.splitlines()) == 1


def test_events_unknown_profile_is_an_error(tmp_home, capsys):
    code, _, err = run(["--profile", "nope", "events", "list"], capsys)
    assert code == 1 and "nope" in err


def test_listen_in_process_prints_url_and_events_until_stopped(tmp_home, env_key):
    args = cli.build_parser().parse_args(["listen", "--port", "0", "--path", "/hook"])
    args.stop_event = threading.Event()
    out, err = io.StringIO(), io.StringIO()
    ctx = cli.CliContext(args, stdout=out, stderr=err)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(args.func(args, ctx)))
    thread.start()
    try:
        assert wait_for(lambda: "Listening on" in out.getvalue())
        url = out.getvalue().split("Listening on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/hook")
        assert post_webhook(url, auth_webhook(connection_id="live-1"))[0] == 200
        assert post_webhook(url, auth_webhook(connection_id="live-1"))[0] == 200
        assert post_webhook(url, sync_webhook(connection_id="live-2"), "wrong")[0] == 200
        assert wait_for(lambda: "live-2" in out.getvalue())
    finally:
        args.stop_event.set()
        thread.join(10)
    assert result == [0]
    lines = out.getvalue().splitlines()
    event_lines = [line for line in lines if "live-" in line]
    assert len(event_lines) == 3
    assert event_lines[0].split()[1:4] == ["verified", "auth", "creation"] and "#1" in event_lines[0]
    assert "duplicate" in event_lines[1]
    assert event_lines[2].split()[1:3] == ["invalid", "sync"]
    assert lines[-1].startswith("Stopped. 2 stored, 1 duplicates")
    assert SIGNING_KEY not in out.getvalue() + err.getvalue()


def test_listen_without_key_warns_and_marks_no_key(tmp_home):
    # An empty keyring of our own: the process keyring (a real Secret Service in CI) may hold keys of other tests.
    from keyring.backends import null

    from nango_desktop.services.secrets import SecretStore

    args = cli.build_parser().parse_args(["listen", "--port", "0"])
    args.stop_event = threading.Event()
    out, err = io.StringIO(), io.StringIO()
    ctx = cli.CliContext(args, secrets=SecretStore(null.Keyring()), stdout=out, stderr=err)
    thread = threading.Thread(target=args.func, args=(args, ctx))
    thread.start()
    try:
        assert wait_for(lambda: "Listening on" in out.getvalue())
        url = out.getvalue().split("Listening on ", 1)[1].split()[0]
        assert post_webhook(url, auth_webhook())[0] == 200  # nothing to check against: accepted, flagged
        assert wait_for(lambda: "no_key" in out.getvalue())
    finally:
        args.stop_event.set()
        thread.join(10)
    assert "no webhook signing key" in err.getvalue()


@pytest.mark.parametrize(
    "flags", [["--reject-invalid"], ["--reject-unsigned"], ["--reject-invalid", "--reject-unsigned"]]
)
def test_listen_with_a_reject_policy_and_no_key_refuses_to_start(tmp_home, flags):
    """Issue 19 item 3: it used to answer 200 to everything, stored as no_key, with only a warning."""
    from keyring.backends import null

    from nango_desktop.services.secrets import SecretStore

    args = cli.build_parser().parse_args(["listen", "--port", "0", *flags])
    args.stop_event = threading.Event()
    out, err = io.StringIO(), io.StringIO()
    ctx = cli.CliContext(args, secrets=SecretStore(null.Keyring()), stdout=out, stderr=err)
    with pytest.raises(cli.CliError) as raised:
        args.func(args, ctx)
    assert "Cannot reject unverified webhooks without a signing key" in raised.value.title
    assert flags[0] in raised.value.title and "NANGO_WEBHOOK_SIGNING_KEY" in raised.value.detail
    assert "Listening on" not in out.getvalue()


def test_listen_port_in_use(tmp_home, env_key, capsys):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        code, _, err = run(["listen", "--port", str(port)], capsys)
    assert code == 1 and f"Error: Port {port} is already in use" in err and "choose another port" in err


def _reader(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue, contains: str) -> str:
    while True:
        line = lines.get(timeout=30)
        assert line is not None, f"process ended before printing {contains!r}"
        if contains in line:
            return line


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_listen_process_stops_cleanly_on_signal(tmp_home, stop_signal):
    port = free_port()
    env = dict(
        os.environ,
        NANGO_WEBHOOK_SIGNING_KEY=SIGNING_KEY,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nango_desktop", "listen", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        lines = _reader(proc.stdout)
        assert f"http://127.0.0.1:{port}/webhooks/nango" in _next_line(lines, "Listening on")
        post_webhook(f"http://127.0.0.1:{port}/webhooks/nango", auth_webhook(connection_id="proc-ünï"))
        assert "verified" in _next_line(lines, "proc-ünï")
        proc.send_signal(stop_signal)
        assert "Stopped. 1 stored" in _next_line(lines, "Stopped.")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    with EventStore(event_store_path("default")) as store:
        assert store.count() == 1


def test_listen_forward_to_prints_each_result(tmp_home, env_key):
    with socket.socket() as s:  # a port nobody listens on: the forward fails, the event is still stored
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/app"
    args = cli.build_parser().parse_args(["listen", "--port", "0", "--forward-to", dead])
    args.stop_event = threading.Event()
    out, err = io.StringIO(), io.StringIO()
    thread = threading.Thread(target=args.func, args=(args, cli.CliContext(args, stdout=out, stderr=err)))
    thread.start()
    try:
        assert wait_for(lambda: "Listening on" in out.getvalue())
        assert f"Forwarding to {dead}" in out.getvalue()
        url = out.getvalue().split("Listening on ", 1)[1].split()[0]
        assert post_webhook(url, auth_webhook())[0] == 200
        assert wait_for(lambda: f"#1 forward to {dead} failed" in out.getvalue())
    finally:
        args.stop_event.set()
        thread.join(10)
    with EventStore(event_store_path("default")) as store:
        assert store.forwards(1)[0].error


def test_network_text_cannot_drive_the_terminal(tmp_home, env_key, capsys):
    evil = "c\x1b[2J\x1b]0;pwned\x07\nFAKE LINE\u2028x"
    store = EventStore(event_store_path("default"), profile="default")
    with running_listener(store, keys=(SIGNING_KEY,)) as server:
        post_webhook(server.url, auth_webhook(connection_id=evil))
        post_webhook(server.url, evil.encode() + b"{")  # malformed body printed raw by `events show`
    store.close()
    for argv in (["events", "list"], ["events", "show", "1"], ["events", "show", "2"]):
        code, out, _ = run(argv, capsys)
        assert code == 0 and "\x1b" not in out and "\x07" not in out and "\u2028" not in out
        assert "\\x1b[2J" in out
    _, out, _ = run(["events", "list"], capsys)
    assert not any(line.startswith("FAKE LINE") for line in out.splitlines())
    from nango_desktop.cli.webhooks import event_line

    with EventStore(event_store_path("default")) as store:
        line = event_line(store.get(1))
    assert "\n" not in line and "\x1b" not in line


def test_api_url_does_not_switch_the_event_store(tmp_home, env_key, capsys, monkeypatch):
    """Issue 14 item 8: `listen` then `--api-url X events list` showed nothing (the ad-hoc profile's store),
    with no hint. One store per profile name, and the command says which store it reads."""
    from nango_desktop.settings import Profile, Settings, save_settings

    save_settings(Settings(profiles=[Profile(name="acme")], current_profile="acme"))
    store = EventStore(event_store_path("acme"), profile="acme")
    with running_listener(store, keys=(SIGNING_KEY,)) as server:
        post_webhook(server.url, auth_webhook(connection_id="c-acme"))
    store.close()
    monkeypatch.setenv("NANGO_SECRET_KEY", "k")
    code, out, err = run(["--api-url", "http://127.0.0.1:9", "events", "list"], capsys)
    assert code == 0, err
    assert "c-acme" in out
    assert "“acme”" in err and str(event_store_path("acme")) in err and "1 event" in err
    assert "1 events" not in err


def test_events_show_and_export_never_hold_the_signature_the_key_gives(filled_store, capsys, tmp_path):
    """Issue 19 item 1: event #2 was posted with a wrong key; the signatures SIGNING_KEY gives its body (which
    an attacker chose) must appear nowhere: show, show --format json, list --format json, export."""
    from nango_desktop.services.signing import sign_headers
    from nango_desktop.store.events import EventStore, event_store_path

    with EventStore(event_store_path("default"), profile="default") as store:
        body = store.get(2).body
    right = sign_headers(SIGNING_KEY, body).values()
    outputs = []
    for argv in (
        ["events", "show", "2"],
        ["events", "show", "2", "--format", "json"],
        ["events", "list", "--format", "json"],
    ):
        code, out, _ = run(argv, capsys)
        assert code == 0
        outputs.append(out)
    target = tmp_path / "events.json"
    code, _out, _ = run(["events", "export", "--output", str(target)], capsys)
    assert code == 0
    outputs.append(target.read_text())
    assert "does not match" in outputs[0] or "(mismatch)" in outputs[0]
    for text in outputs:
        for value in right:
            assert value not in text and value[:16] not in text
        assert "expected_hmac" not in text and "expected_legacy" not in text
