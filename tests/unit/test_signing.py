"""Signature checks on raw bytes, as Nango signs (HMAC-SHA256 and the legacy sha256(key + body))."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from nango_desktop.services.signing import (
    HMAC_HEADER,
    LEGACY_HEADER,
    Verification,
    VerificationStatus,
    sign_headers,
    verify,
)
from tests.webhook_helpers import PREVIOUS_KEY, SIGNING_KEY, auth_webhook, nango_headers, nango_json

RAW = nango_json(auth_webhook(connection_id="café-☕"))


def test_sign_headers_match_nango_definitions():
    headers = sign_headers("k", b'{"a":1}')
    assert headers[HMAC_HEADER] == hmac.new(b"k", b'{"a":1}', hashlib.sha256).hexdigest()
    assert headers[LEGACY_HEADER] == hashlib.sha256(b'k{"a":1}').hexdigest()


def test_right_key_verifies_with_hmac_header_first():
    v = verify(RAW, nango_headers(RAW), [SIGNING_KEY])
    assert v.status is VerificationStatus.VERIFIED and v.ok
    assert (v.header, v.key_index) == (HMAC_HEADER, 0)
    assert v.expected_hmac == v.received_hmac and v.expected_legacy == v.received_legacy


def test_wrong_key_is_invalid_and_shows_expected_vs_received():
    v = verify(RAW, nango_headers(RAW, "someone-else"), [SIGNING_KEY])
    assert v.status is VerificationStatus.INVALID and not v.ok
    assert v.header is None and v.key_index is None
    assert v.expected_hmac == sign_headers(SIGNING_KEY, RAW)[HMAC_HEADER] != v.received_hmac
    assert v.expected_legacy == sign_headers(SIGNING_KEY, RAW)[LEGACY_HEADER] != v.received_legacy


def test_previous_key_accepted_during_rotation():
    v = verify(RAW, nango_headers(RAW, PREVIOUS_KEY), [SIGNING_KEY, PREVIOUS_KEY])
    assert (v.status, v.key_index) == (VerificationStatus.VERIFIED, 1)
    assert v.expected_hmac == v.received_hmac  # digests of the key that matched


def test_legacy_only_and_hmac_only():
    legacy = verify(RAW, nango_headers(RAW, hmac=False), [SIGNING_KEY])
    assert (legacy.status, legacy.header) == (VerificationStatus.VERIFIED, LEGACY_HEADER)
    assert legacy.received_hmac is None
    only_hmac = verify(RAW, nango_headers(RAW, legacy=False), [SIGNING_KEY])
    assert (only_hmac.status, only_hmac.header) == (VerificationStatus.VERIFIED, HMAC_HEADER)


def test_one_good_header_is_enough_even_if_the_other_is_wrong():
    headers = nango_headers(RAW) | {LEGACY_HEADER: "0" * 64}
    assert verify(RAW, headers, [SIGNING_KEY]).header == HMAC_HEADER


def test_unsigned_and_no_key():
    assert (
        verify(RAW, {"Content-Type": "application/json"}, [SIGNING_KEY]).status is VerificationStatus.UNSIGNED
    )
    no_key = verify(RAW, nango_headers(RAW), [])
    assert no_key.status is VerificationStatus.NO_KEY
    assert no_key.received_hmac == sign_headers(SIGNING_KEY, RAW)[HMAC_HEADER]
    assert verify(RAW, nango_headers(RAW), ["", ""]).status is VerificationStatus.NO_KEY


def test_header_names_are_case_insensitive_and_values_trimmed():
    signed = sign_headers(SIGNING_KEY, RAW)
    headers = {"x-nango-hmac-sha256": f"  {signed[HMAC_HEADER].upper()} "}
    assert verify(RAW, headers, [SIGNING_KEY]).ok


def test_reserialized_body_no_longer_verifies():
    """Why we verify raw bytes: Python's default json.dumps escapes non-ASCII and adds spaces."""
    import json

    reserialized = json.dumps(json.loads(RAW)).encode()
    assert not verify(reserialized, nango_headers(RAW), [SIGNING_KEY]).ok


def test_garbled_headers_never_raise_and_are_truncated():
    headers = {HMAC_HEADER: "é\udcff" * 500, LEGACY_HEADER: "\x00"}
    v = verify(RAW, headers, [SIGNING_KEY])
    assert v.status is VerificationStatus.INVALID
    assert len(v.received_hmac) <= 256


def test_verification_round_trips_through_dict_without_keys():
    v = verify(RAW, nango_headers(RAW), [SIGNING_KEY, PREVIOUS_KEY])
    data = v.to_dict()
    assert Verification.from_dict(data) == v
    assert SIGNING_KEY not in repr(data) and PREVIOUS_KEY not in repr(v)
    assert "current key" in v.describe()


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=512),
    headers=st.dictionaries(
        st.sampled_from([HMAC_HEADER, LEGACY_HEADER, "x-nango-signature", "Content-Type", "X"]),
        st.text(max_size=80),
        max_size=4,
    ),
    keys=st.lists(st.text(max_size=20), max_size=3),
)
def test_verify_is_total(body, headers, keys):
    v = verify(body, headers, keys)
    assert v.status in VerificationStatus
    if v.ok:
        assert v.key_index is not None and keys[v.key_index]


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), key=st.text(min_size=1, max_size=40))
def test_signed_bodies_always_verify(body, key):
    assert verify(body, sign_headers(key, body), ["other", key]).key_index == 1
