"""Issue 7 item 1: a full scripted session leaves no secret in any file the app wrote.

Real parts: FakeNango over loopback HTTP, the CLI (``cli.main``), the GUI (offscreen, real MainWindow and
pages, real event loop), the webhook listener receiving signed webhooks, SQLite stores, the rotating log file
at DEBUG, the QSettings ini with the window state, export files, the crash hooks. The keys live in an
in-memory keyring (the real Secret Service is covered by tests/integration/test_keyring_secret_service.py).

Then every file under the app home (config, data, logs, cache, the QSettings ini, the exports the user made
that were not meant to hold credentials) is searched for the API key, the webhook signing key, every connect
session token and every connection credential of FakeNango (plain, base64, URL-encoded, JSON-escaped, hex,
UTF-16: see tests/leak_scan.py). Zero hits. The texts the user is shown (error banner, crash dialog) and the
log lines are checked too.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import uuid

import pytest
from PySide6.QtCore import qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from nango_desktop import app as app_module
from nango_desktop import cli
from nango_desktop.domain.links import token_of
from nango_desktop.domain.models import Connection
from nango_desktop.logsetup import log_file
from nango_desktop.qtutil.errors import CrashDialog, crash_report, describe_error, install_crash_hooks
from nango_desktop.qtutil.workers import wait_for_all
from nango_desktop.services.errors import NangoError
from nango_desktop.services.secrets import SecretStore
from nango_desktop.session.link_tracker import tracker_for
from nango_desktop.settings import load_settings, save_settings
from nango_desktop.ui.links import actions
from tests.leak_scan import app_roots, encodings, iter_files, scan
from tests.nango_server import FakeNango, list_item
from tests.webhook_helpers import auth_webhook, nango_headers, nango_json, post_raw, post_webhook

TIMEOUT = 30_000


@pytest.fixture
def server():
    # A UUID-shaped key like Nango's: no prefix for a regex to recognise, only the app's own bookkeeping
    # (known-secret redaction, never writing it) protects it.
    fake = FakeNango(connections=40, seed=7, secret_key=str(uuid.uuid4())).start()
    yield fake
    fake.stop()


def _secrets_of(server: FakeNango) -> dict[str, list[str]]:
    credentials: list[str] = []
    for conn in server.connections:
        creds = conn.get("credentials") or {}
        for field in ("access_token", "refresh_token", "apiKey"):
            if isinstance(creds.get(field), str):
                credentials.append(creds[field])
    return {
        "API key": [server.secret_key],
        "webhook signing key": [server.webhook_signing_key],
        "connect session token": list(server.sessions),
        "connection credential": credentials,
    }


def _leaks_in_text(text: str, secrets: dict[str, list[str]]) -> list[str]:
    data = text.encode("utf-8", "replace")
    return [
        f"{label} ({form})"
        for label, values in secrets.items()
        for value in values
        for form, needle in encodings(value)
        if needle in data
    ]


def _cli(argv: list[str], capsys, stdin: str = "") -> str:
    code = cli.main(argv, stdin=io.StringIO(stdin))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_full_session_leaves_no_secret_in_any_file(qtbot, server, memory_keyring, tmp_home, tmp_path, capsys):
    api_key, signing_key = server.secret_key, server.webhook_signing_key
    exports = tmp_home / "exports"  # files the user exported, none of them asked to contain credentials
    exports.mkdir()
    shown: list[str] = []  # every text shown to the user

    # -- 1. CLI, -v (DEBUG log file): add the profile (both keys read from stdin), list, show, links ------
    _cli(
        ["-v", "profile", "add", "leak", "--url", server.url, "--with-signing-key", "--check", "--use"],
        capsys,
        stdin=f"{api_key}\n{signing_key}\n",
    )
    settings = load_settings()
    settings.get("leak").listener.port = 0  # a free port: other test runs may use 8765
    save_settings(settings)
    listed = json.loads(_cli(["-v", "connections", "list", "--format", "json", "--page-size", "7"], capsys))
    assert len(listed) == 40
    oauth = next(
        c for c in server.connections if c["credentials"].get("refresh_token") and c["end_user"] is None
    )
    shown_creds = _cli(
        ["-v", "connections", "show", oauth["connection_id"], "--integration", oauth["provider_config_key"],
         "--json", "--credentials"],
        capsys,
    )  # fmt: skip
    assert oauth["credentials"]["access_token"] in shown_creds  # asked for, on stdout only
    _cli(["-v", "link", "new", "--end-user-id", "u_leak", "--email", "leak@acme.com"], capsys)
    _cli(
        ["-v", "link", "reconnect", oauth["connection_id"], "--integration", oauth["provider_config_key"]],
        capsys,
    )

    # -- 2. the GUI, composed like app.run(): DEBUG file log, Qt messages routed in, crash hooks --------------
    previous_qt_handler = app_module.setup_app_logging(verbose=True)
    ctx = app_module.build_context(SecretStore(memory_keyring, timeout=5.0))
    ctx.errorRaised.connect(lambda title, detail: shown.append(f"{title}\n{detail}"))
    window = None
    crash = None
    try:
        with qtbot.waitSignal(ctx.connections_store.loaded, timeout=TIMEOUT):
            window = app_module.build_main_window(ctx)
            qtbot.addWidget(window)
            window.show()
        crash = install_crash_hooks(lambda: window)
        page = window.show_page("connections")  # the window opens on the Overview, which loaded them first
        qtbot.waitUntil(lambda: page.model.rowCount() == 40, timeout=TIMEOUT)

        # show the credentials of a connection
        conn = next(c for c in page.model.connections() if c.connection_id == oauth["connection_id"])
        page.detail.show_connection(conn)
        page.detail.load_full()
        qtbot.waitUntil(lambda: page.detail.full is not None, timeout=TIMEOUT)
        assert page.detail.full.credential("access_token") == oauth["credentials"]["access_token"]

        # a connect link and a reconnect link through the GUI
        tracker = tracker_for(ctx)
        dialog = actions.new_link(ctx, None, {"end_user_id": "u_gui", "email": "gui@acme.com"})
        with qtbot.waitSignal(dialog.linkIssued, timeout=TIMEOUT):
            dialog.create_button.click()
        actions.reconnect_links(ctx, None, [Connection.model_validate(list_item(server.connections[3]))])
        qtbot.waitUntil(
            lambda: len(server.sessions) == 4, timeout=TIMEOUT
        )  # two from the CLI, two from the GUI
        qtbot.waitUntil(
            lambda: len([r for r in tracker.pending() if tracker.url_of(r)]) == 2, timeout=TIMEOUT
        )

        # signed webhooks on the listener: the customers complete two links; one delivery arrives through a
        # proxy that added an Authorization header carrying the API key
        assert ctx.listener.start(), ctx.listener.message
        url = ctx.listener.url
        received = []
        ctx.listener.eventReceived.connect(lambda event, dup: received.append(event))
        for record in [r for r in tracker.pending() if tracker.url_of(r)]:
            body = server.complete_session(token_of(tracker.url_of(record)))
            assert post_webhook(url, body, key=signing_key)[0] == 200
        raw = nango_json(auth_webhook(connection_id="via-proxy"))
        headers = nango_headers(raw, signing_key) | {"Authorization": f"Bearer {api_key}"}
        assert post_raw(url, raw, headers)[0] == 200
        qtbot.waitUntil(lambda: len(received) == 3, timeout=TIMEOUT)
        assert all(e.verification.ok for e in received)

        # exports: the connections view (CSV, JSON) and the events (JSON)
        for fmt in ("csv", "json"):
            task = page.export_view(fmt, str(exports / f"connections.{fmt}"))
            qtbot.waitUntil(lambda t=task: t.finished, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: (exports / "connections.json").is_file(), timeout=TIMEOUT)
        assert len(json.loads((exports / "connections.json").read_text())) >= 40
        with open(exports / "events.json", "w", encoding="utf-8") as out:
            assert ctx.event_store.export_json(out) == 3

        # API errors whose bodies echo secrets: the banner and the log get them redacted
        server.fail_next(
            401,
            body={"error": {"code": "invalid_secret_key", "message": f"Unknown key {api_key}"}},
            path_prefix="/connections/",
        )
        page.detail.load_full()
        qtbot.waitUntil(lambda: any("API key was rejected" in s for s in shown), timeout=TIMEOUT)
        # the client's own exception text (title, detail, str) before any further redaction: Nango
        # echoing the key or a session token in an error message must not carry them into it
        live_token = next(iter(server.sessions))
        for path, call in (
            ("/integrations", lambda c: c.list_integrations()),
            ("/connect/session", lambda c: c.get_connect_session(live_token)),
        ):
            echo = f"Authentication failed for {api_key} / {live_token}"
            server.fail_next(401, body={"error": {"code": "unauthorized", "message": echo}}, path_prefix=path)
            with pytest.raises(NangoError) as info:
                call(ctx.client())
            shown.append(f"{info.value.title}\n{info.value.detail}\n{info.value}\n{info.value!r}")
            shown.append("\n".join(describe_error(info.value)))

        # the crash-report path: an unexpected exception carrying every kind of secret, on the GUI thread
        # and on a worker thread; each gives a dialog with a redacted, copyable report (also logged)
        token = next(iter(server.sessions))
        access = oauth["credentials"]["access_token"]
        message = f"request failed: key={api_key} Bearer {api_key} {token} got {access} for {api_key}"
        try:
            raise RuntimeError(message)
        except RuntimeError:
            exc_info = sys.exc_info()
        shown.append(crash_report(*exc_info))
        sys.excepthook(*exc_info)

        def explode() -> None:
            raise ValueError(message)

        worker = threading.Thread(target=explode, name="leak-worker")
        worker.start()
        worker.join(10)
        qtbot.waitUntil(lambda: len(crash.reports) == 2, timeout=TIMEOUT)
        shown.extend(crash.reports)
        for dialog in crash.dialogs:
            assert isinstance(dialog, CrashDialog)
            shown.extend([dialog.text.toPlainText(), dialog.summary_label.text()])

        # log lines with an Authorization header and tokens, as a careless debug line would write them
        logging.getLogger("nango_desktop.leaktest").debug(
            "headers=%s body=%s", {"Authorization": f"Bearer {api_key}"}, json.dumps({"access_token": access})
        )
    finally:
        if crash is not None:
            for dialog in list(crash.dialogs):
                dialog.close()
        app_module.shutdown(ctx, window, crash)  # saves the window state (QSettings), stops everything
        assert wait_for_all(30.0, cancel=True), "background tasks still running after shutdown"
        QApplication.processEvents()  # deliver their last results before the context goes away
        ctx.deleteLater()
        qInstallMessageHandler(previous_qt_handler)
        QApplication.processEvents()
    for handler in logging.getLogger().handlers:
        handler.flush()

    # -- 3. the scan ---------------------------------------------------------------------------------------
    secrets = _secrets_of(server)
    assert len(secrets["connect session token"]) == 4 and len(secrets["connection credential"]) >= 40
    files = iter_files([tmp_home])
    names = {p.name for p in files}
    # the scan is not vacuous: every kind of file the app writes is there, and has content
    assert {"profiles.json", "links.sqlite3", log_file().name} <= names, names
    assert any(n.startswith("events") and n.endswith(".sqlite3") for n in names), names  # webhook events
    assert any(p.suffix == ".ini" for p in files), names  # the QSettings window state
    assert {"connections.csv", "connections.json", "events.json"} <= names
    log_text = log_file().read_text(encoding="utf-8")
    assert "DEBUG" in log_text and "GET /connections" in log_text and "Unhandled exception" in log_text
    careless = [line for line in log_text.splitlines() if "nango_desktop.leaktest" in line]
    assert len(careless) == 1 and careless[0].count("[REDACTED]") >= 2, careless
    assert api_key not in careless[0] and oauth["credentials"]["access_token"] not in careless[0]

    hits = scan([*app_roots(tmp_home), exports], secrets)
    assert hits == [], "secrets found on disk:\n" + "\n".join(map(str, hits))
    assert scan([tmp_home], secrets) == []  # anything else under the home too

    # what the user was shown: banner texts, error descriptions, crash reports and dialogs
    assert len(shown) >= 6
    leaks = [(i, leak) for i, text in enumerate(shown) for leak in _leaks_in_text(text, secrets)]
    assert leaks == [], f"secrets in user-facing texts: {leaks}"
    assert "RuntimeError" in crash.reports[0] and "leak-worker" in crash.reports[1]


def test_signing_key_read_from_the_keyring_is_redacted_in_crash_reports(memory_keyring):
    from nango_desktop.services.secrets import SecretKind

    signing_key = str(uuid.uuid4())
    store = SecretStore(memory_keyring, timeout=5.0)
    store.set("p", SecretKind.SIGNING_KEY, signing_key)
    assert store.signing_keys("p") == [signing_key]  # what the listener does before verifying
    try:
        raise ValueError(f"could not verify with {signing_key}")
    except ValueError:
        report = crash_report(*sys.exc_info())
    assert signing_key not in report


def test_leak_scan_finds_every_encoding(tmp_path):
    """The scanner itself: a secret written in any of the forms is found, an unrelated file is not."""
    import base64
    from urllib.parse import quote

    secret = "sk-live-" + uuid.uuid4().hex
    forms = {
        "plain.txt": f"key={secret}".encode(),
        "b64.txt": base64.b64encode(f"user:{secret}".encode()),
        "b64url.txt": base64.urlsafe_b64encode(f"xx{secret}yy".encode()),
        "url.txt": quote(f"{secret}/?&", safe="").encode(),
        "utf16.txt": f"[{secret}]".encode("utf-16-le"),
        "hex.txt": secret.encode().hex().encode(),
    }
    for name, data in forms.items():
        (tmp_path / name).write_bytes(b"prefix " + data + b" suffix")
    (tmp_path / "clean.txt").write_text("nothing to see")
    hits = scan([tmp_path], {"key": [secret]})
    assert {h.path.name for h in hits} == set(forms)
    assert all(secret not in str(h) for h in hits)  # reports name the secret, never show it
