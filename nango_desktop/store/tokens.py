"""Live connect-session tokens, kept only while their link is alive.

A session token lets anyone holding it connect an account for the end user, and lets us inspect or
revoke the link. It is never written to the history file, settings, logs or reprs. It lives in memory
for this run; with a keyring backend it is also kept in the OS keyring (service ``nango-desktop``,
account ``<profile>:connect-session:<link id>``) so a restarted app can still revoke a live link. It is
dropped from both as soon as the link is no longer alive (expired, revoked, completed, failed).

Keyring calls may block (unlock prompts, D-Bus): call this from worker threads when a keyring is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

log = logging.getLogger(__name__)

SERVICE = "nango-desktop"


def account_name(profile: str, link_id: int) -> str:
    return f"{profile}:connect-session:{link_id}"


class SessionTokens:
    """Thread-safe ``link id -> SecretStr`` map, optionally mirrored in a keyring backend."""

    def __init__(
        self, keyring_backend: Any | None = None, *, resolve: Callable[[], Any | None] | None = None
    ) -> None:
        """``keyring_backend``: the backend to mirror tokens in (None: memory only). ``resolve``: a function
        that finds it, called once on first need (finding a keyring may block: it runs on a worker then)."""
        self._tokens: dict[int, tuple[str, SecretStr]] = {}
        self._lock = threading.Lock()
        self._keyring = keyring_backend
        self._resolve = resolve
        self._resolve_lock = threading.Lock()

    def __repr__(self) -> str:
        known = "unknown yet" if self._resolve is not None else ("yes" if self._keyring else "no")
        return f"<SessionTokens {len(self)} live, keyring={known}>"

    def _backend(self) -> Any | None:
        if self._resolve is not None:
            with self._resolve_lock:
                if self._resolve is not None:
                    try:
                        self._keyring = self._resolve()
                    except Exception as exc:  # noqa: BLE001 - no keyring: memory only
                        log.info("No keyring for connect session tokens: %s", type(exc).__name__)
                        self._keyring = None
                    self._resolve = None
        return self._keyring

    @property
    def uses_keyring(self) -> bool:
        """Whether tokens are mirrored in a keyring (finds the keyring first if needed: may block)."""
        return self._backend() is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)

    def __contains__(self, link_id: object) -> bool:
        with self._lock:
            return link_id in self._tokens

    def put(self, link_id: int, token: str | SecretStr, *, profile: str) -> None:
        secret = token if isinstance(token, SecretStr) else SecretStr(token)
        with self._lock:
            self._tokens[link_id] = (profile, secret)
        backend = self._backend()
        if backend is not None:
            try:
                backend.set_password(SERVICE, account_name(profile, link_id), secret.get_secret_value())
            except Exception as exc:  # noqa: BLE001 - memory is enough for this run
                log.warning("Could not keep a connect session token in the keyring: %s", type(exc).__name__)

    def get(self, link_id: int, *, profile: str | None = None) -> SecretStr | None:
        """The live token, from memory or (for links issued by an earlier run) the keyring."""
        with self._lock:
            found = self._tokens.get(link_id)
        if found is not None:
            return found[1]
        if profile is None:
            return None
        backend = self._backend()
        if backend is None:
            return None
        try:
            value = backend.get_password(SERVICE, account_name(profile, link_id))
        except Exception as exc:  # noqa: BLE001
            log.warning("Could not read a connect session token from the keyring: %s", type(exc).__name__)
            return None
        if not value:
            return None
        secret = SecretStr(value)
        with self._lock:
            self._tokens[link_id] = (profile, secret)
        return secret

    def drop(self, link_id: int, *, profile: str | None = None) -> None:
        """Forget the token (memory and keyring): the link is no longer alive."""
        found = self.forget(link_id)
        self.delete_from_keyring(link_id, found or profile)

    def forget(self, link_id: int) -> str | None:
        """Drop the token from memory only (instant); returns its profile if it was there."""
        with self._lock:
            found = self._tokens.pop(link_id, None)
        return found[0] if found is not None else None

    def delete_from_keyring(self, link_id: int, profile: str | None) -> None:
        """Delete the keyring copy (may block: call it from a worker)."""
        if profile is None:
            return
        backend = self._backend()
        if backend is None:
            return
        try:
            backend.delete_password(SERVICE, account_name(profile, link_id))
        except Exception:  # noqa: BLE001, S110 - not there (PasswordDeleteError) or keyring gone
            pass

    def clear(self) -> None:
        """Drop every token from memory (keyring entries of live links stay until they are dropped)."""
        with self._lock:
            self._tokens.clear()
