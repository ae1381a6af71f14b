"""Signature checks on raw bytes, as Nango signs (HMAC-SHA256 and the legacy sha256(key + body))."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from nango_desktop.domain.webhooks import MATCH, MISMATCH, NOT_SENT
from nango_desktop.services.signing import (
    HMAC_HEADER,
    LEGACY_HEADER,
    Verification,
    VerificationStatus,
    key_fingerprint,
    sign_headers,
    verify,
)
from tests.length_extension import extend
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
    assert (v.hmac_result, v.legacy_result) == (MATCH, MATCH)
    assert v.key_fingerprint == key_fingerprint(SIGNING_KEY) and v.reason is None


def test_wrong_key_is_invalid_and_never_carries_the_right_signature():
    """Issue 19 item 1: the result of a failed check holds no signature the key gives the body (an oracle)."""
    v = verify(RAW, nango_headers(RAW, "someone-else"), [SIGNING_KEY, PREVIOUS_KEY])
    assert v.status is VerificationStatus.INVALID and not v.ok
    assert v.header is None and v.key_index is None
    assert (v.hmac_result, v.legacy_result) == (MISMATCH, MISMATCH)
    shown = repr(v) + repr(v.to_dict()) + v.describe()
    for key in (SIGNING_KEY, PREVIOUS_KEY):
        for value in sign_headers(key, RAW).values():
            assert value not in shown and value.upper() not in shown and value[:16] not in shown
        assert key not in shown
    assert v.key_fingerprint == key_fingerprint(SIGNING_KEY)  # names the key checked, cannot sign


def test_key_fingerprint_is_short_stable_and_distinct():
    assert key_fingerprint(SIGNING_KEY) == key_fingerprint(SIGNING_KEY)
    assert len(key_fingerprint(SIGNING_KEY)) == 8 and key_fingerprint(SIGNING_KEY) not in SIGNING_KEY
    assert key_fingerprint(SIGNING_KEY) != key_fingerprint(PREVIOUS_KEY)


def test_previous_key_accepted_during_rotation():
    v = verify(RAW, nango_headers(RAW, PREVIOUS_KEY), [SIGNING_KEY, PREVIOUS_KEY])
    assert (v.status, v.key_index) == (VerificationStatus.VERIFIED, 1)
    assert v.key_fingerprint == key_fingerprint(PREVIOUS_KEY)  # of the key that matched


def test_key_index_names_the_position_in_the_keys_given():
    """An empty current key (not set) does not shift the previous key to 'current'."""
    v = verify(RAW, nango_headers(RAW, PREVIOUS_KEY), ["", PREVIOUS_KEY])
    assert (v.status, v.key_index) == (VerificationStatus.VERIFIED, 1)


def test_hmac_only_verifies():
    only_hmac = verify(RAW, nango_headers(RAW, legacy=False), [SIGNING_KEY])
    assert (only_hmac.status, only_hmac.header) == (VerificationStatus.VERIFIED, HMAC_HEADER)
    assert only_hmac.legacy_result == NOT_SENT


def test_legacy_only_is_refused_unless_accepted_and_then_marked_weaker():
    """Issue 19 item 2: SHA-256(key + body) alone can be forged by length extension."""
    headers = nango_headers(RAW, hmac=False)
    refused = verify(RAW, headers, [SIGNING_KEY])
    assert refused.status is VerificationStatus.INVALID and not refused.ok
    assert refused.legacy_result == MATCH and "legacy signature only" in refused.describe()
    accepted = verify(RAW, headers, [SIGNING_KEY], accept_legacy_only=True)
    assert (accepted.status, accepted.header) == (VerificationStatus.VERIFIED, LEGACY_HEADER)
    assert accepted.legacy_only and "weaker" in accepted.describe()
    assert not verify(RAW, nango_headers(RAW), [SIGNING_KEY]).legacy_only


def test_hmac_wrong_and_legacy_right_is_a_refused_downgrade():
    """Issue 19 item 2: when the HMAC header is sent it alone decides, whatever the legacy header says."""
    headers = nango_headers(RAW) | {HMAC_HEADER: "0" * 64}
    for accept in (False, True):
        v = verify(RAW, headers, [SIGNING_KEY, PREVIOUS_KEY], accept_legacy_only=accept)
        assert v.status is VerificationStatus.INVALID and v.key_index is None
        assert (v.hmac_result, v.legacy_result) == (MISMATCH, MATCH) and "downgrade" in v.describe()
    # and a right HMAC wins over a wrong legacy header
    headers = nango_headers(RAW) | {LEGACY_HEADER: "0" * 64}
    v = verify(RAW, headers, [SIGNING_KEY])
    assert (v.header, v.hmac_result, v.legacy_result) == (HMAC_HEADER, MATCH, MISMATCH)


def test_length_extended_body_is_not_verified():
    """Issue 19 item 2: from one signed (body, legacy signature) pair, as exports contain, a longer body with
    a valid legacy signature is forged without the key. It must not verify (it would under accept-legacy,
    which shows the forgery is real and why that setting is marked weaker)."""
    legacy = sign_headers(SIGNING_KEY, RAW)[LEGACY_HEADER]
    extension = b',"connectionId":"attacker","operation":"creation","success":true}'
    forged, forged_sig = extend(legacy, len(SIGNING_KEY.encode()), RAW, extension)
    assert forged != RAW and forged_sig == hashlib.sha256(SIGNING_KEY.encode() + forged).hexdigest()
    assert not verify(forged, {LEGACY_HEADER: forged_sig}, [SIGNING_KEY]).ok
    both = {LEGACY_HEADER: forged_sig, HMAC_HEADER: sign_headers(SIGNING_KEY, RAW)[HMAC_HEADER]}
    assert not verify(forged, both, [SIGNING_KEY]).ok
    assert verify(forged, {LEGACY_HEADER: forged_sig}, [SIGNING_KEY], accept_legacy_only=True).legacy_only


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
    accept_legacy=st.booleans(),
)
def test_verify_is_total(body, headers, keys, accept_legacy):
    v = verify(body, headers, keys, accept_legacy_only=accept_legacy)
    assert v.status in VerificationStatus
    if v.ok:
        assert v.key_index is not None and keys[v.key_index]


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), key=st.text(min_size=1, max_size=40))
def test_signed_bodies_always_verify(body, key):
    assert verify(body, sign_headers(key, body), ["other", key]).key_index == 1
