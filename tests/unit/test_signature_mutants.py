"""Forgeries of either Nango signature header are never accepted (issue 12, "tests that cannot fail").

Each test sends ONE signature header holding a near miss of the right value (a truncation, a digest computed
without the key or with the key in the wrong place, the other header's digest, a digest of another body) and
asserts the webhook is not verified. Only one header is sent, so the tests hold whatever rule decides between
the two headers when both are present. Written against the public ``verify`` API only, with legacy-only
signatures accepted (the profile setting for old servers) so the legacy comparison itself is what is tested.

Checked against weakened verifiers (see the closing note of issue 12): comparing only the first 16 hex
characters, or accepting a key-less ``sha256(body)``, in either header, makes these tests fail.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from nango_desktop.services.signing import HMAC_HEADER, LEGACY_HEADER, VerificationStatus, verify
from tests.webhook_helpers import PREVIOUS_KEY, SIGNING_KEY, auth_webhook, nango_json

BODIES = {
    "auth webhook": nango_json(auth_webhook(connection_id="café-☕")),
    "empty body": b"",
    "one byte": b"{",
}


def right_hmac(key: str, raw: bytes) -> str:
    return hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()


def right_legacy(key: str, raw: bytes) -> str:
    return hashlib.sha256(key.encode() + raw).hexdigest()


RIGHT = {HMAC_HEADER: right_hmac, LEGACY_HEADER: right_legacy}


def forgeries(header: str, raw: bytes) -> dict[str, str]:
    """Values an attacker without the key can make, or a sloppy comparison might take for the right one."""
    right = RIGHT[header](SIGNING_KEY, raw)
    key = SIGNING_KEY.encode()
    out = {
        "sha256(body), no key": hashlib.sha256(raw).hexdigest(),
        "sha256(body + key)": hashlib.sha256(raw + key).hexdigest(),
        "sha256(key), no body": hashlib.sha256(key).hexdigest(),
        "hmac with an empty key": hmac.new(b"", raw, hashlib.sha256).hexdigest(),
        "hmac with key and body swapped": hmac.new(raw or b"\0", key, hashlib.sha256).hexdigest(),
        "the other header's digest": (right_legacy if header == HMAC_HEADER else right_hmac)(
            SIGNING_KEY, raw
        ),
        "digest of another body": RIGHT[header](SIGNING_KEY, raw + b" "),
        "digest with another key": RIGHT[header](PREVIOUS_KEY, raw),
        "all zeros": "0" * 64,
        "right value, last char changed": right[:-1] + ("0" if right[-1] != "0" else "1"),
        "right value, first char changed": ("0" if right[0] != "0" else "1") + right[1:],
        "right value doubled": right + right,
        "right value plus one char": right + "0",
        "sha1 of key + body": hashlib.sha1(key + raw).hexdigest(),
    }
    for length in (1, 8, 16, 32, 40, 48, 63):
        out[f"first {length} chars"] = right[:length]
        out[f"first {length} chars, zero padded"] = right[:length].ljust(64, "0")
    return {name: value for name, value in out.items() if value != right}  # sha256(key + b"") is right


CASES = [
    pytest.param(header, body_name, name, id=f"{header}-{body_name}-{name}")
    for header in (HMAC_HEADER, LEGACY_HEADER)
    for body_name, raw in BODIES.items()
    for name in forgeries(header, raw)
]


@pytest.mark.parametrize(("header", "body_name", "forgery"), CASES)
def test_forged_single_header_is_never_verified(header, body_name, forgery):
    raw = BODIES[body_name]
    value = forgeries(header, raw)[forgery]
    assert value != RIGHT[header](SIGNING_KEY, raw)
    key_sets = [[SIGNING_KEY]]
    if forgery != "digest with another key":
        key_sets.append([SIGNING_KEY, PREVIOUS_KEY])  # a rotation in progress: two candidate keys
    for keys in key_sets:
        result = verify(raw, {header: value}, keys, accept_legacy_only=True)
        assert result.status is not VerificationStatus.VERIFIED and not result.ok, (header, forgery, keys)
        assert result.key_index is None


@pytest.mark.parametrize("header", [HMAC_HEADER, LEGACY_HEADER])
@pytest.mark.parametrize("length", range(0, 64))
def test_every_prefix_of_the_right_signature_is_rejected(header, length):
    """A comparison that stops early (any prefix length, including the empty value) lets forgeries in."""
    raw = BODIES["auth webhook"]
    prefix = RIGHT[header](SIGNING_KEY, raw)[:length]
    result = verify(raw, {header: prefix}, [SIGNING_KEY], accept_legacy_only=True)
    assert result.status is not VerificationStatus.VERIFIED and not result.ok


@pytest.mark.parametrize("header", [HMAC_HEADER, LEGACY_HEADER])
def test_keyless_digest_rejected_with_any_configured_key(header):
    """sha256(body) needs no secret: an attacker can compute it for any body, so it must never verify."""
    raw = nango_json({"type": "auth", "operation": "creation", "success": True, "connectionId": "evil"})
    keyless = hashlib.sha256(raw).hexdigest()
    for keys in ([SIGNING_KEY], [PREVIOUS_KEY], [SIGNING_KEY, PREVIOUS_KEY]):
        assert not verify(raw, {header: keyless}, keys, accept_legacy_only=True).ok
        assert not verify(raw, {header: keyless.upper()}, keys, accept_legacy_only=True).ok


def test_control_the_real_hmac_alone_verifies():
    """The same call with the real value verifies, so the rejections above are about the value alone."""
    raw = BODIES["auth webhook"]
    result = verify(raw, {HMAC_HEADER: right_hmac(SIGNING_KEY, raw)}, [SIGNING_KEY])
    assert result.ok and result.status is VerificationStatus.VERIFIED


def test_control_the_real_legacy_alone_verifies_when_accepted():
    raw = BODIES["auth webhook"]
    result = verify(raw, {LEGACY_HEADER: right_legacy(SIGNING_KEY, raw)}, [SIGNING_KEY], accept_legacy_only=True)
    assert result.ok and result.legacy_only
