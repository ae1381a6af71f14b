"""Nango webhook signatures, checked on the raw request bytes.

Nango sends two headers with every webhook (NOTES.md, "Webhooks"):

- ``X-Nango-Hmac-Sha256`` = HMAC-SHA256 hex digest of the body with the signing key;
- ``X-Nango-Signature`` (legacy) = SHA-256 hex digest of ``key + body``.

Verification must run on the exact bytes received: re-serializing the JSON in Python changes key order
and escaping, and the signature no longer matches. Several keys are accepted at once (the current and the
previous one during a rotation); comparisons are constant time (:func:`hmac.compare_digest`).

A :class:`Verification` never contains a key, only digests, so it can be stored and shown.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from nango_desktop.domain.webhooks import HMAC_HEADER, LEGACY_HEADER, Verification, VerificationStatus

__all__ = [
    "HMAC_HEADER",
    "LEGACY_HEADER",
    "Verification",
    "VerificationStatus",
    "hmac_signature",
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


def verify(raw: bytes, headers: Mapping[str, str], keys: Sequence[str]) -> Verification:
    """Check ``raw`` against both Nango headers with each key (current first)."""
    received_hmac = _header(headers, HMAC_HEADER)
    received_legacy = _header(headers, LEGACY_HEADER)
    usable = [k for k in keys if k]
    if not usable:
        status = VerificationStatus.NO_KEY
        return Verification(status, received_hmac=received_hmac, received_legacy=received_legacy)
    expected = [(hmac_signature(k, raw), legacy_signature(k, raw)) for k in usable]
    found: tuple[str, int] | None = None
    for index, (exp_hmac, exp_legacy) in enumerate(expected):
        # Always run both comparisons so the time taken does not depend on which one matched.
        hmac_ok = _matches(exp_hmac, received_hmac)
        legacy_ok = _matches(exp_legacy, received_legacy)
        if found is None and (hmac_ok or legacy_ok):
            found = (HMAC_HEADER if hmac_ok else LEGACY_HEADER, index)
    if found is not None:
        status, header, key_index = VerificationStatus.VERIFIED, found[0], found[1]
    elif received_hmac is None and received_legacy is None:
        status, header, key_index = VerificationStatus.UNSIGNED, None, None
    else:
        status, header, key_index = VerificationStatus.INVALID, None, None
    # Expected digests: those of the key that matched, else of the current key.
    exp_hmac, exp_legacy = expected[key_index or 0]
    return Verification(
        status,
        header=header,
        key_index=key_index,
        expected_hmac=exp_hmac,
        received_hmac=received_hmac,
        expected_legacy=exp_legacy,
        received_legacy=received_legacy,
    )


# Names used in the layout section of ARCHITECTURE.md.
verify_signature = verify


def sign_body(key: str, raw: bytes) -> dict[str, str]:
    return sign_headers(key, raw)
