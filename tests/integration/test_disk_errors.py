"""Issues 18 and 19 item 8: full disk, read-only and locked files, with real files and a real listener.

- full disk: SQLite's ``PRAGMA max_page_count`` caps the event store's file (SQLITE_FULL, as on a full disk);
  the log file is pointed at /dev/full (ENOSPC on every write);
- read-only: ``PRAGMA query_only`` on the store's writer (SQLITE_READONLY), and a home directory that cannot
  be created (a directory under /sys when running as root, where chmod does not stop writes; else chmod 0500);
- locked: another connection holds ``BEGIN EXCLUSIVE`` on the store's file.

Before: the listener answered 500 and logged a traceback per request, ``listen`` ended with "Unexpected error",
``setup_logging`` raised before the CLI's error handling. Now: 503 + Retry-After naming the path and the cause
while it lasts, storing again as soon as it can (no restart), nothing acknowledged is lost, and clear messages.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from nango_desktop import cli, logsetup
from nango_desktop.store.diskerrors import FULL, LOCKED, READ_ONLY, DiskError, classify
from nango_desktop.store.events import EventStore
from tests.webhook_helpers import SIGNING_KEY, nango_headers, nango_json, running_listener, wait_for


def _unwritable_dir(tmp_path: Path) -> Path:
    """A directory path under which nothing can be created."""
    if os.geteuid() == 0:
        return Path("/sys/nango-desktop-test-home")  # sysfs: mkdir fails (EPERM) even for root
    parent = tmp_path / "readonly"
    parent.mkdir()
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return parent / "home"


def _fill_up(store: EventStore) -> int:
    """Cap the store's file at its current size: the next write that needs a page fails with SQLITE_FULL."""
    with store._write_lock:
        pages = store._writer.execute("PRAGMA page_count").fetchone()[0]
        store._writer.execute(f"PRAGMA max_page_count = {pages}")
    return pages


def _free_space(store: EventStore) -> None:
    with store._write_lock:
        store._writer.execute("PRAGMA max_page_count = 1073741823")


BIG = "x" * 20_000  # each event needs new pages


def _post(server, n: int) -> tuple[int, dict, dict]:
    """A signed auth webhook; (status, lower-cased headers, JSON reply)."""
    raw = nango_json({"type": "auth", "connectionId": f"disk-{n}", "success": True, "pad": BIG})
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", parts.path, body=raw, headers=nango_headers(raw, SIGNING_KEY))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


# -- classify ----------------------------------------------------------------------------------------------


def test_classify_real_sqlite_and_os_errors(tmp_path):
    db = tmp_path / "c.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE t (v BLOB)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    problem = classify(full.value, db)
    assert problem.kind == FULL and problem.title == f"Disk full at {db}"
    assert "free some space" in problem.detail

    conn.execute("PRAGMA max_page_count = 1073741823")
    other = sqlite3.connect(db, timeout=0.05, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    conn.execute("ROLLBACK")
    assert classify(locked.value, db).title == f"{db} is locked by another program"

    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as readonly:
        ro.execute("INSERT INTO t VALUES (1)")
    assert classify(readonly.value, db).kind == READ_ONLY
    for c in (conn, other, ro):
        c.close()

    with pytest.raises(OSError) as nospace:
        with open("/dev/full", "w") as fh:
            fh.write("x")
            fh.flush()
    assert classify(nospace.value, "/dev/full").title == "Disk full at /dev/full"
    assert classify(ValueError("database is locked")) is None  # only sqlite3 / OS errors are disk problems


# -- the listener ------------------------------------------------------------------------------------------


def test_listener_on_a_full_disk_answers_503_names_the_path_and_recovers(tmp_home):
    store = EventStore(tmp_home / "full.db", profile="disk")
    states: list[tuple[str, str]] = []
    try:
        with running_listener(
            store, on_state=lambda s, m: s == "storage" and states.append((s, m))
        ) as server:
            acknowledged = []
            status, _, _ = _post(server, 0)
            assert status == 200
            acknowledged.append(0)
            _fill_up(store)
            for n in range(1, 4):
                status, headers, reply = _post(server, n)
                assert status == 503, reply
                assert headers.get("retry-after") == "30"
                assert reply["error"]["message"] == f"Disk full at {store.path}; the event was not stored"
            assert server.storage.problem is not None and server.storage.problem.kind == FULL
            assert states == [("storage", str(server.storage.problem))]  # reported once, not per request
            _free_space(store)  # space comes back: no restart needed
            for n in range(4, 7):
                status, _, _ = _post(server, n)
                assert status == 200
                acknowledged.append(n)
            assert server.storage.problem is None and states[-1] == ("storage", "")
            assert server.stats.errors == 3
        stored = sorted(e.summary.connection_id for e in store.iter_events())
        assert stored == sorted(f"disk-{n}" for n in acknowledged)  # every 200 stored, nothing else
        assert store.integrity_check() == "ok"
    finally:
        store.close()


def test_listener_on_a_locked_store_answers_503_and_recovers_when_released(tmp_home):
    store = EventStore(tmp_home / "locked.db", profile="disk", busy_timeout=0.2)
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        with running_listener(store) as server:
            other.execute("BEGIN EXCLUSIVE")
            status, _, reply = _post(server, 1)
            assert status == 503
            assert reply["error"]["message"].startswith(f"{store.path} is locked by another program")
            other.execute("COMMIT")
            status, _, _ = _post(server, 2)
            assert status == 200 and server.storage.problem is None
        assert [e.summary.connection_id for e in store.iter_events()] == ["disk-2"]
    finally:
        other.close()
        store.close()


def test_listener_on_a_read_only_store_answers_503(tmp_home):
    store = EventStore(tmp_home / "ro.db", profile="disk")
    try:
        with running_listener(store) as server:
            with store._write_lock:
                store._writer.execute("PRAGMA query_only = ON")
            status, _, reply = _post(server, 1)
            assert status == 503
            assert reply["error"]["message"].startswith(f"{store.path} is read-only")
            with store._write_lock:
                store._writer.execute("PRAGMA query_only = OFF")
            assert _post(server, 2)[0] == 200
    finally:
        store.close()


def test_cli_listen_reports_the_full_disk_on_stderr_and_goes_on(tmp_home, monkeypatch):
    """`listen` says "Disk full at PATH" on stderr (once), keeps serving, and says when it stores again."""
    from nango_desktop.store import events as events_module

    stores: list[EventStore] = []
    real = events_module.EventStore

    class Recording(real):  # the real store, kept at hand to cap its file
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            stores.append(self)

    monkeypatch.setattr("nango_desktop.cli.webhooks.EventStore", Recording)
    monkeypatch.setenv("NANGO_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    stop = threading.Event()
    argv = ["--api-url", "http://127.0.0.1:9", "listen", "--port", "0"]
    args = cli.build_parser(argv).parse_args(argv)
    args.stop_event = stop
    from nango_desktop.cli.common import CliContext

    ctx = CliContext(args, stdout=out, stderr=err)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", args.func(args, ctx)), daemon=True)
    monkeypatch.setenv("NANGO_SECRET_KEY", "sk-unused")
    thread.start()
    try:
        wait_for(lambda: "Listening on " in out.getvalue())
        url = out.getvalue().split("Listening on ", 1)[1].split(" ", 1)[0]
        server = type("S", (), {"url": url})()
        _fill_up(stores[0])
        assert _post(server, 1)[0] == 503
        assert _post(server, 2)[0] == 503
        _free_space(stores[0])
        assert _post(server, 3)[0] == 200
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.get("code") == 0
    text = err.getvalue()
    assert text.count(f"Warning: Disk full at {stores[0].path}") == 1, text
    assert "answering 503 so Nango retries" in text
    assert "Warning: the event store is writable again" in text
    assert "Traceback" not in text and "Logging error" not in text


# -- CLI and logging on an unwritable home -------------------------------------------------------------------


def test_cli_on_an_unwritable_home_says_which_path_not_a_traceback(tmp_path, monkeypatch, capsys):
    home = _unwritable_dir(tmp_path)
    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(home))
    monkeypatch.setenv("NANGO_WEBHOOK_SIGNING_KEY", "whsec-disk-test")
    code = cli.main(["--api-url", "http://127.0.0.1:9", "events", "list"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err and "Unexpected error" not in err, err
    assert "logging to stderr only" in err and str(home) in err
    assert "Error: Cannot write " in err and str(home) in err


def test_event_store_open_names_the_path(tmp_path):
    home = _unwritable_dir(tmp_path)
    with pytest.raises(DiskError) as info:
        EventStore(home / "data" / "events.db")
    assert str(home) in info.value.title


def test_event_store_locked_by_another_program_is_named(tmp_path):
    path = tmp_path / "events.db"
    EventStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DiskError) as info:
            EventStore(path, busy_timeout=0.1)
        assert info.value.problem.kind == LOCKED
        assert info.value.title == f"{path} is locked by another program"
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_log_file_on_a_full_disk_falls_back_to_stderr_once(monkeypatch, capsys):
    handler = logsetup._FallbackFileHandler("/dev/full", maxBytes=0, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("nango-desktop-test-full-log")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("first warning")
        logger.info("an info line")
        logger.error("an error")
    finally:
        logger.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert err.count("cannot write the log file: Disk full at /dev/full") == 1, err
    assert "WARNING first warning" in err and "ERROR an error" in err
    assert "an info line" not in err
    assert "Logging error" not in err and "Traceback" not in err


def test_setup_logging_on_an_unwritable_home_does_not_raise(tmp_path, monkeypatch, capsys):
    home = _unwritable_dir(tmp_path)
    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(home))
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        logsetup.setup_logging()
        logging.getLogger("nango-desktop-test").warning("still reported")
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_nango_desktop", False)]:
            root.removeHandler(handler)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "logging to stderr only" in err and str(home) in err
    assert "still reported" in err


def test_replies_are_json(tmp_home):
    """The 503 body is JSON like every other answer of the listener (Nango logs it)."""
    store = EventStore(tmp_home / "json.db", profile="disk")
    try:
        with running_listener(store) as server:
            _fill_up(store)
            status, _, reply = _post(server, 1)
            assert status == 503 and json.dumps(reply)
    finally:
        store.close()


# -- link history and settings -----------------------------------------------------------------------------


def test_link_history_on_a_full_disk_names_the_path_and_recovers(tmp_path):
    from nango_desktop.store.links import LinkStore

    store = LinkStore(tmp_path / "links.db")
    try:
        fields = {"profile": "p", "kind": "new", "expires_at": 2e9, "end_user_id": "u" * 20_000}
        store.add(link="https://connect.example/a", **fields)
        with store._lock:
            pages = store._db.execute("PRAGMA page_count").fetchone()[0]
            store._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(DiskError) as info:
            store.add(link="https://connect.example/b", **fields)
        assert info.value.title == f"Disk full at {store.path}"
        with store._lock:
            store._db.execute("PRAGMA max_page_count = 1073741823")
        store.add(link="https://connect.example/c", **fields)
        assert len(store.list("p")) == 2
    finally:
        store.close()


def test_settings_save_on_an_unwritable_home_names_the_path(tmp_path):
    from nango_desktop.settings import Profile, Settings, save_settings

    target = _unwritable_dir(tmp_path) / "config" / "profiles.json"
    with pytest.raises(DiskError) as info:
        save_settings(Settings(profiles=[Profile(name="p")]), target)
    assert str(target) in info.value.title
