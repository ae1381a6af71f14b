"""The one redaction module (issue 19 items 7 and 9): secrets registered once are masked in every encoding a
server might echo them in, and headers are redacted by name pattern."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nango_desktop import redaction
from nango_desktop.redaction import MASK, is_sensitive_header, redact, redact_headers

KEY = "5d0f3c7e-9b1a-4c2d-8e6f-0a1b2c3d4e5f"


# The registry is process-wide by design: these tests look at their own values only (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_redaction")


@pytest.fixture
def registered():
    redaction.register(KEY)
    yield KEY
    redaction.forget(KEY)


def encodings(value: str) -> dict[str, str]:
    raw = value.encode()
    return {
        "plain": value,
        "upper": value.upper(),
        "title": value.title(),
        "url-encoded": quote(value, safe=""),
        "quote_plus": quote_plus(value),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "base64": base64.b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
        "urlsafe base64": base64.urlsafe_b64encode(raw).decode(),
        "basic auth user:key": base64.b64encode(b"user:" + raw).decode(),
        "basic auth key:": base64.b64encode(raw + b":").decode(),
        "basic auth ab:key": base64.b64encode(b"ab:" + raw).decode(),
        "json string": json.dumps(value),
    }


@pytest.mark.parametrize("form", list(encodings(KEY)))
def test_every_common_encoding_of_a_registered_key_is_masked(registered, form):
    encoded = encodings(KEY)[form]
    text = f"Nango said: invalid credentials {encoded} (request 42)"
    out = redact(text)
    assert encoded not in out and KEY not in out, out
    assert "Nango said: invalid credentials" in out and "(request 42)" in out


def test_secrets_passed_in_are_masked_in_their_encodings_too():
    value = "plain-secret-value-77"
    b64 = base64.b64encode(value.encode()).decode()
    assert value not in redact(f"x {b64} y", secrets=[value]).replace(MASK, "")
    assert b64 not in redact(f"x {b64} y", secrets=[value])


@settings(max_examples=200, deadline=None)
@given(prefix=st.binary(max_size=7), suffix=st.binary(max_size=7))
def test_a_key_inside_any_base64_text_is_masked(prefix, suffix):
    encoded = base64.b64encode(prefix + KEY.encode() + suffix).decode()
    out = redact(f"echo: {encoded}", secrets=[KEY])
    # what remains decodes to at most a few bytes around the key, never the key
    assert MASK in out
    for piece in out.replace("echo: ", "").split(MASK):
        try:
            decoded = base64.b64decode(piece + "=" * (-len(piece) % 4))
        except ValueError:
            continue
        assert KEY.encode()[:8] not in decoded and KEY.encode()[-8:] not in decoded


@pytest.mark.parametrize(
    "text",
    [
        "GET /connections 200",
        "connection conn-59-6 of integration github",
        "user 8f14e45f-ceea-467a-9575-1c9d1a4b0a11 created",  # a plain UUID (connection ids are UUIDs)
        "Retry-After: 30",
    ],
)
def test_ordinary_text_is_kept(registered, text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "X-Nango-Secret-Key",
        "x-nango-secret-key",
        "X-Auth-Token",
        "X-Access-Token",
        "Stripe-Secret",
        "X-Webhook-Secret",
        "Api-Key",
        "apikey",
        "X-Session",
        "X-Password",
        "X-Client-Credentials",
    ],
)
def test_sensitive_headers_by_pattern(name):
    assert is_sensitive_header(name)


@pytest.mark.parametrize(
    "name",
    [
        "Content-Type",
        "Content-Length",
        "User-Agent",
        "X-Nango-Signature",
        "X-Nango-Hmac-Sha256",
        "X-Request-Id",
        "Keep-Alive",
        "Accept",
        "Provider-Config-Key",
        "Connection-Id",
    ],
)
def test_ordinary_headers_are_kept(name):
    assert not is_sensitive_header(name)


def test_redact_headers_keeps_names_and_masks_values():
    headers = {"X-Nango-Secret-Key": KEY, "Content-Type": "application/json", "X-Custom-Token": "t0k3n-abc"}
    assert redact_headers(headers) == {
        "X-Nango-Secret-Key": MASK,
        "Content-Type": "application/json",
        "X-Custom-Token": MASK,
    }


def test_one_module_decides_for_every_caller(registered):
    """logsetup, services.errors and qtutil.errors all use this module (no copies that drift)."""
    from nango_desktop import logsetup
    from nango_desktop.services import errors

    b64 = base64.b64encode(KEY.encode()).decode()
    for fn in (logsetup.redact, errors.redact):
        assert b64 not in fn(f"echo {b64}") and KEY.upper() not in fn(f"echo {KEY.upper()}")


@pytest.mark.parametrize("form", ["url-encoded", "quote_plus", "base64", "upper", "json string"])
def test_a_key_with_special_characters_is_masked_url_encoded_too(form):
    value = "k3y/with+special=chars&é"
    encoded = encodings(value)[form]
    assert encoded != value or form == "json string"
    redaction.register(value)
    try:
        out = redact(f"echo {encoded} end")
    finally:
        redaction.forget(value)
    assert encoded not in out and "echo" in out and "end" in out


@pytest.mark.parametrize(
    "name", ["Nango-Proxy-Authorization", "Nango-Proxy-Cookie", "Nango-Proxy-X-Api-Key", "Nango-Proxy-Session-Id"]
)
def test_prefixed_credential_headers_are_sensitive(name):
    assert is_sensitive_header(name)
