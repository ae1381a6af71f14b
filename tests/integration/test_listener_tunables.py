"""Issue 16: the listener's limits (slots, reserved share, per-peer share, first-byte timeout, throttle of
unverified requests) are ListenerSettings fields, passed to the server by the GUI's controller and by
``listen`` (flags override the profile's values for one run). Real listener, real sockets."""

from __future__ import annotations

import argparse
import inspect
import io
import socket
import threading

import pytest
from pydantic import ValidationError

from nango_desktop import cli
from nango_desktop.services.listener_slots import Admission, slot_counts
from nango_desktop.services.peer_limit import PeerLimiter
from nango_desktop.services.webhook_server import WebhookServer, tunables
from nango_desktop.settings import ListenerSettings
from nango_desktop.store.events import EventStore
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, post_webhook, running_listener, wait_for

TUNABLES = ("max_connections", "reserved_share", "per_peer_share", "first_byte_timeout")


def test_defaults_are_the_servers_own():
    settings = ListenerSettings()
    server_defaults = inspect.signature(WebhookServer).parameters
    for name in TUNABLES:
        assert getattr(settings, name) == server_defaults[name].default, name
    limiter = PeerLimiter()
    assert (settings.unverified_rate, settings.unverified_burst) == (limiter.rate, limiter.burst)
    assert slot_counts(64, settings.reserved_share, settings.per_peer_share) == (16, 48, 36)
    for total in range(4, 200):  # the shares give the same slots as the fixed quarters did
        reserved = max(1, total // 4)
        assert slot_counts(total, 0.25, 0.75) == (
            reserved,
            total - reserved,
            max(1, (total - reserved) * 3 // 4),
        )


@pytest.mark.parametrize(
    "field, bad",
    [
        ("max_connections", 3),
        ("max_connections", 5000),
        ("reserved_share", 0.0),
        ("reserved_share", 0.9),
        ("per_peer_share", 0.01),
        ("per_peer_share", 1.5),
        ("first_byte_timeout", 0),
        ("first_byte_timeout", 10.5),  # above the idle timeout of every read, which would cap it
        ("unverified_rate", 0),
        ("unverified_burst", 0),
    ],
)
def test_out_of_range_values_are_refused(field, bad):
    with pytest.raises(ValidationError) as raised:
        ListenerSettings(**{field: bad})
    assert raised.value.errors()[0]["loc"] == (field,)


def test_saved_settings_round_trip_and_old_files_get_the_defaults():
    tuned = ListenerSettings(max_connections=8, first_byte_timeout=0.5, unverified_burst=3)
    assert ListenerSettings.model_validate_json(tuned.model_dump_json()) == tuned
    old = ListenerSettings.model_validate({"port": 9000})  # a settings file written before these fields
    assert old.max_connections == 64 and old.unverified_rate == 10.0


def test_tunables_reach_the_server_and_its_admission(tmp_path):
    settings = ListenerSettings(
        max_connections=8, reserved_share=0.5, per_peer_share=0.5, first_byte_timeout=0.7, unverified_burst=2
    )
    with (
        EventStore(tmp_path / "e.db", profile="t") as store,
        running_listener(store, **tunables(settings)) as server,
    ):
        assert server.first_byte_timeout == 0.7
        admission: Admission = server._httpd.admission
        assert (admission.reserved_total, admission.general_total, admission.per_peer) == (4, 4, 2)
        statuses = [
            post_webhook(server.url, auth_webhook(connection_id=f"u{i}"), "wrong-key")[0] for i in range(3)
        ]
        assert statuses == [200, 200, 429]  # a burst of 2 unverified requests per address
        assert (
            post_webhook(server.url, auth_webhook(connection_id="v"))[0] == 200
        )  # verified: never throttled


def test_first_byte_timeout_closes_a_silent_connection(tmp_path):
    settings = ListenerSettings(first_byte_timeout=0.2)
    with (
        EventStore(tmp_path / "e.db", profile="t") as store,
        running_listener(store, **tunables(settings)) as server,
    ):
        host, port = server.url.split("//")[1].split("/")[0].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            assert sock.recv(1) == b""  # closed by the server long before the client's own 30 s


def _listen(argv: list[str]) -> tuple[threading.Thread, argparse.Namespace, io.StringIO, io.StringIO]:
    args = cli.build_parser().parse_args(["listen", "--port", "0", *argv])
    args.stop_event = threading.Event()
    out, err = io.StringIO(), io.StringIO()
    ctx = cli.CliContext(args, stdout=out, stderr=err)
    thread = threading.Thread(target=args.func, args=(args, ctx))
    return thread, args, out, err


def test_listen_flags_set_the_limits_and_print_them(tmp_home, monkeypatch):
    monkeypatch.setenv("NANGO_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    thread, args, out, _ = _listen(
        ["--unverified-burst", "1", "--unverified-rate", "0.5", "--max-connections", "8"]
    )
    thread.start()
    try:
        assert wait_for(lambda: "Limits:" in out.getvalue())
        url = out.getvalue().split("Listening on ", 1)[1].split()[0]
        assert [post_webhook(url, auth_webhook(connection_id=f"x{i}"), "wrong")[0] for i in range(2)] == [
            200,
            429,
        ]
    finally:
        args.stop_event.set()
        thread.join(10)
    limits = next(line for line in out.getvalue().splitlines() if line.startswith("Limits:"))
    assert "8 connections (2 reserved for complete requests, 4 per remote address)" in limits
    assert "first byte within 2 s" in limits and "0.5/s per address (burst 1)" in limits


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--max-connections", "2"], "--max-connections"),
        (["--reserved-share", "0.9"], "--reserved-share"),
        (["--first-byte-timeout", "0"], "--first-byte-timeout"),
    ],
)
def test_listen_refuses_a_limit_out_of_range_before_listening(tmp_home, monkeypatch, flags, named):
    monkeypatch.setenv("NANGO_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    thread, args, out, _ = _listen(flags)
    with pytest.raises(cli.CliError) as raised:
        args.func(args, cli.CliContext(args, stdout=out, stderr=io.StringIO()))
    assert raised.value.title == "Invalid listener limit" and named in raised.value.detail
    assert "Listening on" not in out.getvalue()
