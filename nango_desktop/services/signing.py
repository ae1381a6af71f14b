"""Nango webhook signatures, checked on the raw request bytes.

Nango sends two headers with every webhook (NOTES.md, "Webhooks"):

- ``X-Nango-Hmac-Sha256`` = HMAC-SHA256 hex digest of the body with the signing key;
- ``X-Nango-Signature`` (legacy) = SHA-256 hex digest of ``key + body``.

Verification must run on the exact bytes received: re-serializing the JSON in Python changes key order
and escaping, and the signature no longer matches. Several keys are accepted at once (the current and the
previous one during a rotation); comparisons are constant time (:func:`hmac.compare_digest`).

A :class:`Verification` never contains a key nor the signature a key gives a body (only what was received,
each header's verdict and a short key fingerprint), so it can be stored and shown: see :func:`verify`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from nango_desktop.domain.webhooks import (
    HMAC_HEADER,
    LEGACY_HEADER,
    MATCH,
    MISMATCH,
    NOT_SENT,
    Verification,
    VerificationStatus,
)

__all__ = [
    "HMAC_HEADER",
    "LEGACY_HEADER",
    "Verification",
    "VerificationStatus",
    "hmac_signature",
    "key_fingerprint",
    "legacy_signature",
    "sign_body",
    "sign_headers",
    "verify",
]

_MAX_SIGNATURE_CHARS = 256  # what we keep of a received header (garbage can be long)


def hmac_signature(key: str, raw: bytes) -> str:
    return hmac.new(key.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def legacy_signature(key: str, raw: bytes) -> str:
    return hashlib.sha256(key.encode("utf-8") + raw).hexdigest()


def sign_headers(key: str, raw: bytes) -> dict[str, str]:
    """Both signature headers exactly as Nango sends them for ``raw``."""
    return {LEGACY_HEADER: legacy_signature(key, raw), HMAC_HEADER: hmac_signature(key, raw)}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            value = str(value).strip()
            return value[:_MAX_SIGNATURE_CHARS] if value else None
    return None


def _matches(expected: str, received: str | None) -> bool:
    if not received:
        return False
    # compare_digest needs ASCII str or bytes; garbled headers may hold anything.
    return hmac.compare_digest(expected.encode(), received.lower().encode("utf-8", "replace"))


def _matching_keys(
    raw: bytes, received_hmac: str | None, received_legacy: str | None, keys: Sequence[tuple[int, str]]
) -> tuple[int | None, int | None]:
    """The index of the first key that gives each received header, or None."""
    hmac_key = legacy_key = None
    for index, key in keys:
        # Both comparisons always run, for every key, so the time taken does not depend on what matched.
        hmac_ok = _matches(hmac_signature(key, raw), received_hmac)
        legacy_ok = _matches(legacy_signature(key, raw), received_legacy)
        if hmac_ok and hmac_key is None:
            hmac_key = index
        if legacy_ok and legacy_key is None:
            legacy_key = index
    return hmac_key, legacy_key


def _decide(
    received_hmac: str | None,
    received_legacy: str | None,
    hmac_key: int | None,
    legacy_key: int | None,
    accept_legacy_only: bool,
) -> tuple[VerificationStatus, str | None, int | None, str | None]:
    """(status, header, key index, reason) by the rules of :func:`verify`."""
    header = key_index = reason = None
    if received_hmac is not None:
        if hmac_key is not None:
            status, header, key_index = VerificationStatus.VERIFIED, HMAC_HEADER, hmac_key
        else:
            status = VerificationStatus.INVALID
            reason = f"{HMAC_HEADER} does not match"
            if legacy_key is not None:
                reason += f" ({LEGACY_HEADER} does, but cannot stand in for a wrong HMAC: downgrade refused)"
    elif received_legacy is not None:
        if legacy_key is None:
            status, reason = VerificationStatus.INVALID, f"{LEGACY_HEADER} does not match"
        elif accept_legacy_only:
            status, header, key_index = VerificationStatus.VERIFIED, LEGACY_HEADER, legacy_key
            reason = "legacy signature only: SHA-256(key + body) is weaker than the HMAC (length extension)"
        else:
            status = VerificationStatus.INVALID
            reason = (
                f"legacy signature only: refused ({LEGACY_HEADER} alone can be forged by length extension, and "
                f"Nango sends {HMAC_HEADER} with every webhook; the profile's listener settings can accept it)"
            )
    else:
        status, reason = VerificationStatus.UNSIGNED, "neither Nango signature header was sent"
    return status, header, key_index, reason


def key_fingerprint(key: str) -> str:
    """A short, non-reversible name of a signing key, for telling keys apart (never enough to sign)."""
    return hashlib.sha256(b"nango-desktop signing key fingerprint\0" + key.encode("utf-8")).hexdigest()[:8]


def verify(
    raw: bytes, headers: Mapping[str, str], keys: Sequence[str], *, accept_legacy_only: bool = False
) -> Verification:
    """Check ``raw`` against Nango's signature headers with each key (current first).

    - ``X-Nango-Hmac-Sha256`` sent: it alone decides. A wrong HMAC is INVALID even when the legacy header is
      right (that would be a downgrade to the weaker scheme).
    - Only ``X-Nango-Signature`` sent: SHA-256(key + body) is open to length extension (from one signed body an
      attacker makes a longer one with a valid signature), and Nango sends the HMAC header with every webhook,
      so a legacy-only request is INVALID unless ``accept_legacy_only`` (a profile setting, for old self-hosted
      servers); accepted, it is VERIFIED and marked weaker (:attr:`Verification.legacy_only`).
    - Neither: UNSIGNED. No key: NO_KEY.

    The result holds no expected signature: for an event that did not verify, the signature the key would
    give its (attacker-chosen) body must never be stored or shown.
    """
    received_hmac = _header(headers, HMAC_HEADER)
    received_legacy = _header(headers, LEGACY_HEADER)
    usable = [(index, key) for index, key in enumerate(keys) if key]  # key_index: the index in ``keys``
    if not usable:
        status = VerificationStatus.NO_KEY
        return Verification(
            status,
            received_hmac=received_hmac,
            received_legacy=received_legacy,
            reason="no webhook signing key is configured for this profile",
        )
    hmac_key, legacy_key = _matching_keys(raw, received_hmac, received_legacy, usable)
    hmac_result = NOT_SENT if received_hmac is None else (MATCH if hmac_key is not None else MISMATCH)
    legacy_result = NOT_SENT if received_legacy is None else (MATCH if legacy_key is not None else MISMATCH)
    status, header, key_index, reason = _decide(
        received_hmac, received_legacy, hmac_key, legacy_key, accept_legacy_only
    )
    return Verification(
        status,
        header=header,
        key_index=key_index,
        received_hmac=received_hmac,
        received_legacy=received_legacy,
        hmac_result=hmac_result,
        legacy_result=legacy_result,
        key_fingerprint=key_fingerprint(keys[key_index] if key_index is not None else usable[0][1]),
        reason=reason,
    )


# Names used in the layout section of ARCHITECTURE.md.
verify_signature = verify


def sign_body(key: str, raw: bytes) -> dict[str, str]:
    return sign_headers(key, raw)
