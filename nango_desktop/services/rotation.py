"""Webhook signing-key rotation (issue 14 item 6). Qt-free: the CLI and the GUI both use it.

Nango switches keys at once when ``POST /environment/webhook-signing-key/rotate`` answers: the next webhook
is signed with the new key only, but deliveries already queued or being retried (up to ~49 s, see
``store.events.RETRY_WINDOW_SECONDS``) still carry the old signature. So the app keeps the old key as the
*previous* key (OS keyring) for a while, with an expiry (``previous-signing-key-<profile>.json`` in the data
directory: a time, not a secret). Listeners read their keys through :class:`KeyCache`/:func:`active_signing_keys`:
current first, then the previous one until it expires; an event verified by the previous key says so
(``Verification.key_index == 1``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nango_desktop.paths import data_dir
from nango_desktop.services.secrets import SecretKind, SecretStoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_OVERLAP_MINUTES = 60  # how long the previous key still verifies after a rotation
KEY_CACHE_SECONDS = 5.0  # keys are re-read at least this often (and at once when a webhook fails to verify)


def expiry_path(profile: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in profile) or "_"
    return data_dir() / f"previous-signing-key-{safe}.json"


def previous_key_expiry(profile: str) -> float | None:
    """When the previous key stops verifying (epoch seconds), or None (no rotation recorded)."""
    try:
        data = json.loads(expiry_path(profile).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("expires_at") if isinstance(data, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _write_expiry(profile: str, expires_at: float) -> None:
    path = expiry_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"expires_at": expires_at}), encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class RotationResult:
    profile: str
    previous_kept: bool  # False when no key was stored before (nothing to keep)
    expires_at: float | None  # when the previous key stops verifying
    minutes: int

    def describe(self) -> str:
        if not self.previous_kept:
            return (
                f"New signing key stored for “{self.profile}” (no previous key was stored, so only events "
                "signed with the new key verify)."
            )
        until = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.expires_at or 0))
        return (
            f"New signing key stored for “{self.profile}”; the previous key still verifies for "
            f"{self.minutes} min (until {until}), for webhooks Nango had already queued or is retrying."
        )


def rotate_signing_key(
    client: Any,
    secrets: Any,
    profile: str,
    *,
    minutes: int = DEFAULT_OVERLAP_MINUTES,
    clock: Callable[[], float] = time.time,
) -> RotationResult:
    """Rotate on Nango, then store the new key as current and the old one as previous (for ``minutes``).

    The old key is read before the call, so a keyring that cannot be read fails before Nango switches.
    """
    if minutes < 0:
        raise ValueError("minutes must be >= 0")
    old = secrets.get(profile, SecretKind.SIGNING_KEY)
    new = client.rotate_webhook_signing_key()
    value = new.get_secret_value() if hasattr(new, "get_secret_value") else str(new)
    return store_signing_key(secrets, profile, value, old=old, minutes=minutes, clock=clock)


def store_signing_key(
    secrets: Any,
    profile: str,
    value: str,
    *,
    old: str | None = None,
    minutes: int = DEFAULT_OVERLAP_MINUTES,
    clock: Callable[[], float] = time.time,
) -> RotationResult:
    """Store ``value`` as the current key; a different key stored before becomes the previous one for
    ``minutes`` (also when a key is replaced by hand, e.g. ``profile add --force --with-signing-key``)."""
    if old is None:
        old = secrets.get(profile, SecretKind.SIGNING_KEY)
    secrets.set(profile, SecretKind.SIGNING_KEY, value)
    expires_at = None
    kept = bool(old and old != value)
    if kept:
        secrets.set(profile, SecretKind.PREVIOUS_SIGNING_KEY, old)
        expires_at = clock() + minutes * 60
        _write_expiry(profile, expires_at)
    return RotationResult(profile, kept, expires_at, minutes)


def active_signing_keys(secrets: Any, profile: str, *, clock: Callable[[], float] = time.time) -> list[str]:
    """The keys a listener verifies with now: the current one, then the previous one until it expires. An
    expired previous key is deleted from the keyring (and its expiry record) the first time this sees it."""
    keys = list(secrets.signing_keys(profile))
    if len(keys) > 1:
        expires = previous_key_expiry(profile)
        if expires is not None and clock() >= expires:
            keys = keys[:1]
            forget_previous_key(secrets, profile)
    return keys


def forget_previous_key(secrets: Any, profile: str) -> None:
    """Delete the previous signing key and its expiry; a keyring that refuses now is tried again next time."""
    try:
        secrets.delete(profile, SecretKind.PREVIOUS_SIGNING_KEY)
    except SecretStoreUnavailable as exc:
        log.warning("The expired previous signing key of %s could not be deleted yet: %s", profile, exc.title)
        return
    expiry_path(profile).unlink(missing_ok=True)
    log.info("The previous webhook signing key of %s expired and was deleted", profile)


def without_expired_previous(
    profile: str, keys: list[str], *, clock: Callable[[], float] = time.time
) -> list[str]:
    """``keys`` (current, previous) without the previous key once its recorded expiry has passed: what
    :func:`active_signing_keys` would give, decided without the keyring (the expiry is a file, not a secret)."""
    if len(keys) > 1:
        expires = previous_key_expiry(profile)
        if expires is not None and clock() >= expires:
            return keys[:1]
    return keys


class KeyCache:
    """Signing keys for listener threads (the GUI's listeners and ``listen``), re-read at most every ``ttl``
    seconds (keyring calls are slow): a rotation done elsewhere reaches a running listener without a restart.
    ``invalidate()`` makes the next request read them again at once (after a rotation in the same process, or
    when a webhook fails to verify).

    One rule when reading:

    - a read that succeeds replaces the keys, also when it gives none: a key deleted from the keyring (by this
      app, by hand, or an expired previous key) stops verifying at the next read;
    - a read that fails (keyring locked or unavailable, or any other error) keeps the last keys read, so a
      keyring that locks with the screen does not turn every delivery into an unverified one; ``prune`` still
      drops what must stop verifying without the keyring (an expired previous key, see
      :func:`without_expired_previous`). The failure is logged once until a read succeeds again; the read is
      tried again after ``ttl``.
    """

    def __init__(
        self,
        source: Callable[[], Sequence[str]],
        ttl: float = KEY_CACHE_SECONDS,
        *,
        prune: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        self._source, self._ttl, self._prune = source, ttl, prune
        self._lock = threading.Lock()
        self._keys: list[str] = []
        self._read_at: float | None = None
        self._failing = False

    def __repr__(self) -> str:  # never the keys themselves
        return f"<KeyCache {len(self._keys)} key(s)>"

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = None

    def __call__(self) -> list[str]:
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at > self._ttl:
                self._read_at = now
                self._refresh()
            return list(self._keys)

    def _refresh(self) -> None:
        try:
            self._keys = [k for k in self._source() if k]
        except Exception as exc:  # noqa: BLE001 - whatever the keyring raises, the listener goes on
            if not self._failing:
                reason = exc.title if isinstance(exc, SecretStoreUnavailable) else f"{type(exc).__name__}"
                log.warning(
                    "Could not read the webhook signing keys (%s); verifying with the last %d key(s) read",
                    reason,
                    len(self._keys),
                    exc_info=not isinstance(exc, SecretStoreUnavailable),
                )
            self._failing = True
            if self._prune is not None and self._keys:
                try:
                    self._keys = [k for k in self._prune(list(self._keys)) if k]
                except Exception:  # noqa: BLE001 - cannot tell what is still valid: verify with nothing
                    log.warning("Could not check the previous signing key's expiry", exc_info=True)
                    self._keys = []
            return
        if self._failing:
            log.info("The webhook signing keys can be read again")
        self._failing = False
