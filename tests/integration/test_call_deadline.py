"""Issue 18: a total deadline per API call and a Cancel that ends a stalled call at once (FakeNango on loopback).

The fake server's ``stall_body_next`` answers 200 with the headers and the first bytes of a body, then sends
nothing until its gate is released; ``hold`` keeps a request waiting before any answer. Before this change a
stalled body kept the call for 4 attempts x the 20 s read timeout and a Cancel only took effect after that.
The read timeout here is 120 s: a call that ended did not end by the read timeout.
"""

from __future__ import annotations

import io
import threading

import pytest

from nango_desktop import cli
from nango_desktop.services.api import NangoClient
from nango_desktop.services.errors import ApiTimeoutError, CancelledError, RateLimitedError
from nango_desktop.settings import Profile, Settings, save_settings
from tests.nango_server import FakeNango

READ_TIMEOUT = 120.0  # far beyond what any of these tests may take: only the deadline or Cancel ends them


@pytest.fixture
def server():
    with FakeNango(connections=30, seed=18).start() as fake:
        yield fake


def _call_in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_stalled_body_ends_at_the_total_deadline_and_says_how_long(server):
    server.stall_body_next(times=10, path_prefix="/connections")
    client = NangoClient(server.url, server.secret_key, timeout=READ_TIMEOUT, max_retries=3, deadline=1.0)
    with client, pytest.raises(ApiTimeoutError) as info:
        client.list_connections(limit=10)
    err = info.value
    assert "did not answer within 1 s" in err.title
    assert "waited 1." in err.detail and "attempt(s)" in err.detail, err.detail
    assert "GET /connections" in err.detail
    # one stalled attempt: the deadline interrupted its read (no retry started past the deadline)
    assert len([r for r in server.requests if r.path == "/connections"]) == 1


def test_deadline_covers_retries_and_backoff(server):
    """5xx answers are retried with back-off, but never past the call's deadline: the call gives up with the
    last error named instead of sleeping into the next attempt."""
    server.fail_next(503, times=50, path_prefix="/integrations")
    client = NangoClient(server.url, server.secret_key, timeout=READ_TIMEOUT, max_retries=20, deadline=2.0)
    with client, pytest.raises(ApiTimeoutError) as info:
        client.list_integrations()
    assert "last: The Nango server had an error" in info.value.detail
    attempts = len([r for r in server.requests if r.path == "/integrations"])
    assert 1 < attempts < 20  # retried, and stopped by the deadline, not by max_retries


def test_rate_limit_wait_past_the_deadline_is_reported_not_waited(server):
    server.fail_next(429, times=1, headers={"Retry-After": "30"}, path_prefix="/integrations")
    client = NangoClient(server.url, server.secret_key, timeout=READ_TIMEOUT, deadline=5.0)
    with client, pytest.raises(RateLimitedError) as info:
        client.list_integrations()
    assert info.value.retry_after == 30
    assert len([r for r in server.requests if r.path == "/integrations"]) == 1


@pytest.mark.parametrize("stage", ["stalled body", "no answer yet"])
def test_cancel_ends_a_stalled_call_at_once(server, stage):
    """Cancel while the client's thread is blocked in a socket read: the call raises CancelledError at once
    (the server is still stalled; with no deadline only the 120 s read timeout would end it otherwise)."""
    gate = (
        server.stall_body_next(times=1, path_prefix="/connections")
        if stage == "stalled body"
        else server.hold("/connections")
    )
    cancel = threading.Event()
    client = NangoClient(server.url, server.secret_key, timeout=READ_TIMEOUT, deadline=None)
    with client:
        thread, out = _call_in_thread(lambda: client.list_connections(limit=10, cancel=cancel))
        assert gate.wait_held(1)
        cancel.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the cancelled call is still blocked in its read"
        assert isinstance(out.get("error"), CancelledError), out
        assert "cancelled after" in out["error"].detail
        assert gate.held == 1  # the server never let go: the client ended the call itself
        gate.release()
        # the client is still usable: the interrupted connection was dropped, not reused
        assert len(client.list_connections(limit=5)) == 5


def test_cancel_of_a_paged_listing_ends_at_once_and_keeps_pages(server):
    """Paging with requests in flight (concurrency 3): Cancel during a stalled page ends the listing."""
    gate = server.stall_body_next(times=3, path_prefix="/connections", after=1)
    cancel = threading.Event()
    client = NangoClient(server.url, server.secret_key, timeout=READ_TIMEOUT, deadline=None)
    pages: list = []

    def listing() -> None:
        for page in client.iter_connection_pages(page_size=10, cancel=cancel, concurrency=3):
            pages.append(page)

    with client:
        thread, out = _call_in_thread(listing)
        assert gate.wait_held(1)
        cancel.set()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert isinstance(out.get("error"), CancelledError), out
        assert [len(p) for p in pages] == [10]  # page 0 arrived before the stall and was kept
        gate.release()


def test_other_calls_on_the_same_client_are_not_interrupted(server):
    """A cancel ends only its own call: a concurrent call of the same client (shared pool) completes."""
    gate = server.stall_body_next(times=1, path_prefix="/connections")
    held_other = server.hold("/integrations")
    cancel = threading.Event()
    client = NangoClient(server.url, server.secret_key, timeout=READ_TIMEOUT, deadline=None)
    with client:
        stalled, out_stalled = _call_in_thread(lambda: client.list_connections(limit=10, cancel=cancel))
        other, out_other = _call_in_thread(client.list_integrations)
        assert gate.wait_held(1) and held_other.wait_held(1)
        cancel.set()
        stalled.join(timeout=10)
        assert isinstance(out_stalled.get("error"), CancelledError)
        held_other.release()
        other.join(timeout=10)
        assert "error" not in out_other, out_other
        assert out_other["result"]
        gate.release()


def test_cli_deadline_option_and_message(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(tmp_path))
    monkeypatch.setenv("NANGO_SECRET_KEY", server.secret_key)
    server.stall_body_next(times=10, path_prefix="/connections")
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    code = cli.main(["--api-url", server.url, "--deadline", "1", "connections", "list"])
    assert code == 1
    text = err.getvalue()
    assert "did not answer within 1 s" in text and "waited 1." in text, text


def test_cli_deadline_from_the_profile(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(tmp_path))
    monkeypatch.setenv("NANGO_SECRET_KEY", server.secret_key)
    save_settings(
        Settings(profiles=[Profile(name="p", api_url=server.url, request_deadline=1.5)], current_profile="p")
    )
    server.stall_body_next(times=10, path_prefix="/connections")
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.stdout", io.StringIO())
    code = cli.main(["--profile", "p", "connections", "list"])
    assert code == 1
    assert "did not answer within 1.5 s" in err.getvalue(), err.getvalue()


def test_cli_rejects_a_bad_deadline(capsys):
    assert cli.main(["--deadline", "0", "connections", "list"]) == 2
    assert "between 1 and 3600 seconds" in capsys.readouterr().err
