"""SecretStore with in-process backends: storage, env overrides, refusals, failures and timeouts."""

from __future__ import annotations

import threading

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringLocked

from nango_desktop.services.secrets import (
    SERVICE,
    SecretKind,
    SecretStore,
    SecretStoreUnavailable,
    describe_backend,
)
from tests.helpers import MemoryKeyring

KEY = "nango-secret-1234567890"


class RaisingKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    def get_password(self, service, username):
        raise self.exc

    def set_password(self, service, username, password):
        raise self.exc

    def delete_password(self, service, username):
        raise self.exc


class HangingKeyring(KeyringBackend):
    """Blocks every call until released (an unanswered unlock prompt, a stuck D-Bus daemon)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def _block(self, *args):
        self.calls += 1
        self.entered.set()
        self.release.wait()

    get_password = set_password = delete_password = _block


@pytest.fixture
def store():
    backend = MemoryKeyring()
    return SecretStore(backend), backend


def test_set_get_delete_uses_service_and_account(store):
    secrets, backend = store
    secrets.set("prod", SecretKind.API_KEY, KEY)
    assert backend.store == {(SERVICE, "prod:api-key"): KEY}
    assert secrets.get("prod", SecretKind.API_KEY) == KEY
    assert secrets.get("dev", SecretKind.API_KEY) is None
    secrets.delete("prod", SecretKind.API_KEY)
    assert backend.store == {}
    secrets.delete("prod", SecretKind.API_KEY)  # already gone: not an error
    assert secrets.get("prod", SecretKind.API_KEY) is None


def test_delete_profile_removes_every_kind(store):
    secrets, backend = store
    for kind in SecretKind:
        secrets.set("p", kind, f"value-{kind}")
    secrets.set("other", SecretKind.API_KEY, KEY)
    secrets.delete_profile("p")
    assert list(backend.store) == [(SERVICE, "other:api-key")]


def test_env_overrides_stored_keys(store, monkeypatch):
    secrets, _ = store
    secrets.set("p", SecretKind.API_KEY, KEY)
    secrets.set("p", SecretKind.SIGNING_KEY, "stored-signing")
    monkeypatch.setenv("NANGO_SECRET_KEY", "from-env")
    monkeypatch.setenv("NANGO_WEBHOOK_SIGNING_KEY", "env-signing")
    assert secrets.get("p", SecretKind.API_KEY) == "from-env"
    assert secrets.get("any-profile", SecretKind.API_KEY) == "from-env"
    assert secrets.signing_keys("p") == ["env-signing"]


def test_env_override_works_without_any_keyring(monkeypatch):
    monkeypatch.setenv("NANGO_SECRET_KEY", "from-env")
    assert SecretStore(fail.Keyring()).get("p", SecretKind.API_KEY) == "from-env"


def test_signing_keys_current_then_previous_without_duplicates(store):
    secrets, _ = store
    assert secrets.signing_keys("p") == []
    secrets.set("p", SecretKind.SIGNING_KEY, "new")
    secrets.set("p", SecretKind.PREVIOUS_SIGNING_KEY, "old")
    assert secrets.signing_keys("p") == ["new", "old"]
    secrets.set("p", SecretKind.PREVIOUS_SIGNING_KEY, "new")
    assert secrets.signing_keys("p") == ["new"]


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_insecure_backends_are_refused_never_written(backend, tmp_home):
    secrets = SecretStore(backend)
    assert not secrets.is_secure
    assert secrets.backend_name.startswith("none")
    with pytest.raises(SecretStoreUnavailable) as info:
        secrets.set("p", SecretKind.API_KEY, KEY)
    assert info.value.title == "No secure keyring is available"
    assert "memory for this run only" in info.value.detail
    assert "never writes keys to a plain file" in info.value.detail
    assert KEY not in str(info.value)
    with pytest.raises(SecretStoreUnavailable):
        secrets.get("p", SecretKind.API_KEY)
    with pytest.raises(SecretStoreUnavailable):
        secrets.check()
    secrets.delete("p", SecretKind.API_KEY)  # nothing to delete, nothing to fail
    assert not [p for p in tmp_home.rglob("*") if p.is_file()]


def test_keep_in_memory_when_the_keyring_refuses():
    secrets = SecretStore(fail.Keyring())
    with pytest.raises(SecretStoreUnavailable) as info:
        secrets.set("p", SecretKind.API_KEY, KEY)
    assert info.value.can_keep_in_memory
    secrets.keep_in_memory("p", SecretKind.API_KEY, KEY)
    assert secrets.in_memory("p", SecretKind.API_KEY)
    assert secrets.get("p", SecretKind.API_KEY) == KEY
    assert KEY not in repr(secrets)
    secrets.delete("p", SecretKind.API_KEY)
    assert not secrets.in_memory("p", SecretKind.API_KEY)
    assert SecretStore(fail.Keyring()).in_memory("p", SecretKind.API_KEY) is False  # per store (per run)


def test_saving_to_the_keyring_replaces_the_memory_copy(store):
    secrets, backend = store
    secrets.keep_in_memory("p", SecretKind.API_KEY, "temporary")
    secrets.set("p", SecretKind.API_KEY, KEY)
    assert not secrets.in_memory("p", SecretKind.API_KEY)
    assert secrets.get("p", SecretKind.API_KEY) == KEY


def test_empty_values_are_refused(store):
    secrets, _ = store
    with pytest.raises(ValueError):
        secrets.set("p", SecretKind.API_KEY, "")
    with pytest.raises(ValueError):
        secrets.keep_in_memory("p", SecretKind.API_KEY, "")


def _chain(*backends):
    return type("Chain", (ChainerBackend,), {"backends": list(backends)})()


def test_chainer_is_secure_when_one_backend_is():
    assert SecretStore(_chain(fail.Keyring(), MemoryKeyring())).is_secure
    assert SecretStore(_chain(MemoryKeyring())).backend_name == MemoryKeyring.name
    assert not SecretStore(_chain(fail.Keyring())).is_secure
    empty = SecretStore(_chain())
    assert not empty.is_secure
    assert empty.backend_name == "none (no keyring backend found)"


def test_backend_names():
    assert describe_backend(fail.Keyring()) == "none (no keyring backend found)"
    assert describe_backend(null.Keyring()) == "none (keyring disabled)"
    assert describe_backend(MemoryKeyring()) == MemoryKeyring.name


def test_locked_keyring_gives_a_clear_message():
    secrets = SecretStore(RaisingKeyring(KeyringLocked("Failed to unlock the collection!")))
    for call in (
        lambda: secrets.get("p", SecretKind.API_KEY),
        lambda: secrets.set("p", SecretKind.API_KEY, KEY),
        lambda: secrets.delete("p", SecretKind.API_KEY),
    ):
        with pytest.raises(SecretStoreUnavailable) as info:
            call()
        assert info.value.title == "The system keyring is locked"
        assert "Unlock" in info.value.detail and KEY not in str(info.value)


@pytest.mark.parametrize("exc", [RuntimeError("dbus went away"), OSError(5, "I/O error"), ValueError("bad")])
def test_raising_backend_is_translated(exc):
    secrets = SecretStore(RaisingKeyring(exc))
    with pytest.raises(SecretStoreUnavailable) as info:
        secrets.set("p", SecretKind.API_KEY, KEY)
    assert info.value.title == "The system keyring refused access"
    assert type(exc).__name__ in info.value.detail
    assert info.value.__cause__ is exc
    assert KEY not in str(info.value)


def test_hanging_backend_times_out():
    backend = HangingKeyring()
    secrets = SecretStore(backend, timeout=0.2)
    try:
        with pytest.raises(SecretStoreUnavailable) as info:
            secrets.get("p", SecretKind.API_KEY)
        assert backend.entered.is_set()
        assert info.value.title == "The system keyring is not responding"
        assert "0.2 s" in info.value.detail
        # While the first call is stuck, others fail at once rather than piling up threads.
        with pytest.raises(SecretStoreUnavailable, match="not responding"):
            secrets.set("p", SecretKind.API_KEY, KEY)
        assert backend.calls == 1  # the second call never reached the stuck backend
        # The app keeps working: a key kept in memory is served without touching the stuck keyring.
        secrets.keep_in_memory("p", SecretKind.API_KEY, KEY)
        assert secrets.get("p", SecretKind.API_KEY) == KEY
    finally:
        backend.release.set()
    # Once the stuck call has returned, calls go through again.
    assert secrets._stuck.wait(10)
    assert secrets.get("q", SecretKind.API_KEY) is None


def test_key_deleted_outside_the_app_reads_as_missing(store):
    secrets, backend = store
    secrets.set("p", SecretKind.API_KEY, KEY)
    backend.store.clear()  # e.g. removed in Seahorse / Keychain Access
    assert secrets.get("p", SecretKind.API_KEY) is None


def test_rename_profile_moves_keys(store):
    secrets, backend = store
    secrets.set("old", SecretKind.API_KEY, KEY)
    secrets.keep_in_memory("old", SecretKind.SIGNING_KEY, "mem-signing")
    secrets.rename_profile("old", "new")
    assert backend.store == {(SERVICE, "new:api-key"): KEY}
    assert secrets.get("new", SecretKind.SIGNING_KEY) == "mem-signing"
    assert secrets.get("old", SecretKind.API_KEY) is None


def test_default_backend_is_the_process_keyring(memory_keyring):
    SecretStore().set("p", SecretKind.API_KEY, KEY)
    assert memory_keyring.store[(SERVICE, "p:api-key")] == KEY


def test_rename_profile_without_a_keyring_moves_memory_keys():
    secrets = SecretStore(fail.Keyring())
    secrets.keep_in_memory("old", SecretKind.API_KEY, KEY)
    secrets.rename_profile("old", "new")
    assert secrets.get("new", SecretKind.API_KEY) == KEY
    assert not secrets.in_memory("old", SecretKind.API_KEY)
