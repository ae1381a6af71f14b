"""API keys and webhook signing keys: in the OS keyring only, never in a file.

``SecretStore`` wraps a ``keyring`` backend (service ``nango-desktop``, account ``"<profile>:<kind>"``).
Environment variables override stored keys (``NANGO_SECRET_KEY``, ``NANGO_WEBHOOK_SIGNING_KEY``) for
scripts and CI. When no secure backend exists (keyring's fail/null backends, keyrings.alt plaintext
files) or the keyring is locked, refuses, raises or hangs, calls raise ``SecretStoreUnavailable`` with a
user-facing title and detail; the caller may then offer ``keep_in_memory`` for this run only. There is
deliberately no plaintext fallback.

Every keyring call runs on a daemon thread bounded by ``timeout`` (an unlock prompt or a stuck D-Bus
daemon must not freeze the caller); still, call these methods from a worker, not the GUI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

from nango_desktop import redaction

# keyring is imported when first used (~100 ms: its backends pull in secretstorage + cryptography), not on
# the way to the CLI's first byte or the GUI's first paint.
if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)


def _keyring_errors() -> ModuleType:
    import keyring.errors

    return keyring.errors


SERVICE = "nango-desktop"
T = TypeVar("T")


class SecretKind(StrEnum):
    API_KEY = "api-key"
    SIGNING_KEY = "webhook-signing-key"
    PREVIOUS_SIGNING_KEY = "webhook-signing-key-previous"


ENV_OVERRIDES: dict[SecretKind, str] = {
    SecretKind.API_KEY: "NANGO_SECRET_KEY",
    SecretKind.SIGNING_KEY: "NANGO_WEBHOOK_SIGNING_KEY",
}

# Backends that store nothing, fail on purpose, or keep secrets in a file we do not trust.
INSECURE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

_BACKEND_NAMES = {
    "keyring.backends.SecretService": "Secret Service",
    "keyring.backends.libsecret": "Secret Service (libsecret)",
    "keyring.backends.kwallet": "KWallet",
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Manager",
    "keyring.backends.fail": "none (no keyring backend found)",
    "keyring.backends.null": "none (keyring disabled)",
    "keyrings.alt": "plaintext file (insecure, not used)",
}

# /proc/<pid>/comm of the process owning org.freedesktop.secrets -> a name people recognise.
_SECRET_SERVICE_PROVIDERS = {
    "gnome-keyring-d": "GNOME Keyring",
    "gnome-keyring-daemon": "GNOME Keyring",
    "kwalletd5": "KWallet",
    "kwalletd6": "KWallet",
    "keepassxc": "KeePassXC",
}

_NO_PLAINTEXT = "Nango Desktop never writes keys to a plain file."


class SecretStoreUnavailable(Exception):  # noqa: N818 (name fixed by the architecture contract)
    """The keyring cannot be used right now. ``title`` is for the user; ``detail`` says why and what to do."""

    can_keep_in_memory = True

    def __init__(self, title: str, detail: str) -> None:
        super().__init__(title, detail)
        self.title = title
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}"


def _module_of(backend: object) -> str:
    return type(backend).__module__


def _is_insecure(backend: object) -> bool:
    module = _module_of(backend)
    return any(module == m or module.startswith(m + ".") for m in INSECURE_MODULES)


def _leaf_backends(backend: KeyringBackend) -> list[KeyringBackend]:
    """The chainer backend wraps several; report the ones that would be tried."""
    inner = getattr(backend, "backends", None)
    return list(inner) if isinstance(inner, list | tuple) else [backend]  # an empty chain stores nothing


def _secret_service_provider(timeout: float = 1.0) -> str | None:
    """Which program serves org.freedesktop.secrets on this session bus (best effort)."""
    try:
        from jeepney import DBus  # jeepney ships with secretstorage
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus="SESSION") as conn:
            reply = conn.send_and_get_reply(
                DBus().GetConnectionUnixProcessID("org.freedesktop.secrets"), timeout=timeout
            )
            (pid,) = reply.body
        comm = Path(f"/proc/{int(pid)}/comm").read_text(encoding="utf-8").strip()
    except Exception:  # no bus, no owner yet (D-Bus activation), not Linux...
        return None
    return _SECRET_SERVICE_PROVIDERS.get(comm, comm or None)


def describe_backend(backend: KeyringBackend) -> str:
    """A human name for a keyring backend, e.g. "Secret Service (GNOME Keyring)" or "macOS Keychain"."""
    leaves = _leaf_backends(backend)
    if not leaves:
        return _BACKEND_NAMES["keyring.backends.fail"]
    chosen = next((b for b in leaves if not _is_insecure(b)), leaves[0])
    module = _module_of(chosen)
    name = next((v for k, v in _BACKEND_NAMES.items() if module == k or module.startswith(k + ".")), None)
    if name is None:
        name = str(getattr(chosen, "name", type(chosen).__name__))
    if module == "keyring.backends.SecretService":
        provider = _secret_service_provider()
        if provider:
            name = f"Secret Service ({provider})"
    return name


class SecretStore:
    """Keys per profile in the OS keyring, with env overrides and an opt-in in-memory fallback."""

    def __init__(self, backend: KeyringBackend | None = None, *, timeout: float = 10.0) -> None:
        self._backend = backend
        self.timeout = timeout
        self._memory: dict[tuple[str, SecretKind], str] = {}
        self._lock = threading.Lock()
        self._name: str | None = None
        self._stuck: threading.Event | None = None  # set when a timed-out call finally returns

    def __repr__(self) -> str:
        return f"<SecretStore backend={type(self.backend).__name__} in_memory={len(self._memory)}>"

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    @property
    def backend_name(self) -> str:
        """E.g. "Secret Service (GNOME Keyring)". The first access may ask D-Bus who provides the Secret
        Service (bounded to 1 s); warm it up on a worker if the GUI needs it early."""
        if self._name is None:
            self._name = describe_backend(self.backend)
        return self._name

    @property
    def is_secure(self) -> bool:
        return any(not _is_insecure(b) for b in _leaf_backends(self.backend))

    # -- public API -------------------------------------------------------------------------------------

    def get(self, profile: str, kind: SecretKind) -> str | None:
        """The key, or None when none is stored. Env override, then this run's memory, then the keyring.

        Raises SecretStoreUnavailable when the keyring cannot be read (no secure backend, locked, error,
        no answer within ``timeout``).
        """
        value = self._lookup(profile, SecretKind(kind))
        redaction.register(value)  # every key the app holds is masked in logs and crash reports from now on
        return value

    def _lookup(self, profile: str, kind: SecretKind) -> str | None:
        env = ENV_OVERRIDES.get(kind)
        if env and os.environ.get(env):
            return os.environ[env]
        with self._lock:
            if (profile, kind) in self._memory:
                return self._memory[(profile, kind)]
        self._require_secure("read")
        return self._call("read", lambda b: b.get_password(SERVICE, _account(profile, kind))) or None

    def set(self, profile: str, kind: SecretKind, value: str) -> None:
        """Store ``value`` in the keyring. Raises SecretStoreUnavailable rather than store it insecurely."""
        kind = SecretKind(kind)
        if not value:
            raise ValueError("refusing to store an empty key")
        redaction.register(value)
        self._require_secure("save")
        self._call("save", lambda b: b.set_password(SERVICE, _account(profile, kind), value))
        with self._lock:
            self._memory.pop((profile, kind), None)  # the keyring is authoritative again

    def delete(self, profile: str, kind: SecretKind) -> None:
        """Forget the key (memory and keyring). A key that is already gone is not an error."""
        kind = SecretKind(kind)
        with self._lock:
            self._memory.pop((profile, kind), None)
        if not self.is_secure:
            return  # nothing can have been stored there

        def _delete(b: KeyringBackend) -> None:
            try:
                b.delete_password(SERVICE, _account(profile, kind))
            except _keyring_errors().PasswordDeleteError:
                pass

        self._call("delete", _delete)

    def delete_profile(self, profile: str) -> None:
        for kind in SecretKind:
            self.delete(profile, kind)

    def keep_in_memory(self, profile: str, kind: SecretKind, value: str) -> None:
        """Use ``value`` for this run only (the keyring refused it); it is gone when the app exits."""
        if not value:
            raise ValueError("refusing to keep an empty key")
        redaction.register(value)
        with self._lock:
            self._memory[(profile, SecretKind(kind))] = value

    def in_memory(self, profile: str, kind: SecretKind) -> bool:
        with self._lock:
            return (profile, SecretKind(kind)) in self._memory

    def rename_profile(self, old: str, new: str) -> None:
        """Move every stored key of ``old`` to ``new``."""
        for kind in SecretKind:
            with self._lock:
                mem = self._memory.pop((old, kind), None)
            if mem is not None:
                self.keep_in_memory(new, kind, mem)
                continue
            if not self.is_secure:
                continue  # nothing can be stored there
            account = _account(old, kind)
            value = self._call("read", lambda b: b.get_password(SERVICE, account))  # noqa: B023 - called at once
            if value:
                self.set(new, kind, value)
                self.delete(old, kind)

    def signing_keys(self, profile: str) -> list[str]:
        """Current then previous webhook signing key (for verification across a rotation)."""
        keys: list[str] = []
        for kind in (SecretKind.SIGNING_KEY, SecretKind.PREVIOUS_SIGNING_KEY):
            try:
                value = self.get(profile, kind)
            except SecretStoreUnavailable:
                if keys:  # the env override is enough to verify; the previous key is a bonus
                    break
                raise
            if value and value not in keys:
                keys.append(value)
        return keys

    def check(self) -> None:
        """Probe the keyring once (a read of a key that does not exist); raise SecretStoreUnavailable if unusable."""
        self._require_secure("save")
        self._call("read", lambda b: b.get_password(SERVICE, "__probe__"))

    # -- internals --------------------------------------------------------------------------------------

    def _require_secure(self, verb: str) -> None:
        if self.is_secure:
            return
        raise SecretStoreUnavailable(
            "No secure keyring is available",
            f"The key cannot be {_PAST[verb]}: keyring backend is {self.backend_name}. "
            "Install or unlock a system keyring (GNOME Keyring / KWallet via the Secret Service, macOS "
            "Keychain, Windows Credential Manager), set NANGO_SECRET_KEY in the environment, or keep the "
            f"key in memory for this run only. {_NO_PLAINTEXT}",
        )

    def _call(self, verb: str, fn: Callable[[KeyringBackend], T]) -> T:
        """Run ``fn(backend)`` on a daemon thread; translate failures and timeouts.

        While an earlier call is still stuck, new calls fail at once instead of piling up threads.
        """
        stuck = self._stuck
        if stuck is not None and not stuck.is_set():
            raise self._not_responding()
        backend = self.backend
        done = threading.Event()
        outcome: dict[str, object] = {}

        def runner() -> None:
            try:
                outcome["value"] = fn(backend)
            except BaseException as exc:  # reported to the caller below
                outcome["error"] = exc
            finally:
                done.set()

        # A daemon thread, not a pool: a keyring that never answers must not block the process exit.
        threading.Thread(target=runner, name="keyring-call", daemon=True).start()
        if not done.wait(self.timeout):
            self._stuck = done
            raise self._not_responding()
        error = outcome.get("error")
        if error is None:
            return outcome.get("value")  # type: ignore[return-value]
        assert isinstance(error, BaseException)
        raise self._translate(verb, error) from error

    def _not_responding(self) -> SecretStoreUnavailable:
        return SecretStoreUnavailable(
            "The system keyring is not responding",
            f"{self.backend_name} did not answer within {self.timeout:g} s (it may be waiting for an "
            "unlock prompt). Unlock it and try again, or keep the key in memory for this run only.",
        )

    def _translate(self, verb: str, exc: BaseException) -> SecretStoreUnavailable:
        kind = type(exc).__name__
        log.warning("Keyring %s failed (%s): %s", verb, kind, exc)
        errors = _keyring_errors()
        if isinstance(exc, errors.KeyringLocked):
            return SecretStoreUnavailable(
                "The system keyring is locked",
                f"{self.backend_name} is locked and was not unlocked, so the key cannot be {_PAST[verb]}. "
                "Unlock your keyring (log in again or open your keyring manager) and retry, or keep the key "
                "in memory for this run only.",
            )
        if isinstance(exc, errors.NoKeyringError):
            return SecretStoreUnavailable("No secure keyring is available", f"{exc}. {_NO_PLAINTEXT}")
        return SecretStoreUnavailable(
            "The system keyring refused access",
            f"{self.backend_name} failed to {verb} the key ({kind}: {exc}). Retry, or keep the key in "
            "memory for this run only.",
        )


_PAST = {"read": "read", "save": "saved", "delete": "deleted"}


def _account(profile: str, kind: SecretKind) -> str:
    return f"{profile}:{SecretKind(kind).value}"
