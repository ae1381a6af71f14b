"""Signing-key rotation (issue 14 item 6): `profile rotate-signing-key NAME` calls Nango's rotate endpoint,
stores the new key as current and the old one as previous (keyring) with an expiry; a running listener
verifies with both without a restart; events verified by the previous key say so; production asks first."""

from __future__ import annotations

import io

import pytest

from nango_desktop import cli
from nango_desktop.services.rotation import KeyCache, active_signing_keys, previous_key_expiry
from nango_desktop.services.secrets import SERVICE, SecretStore
from nango_desktop.services.webhook_server import WebhookServer
from nango_desktop.store.events import EventStore, event_store_path
from tests.webhook_helpers import auth_webhook, post_webhook


@pytest.fixture
def run(capsys):
    def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        code = cli.main(list(argv), stdin=io.StringIO(stdin))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def profile(run, memory_keyring, nango_server):
    code, _, err = run(
        "profile", "add", "p", "--url", nango_server.url, "--with-signing-key", stdin="key\nold-signing-key\n"
    )
    assert code == 0, err
    nango_server.secret_key = "key"
    return "p"


def test_rotation_keeps_the_previous_key_and_a_running_listener_uses_both(
    run, profile, memory_keyring, nango_server, tmp_home
):
    store = EventStore(event_store_path(profile), profile=profile)
    keys = KeyCache(lambda: active_signing_keys(SecretStore(), profile), ttl=0)
    server = WebhookServer(store, profile=profile, port=0, keys=keys)
    server.start()
    try:
        _, reply = post_webhook(server.url, auth_webhook(), key="old-signing-key")
        assert store.get(reply["id"]).verification.key_index == 0  # the current key, before the rotation

        code, out, err = run("profile", "rotate-signing-key", profile, "--minutes", "15")
        assert code == 0, err
        new_key = nango_server.webhook_signing_key
        assert memory_keyring.store[(SERVICE, "p:webhook-signing-key")] == new_key
        assert memory_keyring.store[(SERVICE, "p:webhook-signing-key-previous")] == "old-signing-key"
        assert "15 min" in out and new_key not in out
        assert nango_server.requests_to("/environment/webhook-signing-key/rotate", "POST")

        # the same running listener: the new key verifies, and the old one still does, saying so
        _, reply = post_webhook(server.url, auth_webhook(connection_id="after-new"), key=new_key)
        assert store.get(reply["id"]).verification.describe() == "verified (HMAC, current key)"
        _, reply = post_webhook(server.url, auth_webhook(connection_id="after-old"), key="old-signing-key")
        old = store.get(reply["id"]).verification
        assert old.ok and old.key_index == 1 and "previous key" in old.describe()
    finally:
        server.stop()
        store.close()
    expires = previous_key_expiry(profile)
    assert expires is not None
    assert active_signing_keys(SecretStore(), profile, clock=lambda: expires + 1) == [new_key]


def test_a_listener_in_another_process_uses_the_new_key_from_the_next_webhook(
    run, profile, memory_keyring, nango_server, tmp_home
):
    """Issue 14 item 6: "pick up both at once". The listener caches its keys for an hour here (as `listen` in
    another process would hold them); the first webhook signed with the rotated key still verifies, because a
    failed check reads the keys again once."""
    store = EventStore(event_store_path(profile), profile=profile)
    reads = []

    def source():
        reads.append(1)
        return active_signing_keys(SecretStore(), profile)

    server = WebhookServer(store, profile=profile, port=0, keys=KeyCache(source, ttl=3600))
    server.start()
    try:
        assert post_webhook(server.url, auth_webhook(), key="old-signing-key")[0] == 200
        code, _out, err = run("profile", "rotate-signing-key", profile)
        assert code == 0, err
        new_key = nango_server.webhook_signing_key
        _, reply = post_webhook(server.url, auth_webhook(connection_id="first-after"), key=new_key)
        assert store.get(reply["id"]).verification.describe() == "verified (HMAC, current key)"
        _, reply = post_webhook(server.url, auth_webhook(connection_id="old-after"), key="old-signing-key")
        assert store.get(reply["id"]).verification.key_index == 1
        assert len(reads) == 2  # the start, and once after the first failed check: not on every request
        _, reply = post_webhook(server.url, auth_webhook(connection_id="forged"), key="attacker")
        assert not store.get(reply["id"]).verification.ok
    finally:
        server.stop()
        store.close()


def test_an_expired_previous_key_is_deleted_from_the_keyring(run, profile, memory_keyring, nango_server):
    code, _out, err = run("profile", "rotate-signing-key", profile, "--minutes", "5")
    assert code == 0, err
    assert (SERVICE, "p:webhook-signing-key-previous") in memory_keyring.store
    expires = previous_key_expiry(profile)
    assert active_signing_keys(SecretStore(), profile, clock=lambda: expires - 1) == [
        nango_server.webhook_signing_key,
        "old-signing-key",
    ]
    assert active_signing_keys(SecretStore(), profile, clock=lambda: expires + 1) == [
        nango_server.webhook_signing_key
    ]
    assert (SERVICE, "p:webhook-signing-key-previous") not in memory_keyring.store
    assert previous_key_expiry(profile) is None  # the expiry record went with it
    assert SecretStore().signing_keys(profile) == [nango_server.webhook_signing_key]


def test_production_profile_asks_first(run, memory_keyring, nango_server):
    code, _, err = run(
        "profile", "add", "prod", "--url", nango_server.url, "--production", "--with-signing-key",
        stdin="key\nold\n",
    )  # fmt: skip
    assert code == 0, err
    nango_server.secret_key = "key"
    before = nango_server.webhook_signing_key
    code, _, err = run("profile", "rotate-signing-key", "prod", stdin="no\n")
    assert code == 1 and "Not rotated" in err
    assert nango_server.webhook_signing_key == before and not nango_server.requests_to(
        "/environment/webhook-signing-key/rotate"
    )
    code, out, err = run("profile", "rotate-signing-key", "prod", stdin="prod\n")
    assert code == 0, err
    assert nango_server.webhook_signing_key != before


def test_profile_add_force_keeps_the_replaced_signing_key_as_previous(run, memory_keyring, nango_server):
    run("profile", "add", "q", "--url", nango_server.url, "--with-signing-key", stdin="k\nfirst\n")
    code, _, err = run(
        "profile", "add", "q", "--url", nango_server.url, "--with-signing-key", "--force", stdin="k\nsecond\n"
    )
    assert code == 0, err
    assert memory_keyring.store[(SERVICE, "q:webhook-signing-key")] == "second"
    assert memory_keyring.store[(SERVICE, "q:webhook-signing-key-previous")] == "first"
