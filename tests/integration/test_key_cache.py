"""One key-cache rule for every listener (issue 16: session/listener.py's CachedKeys and services/rotation.py's
KeyCache used to differ: any error -> no keys vs a locked keyring -> the last keys). Now: a read that fails keeps
the last keys read (a keyring that locks with the screen must not turn deliveries into unverified ones), a read
that succeeds replaces them (a deleted key stops verifying), and an expired previous key stops verifying even
while the keyring cannot be read. Real keyring API (SecretStore over an in-memory backend that can lock), real
listener, real SQLite."""

from __future__ import annotations

import logging

import pytest
from keyring.errors import KeyringLocked

from nango_desktop.services.rotation import (
    KeyCache,
    active_signing_keys,
    store_signing_key,
    without_expired_previous,
)
from nango_desktop.services.secrets import SecretKind, SecretStore
from nango_desktop.session.listener import ListenerController
from nango_desktop.settings import ListenerSettings
from nango_desktop.store.events import EventStore
from tests.helpers import MemoryKeyring
from tests.webhook_helpers import auth_webhook, post_webhook, running_listener

CURRENT, PREVIOUS = "current-signing-key", "previous-signing-key"


class LockableKeyring(MemoryKeyring):
    locked = False

    def get_password(self, service: str, username: str) -> str | None:
        if self.locked:
            raise KeyringLocked("the keyring is locked")
        return super().get_password(service, username)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keyring_():
    return LockableKeyring()


@pytest.fixture
def secrets(keyring_):
    store = SecretStore(keyring_)
    store.set("p", SecretKind.SIGNING_KEY, CURRENT)
    return store


_sent = iter(range(10**6))


def _status(store: EventStore, server, key: str) -> str:
    """Post a new event (a distinct body: not a retry of an earlier one) signed with ``key``; its verdict."""
    _, reply = post_webhook(server.url, auth_webhook(connection_id=f"event-{next(_sent)}"), key=key)
    assert not reply["duplicate"]
    return str(store.get(reply["id"]).verification.status)


def test_a_locked_keyring_keeps_the_last_keys_and_webhooks_still_verify(tmp_path, secrets, keyring_, caplog):
    keys = KeyCache(lambda: active_signing_keys(secrets, "p"), ttl=0)
    with EventStore(tmp_path / "e.db", profile="p") as store, running_listener(store, keys=()) as server:
        server.keys = keys
        assert _status(store, server, CURRENT) == "verified"
        keyring_.locked = True
        with caplog.at_level(logging.WARNING, logger="nango_desktop.services.rotation"):
            assert _status(store, server, CURRENT) == "verified"  # re-read (ttl 0) failed: last keys kept
            assert _status(store, server, CURRENT) == "verified"
        warnings = [r for r in caplog.records if "Could not read the webhook signing keys" in r.getMessage()]
        assert len(warnings) == 1, "logged once per failure streak, not per request"
        assert CURRENT not in caplog.text and CURRENT not in repr(keys)


def test_any_other_read_error_keeps_the_last_keys_too():
    answers: list = [["k1", "k2"], RuntimeError("backend bug"), OSError("dbus gone")]

    def source() -> list[str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    keys = KeyCache(source, ttl=0)
    assert keys() == ["k1", "k2"]
    assert keys() == ["k1", "k2"]
    assert keys() == ["k1", "k2"]


def test_a_key_deleted_from_the_keyring_stops_verifying(tmp_path, secrets, keyring_):
    keys = KeyCache(lambda: active_signing_keys(secrets, "p"), ttl=3600)
    with EventStore(tmp_path / "e.db", profile="p") as store, running_listener(store, keys=()) as server:
        server.keys = keys
        assert _status(store, server, CURRENT) == "verified"
        secrets.delete("p", SecretKind.SIGNING_KEY)
        keys.invalidate()  # what the next read after the ttl does
        assert keys() == []  # a read that succeeds with no key: no key, not the last ones
        assert _status(store, server, CURRENT) == "no_key"


def test_an_expired_previous_key_stops_verifying_even_while_the_keyring_is_locked(
    tmp_home, secrets, keyring_
):
    clock = Clock()
    store_signing_key(
        secrets, "p", "new-signing-key", minutes=10, clock=clock
    )  # CURRENT becomes the previous key
    keys = KeyCache(
        lambda: active_signing_keys(secrets, "p", clock=clock),
        ttl=0,
        prune=lambda read: without_expired_previous("p", read, clock=clock),
    )
    assert keys() == ["new-signing-key", CURRENT]
    keyring_.locked = True
    clock.now += 5 * 60
    assert keys() == ["new-signing-key", CURRENT]  # locked, still within the overlap: both kept
    clock.now += 6 * 60
    assert keys() == ["new-signing-key"]  # locked, overlap over: the previous key no longer verifies


def test_the_gui_listener_uses_the_same_rule(qtbot, tmp_path, secrets, keyring_):
    with EventStore(tmp_path / "e.db", profile="p") as store:
        controller = ListenerController(
            store, "p", ListenerSettings(port=0), lambda: active_signing_keys(secrets, "p")
        )
        try:
            assert isinstance(controller.keys, KeyCache)
            assert controller.start()
            server = controller._server
            assert _status(store, server, CURRENT) == "verified"
            keyring_.locked = True
            controller.keys.invalidate()
            assert _status(store, server, CURRENT) == "verified"  # was "no_key" with the old CachedKeys
            keyring_.locked = False
            secrets.delete("p", SecretKind.SIGNING_KEY)
            controller.keys.invalidate()
            assert _status(store, server, CURRENT) == "no_key"
        finally:
            controller.shutdown()
