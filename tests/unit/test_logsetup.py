"""Logging: rotating file in log_dir(), and redaction of every secret shape we know."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nango_desktop import logsetup, redaction
from nango_desktop.logsetup import MASK, RedactingFilter, redact, setup_logging

UUID_KEY = "3f0c2a0e-1111-2222-3333-444455556666"
SESSION = "nango_connect_session_0123456789abcdef0123456789abcdef"
HMAC = "a3" * 32


@pytest.fixture
def app_logging():
    """setup_logging for one test; the root logger is restored afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    path = setup_logging(logging.DEBUG)
    yield path
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer sk-live-abcdef123456", "sk-live-abcdef123456"),
        ("headers={'authorization': 'Bearer eyJhbGciOi.eyJzdWIi.sig'}", "eyJhbGciOi.eyJzdWIi.sig"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        (f"GET https://connect.nango.dev/?session_token={SESSION}&apiURL=http://x", SESSION),
        (f"token is {SESSION}", SESSION),
        ('{"access_token": "ya29.a0AfH6SMB", "expires_in": 3600}', "ya29.a0AfH6SMB"),
        ('{"refresh_token":"1//0gLx-refresh"}', "1//0gLx-refresh"),
        ("{'api_key': 'SG.abcdefghijkl'}", "SG.abcdefghijkl"),
        ("client_secret=shhh-123456&grant_type=refresh", "shhh-123456"),
        (f"secret_key={UUID_KEY}", UUID_KEY),
        (f"using key {UUID_KEY} for prod", UUID_KEY),
        (f"X-Nango-Hmac-Sha256: {HMAC}", HMAC),
        (f"X-Nango-Signature: {HMAC}", HMAC),
        ('"password": "hunter2!"', "hunter2!"),
        ("nango_sk_0123456789abcdef", "nango_sk_0123456789abcdef"),
    ],
)
def test_redact_masks_secrets(text, secret):
    out = redact(text)
    assert secret not in out
    assert MASK in out


@pytest.mark.parametrize(
    "text",
    [
        "Error: The API key was rejected",
        f"connection {UUID_KEY} has an auth error",  # connection ids are UUIDs too: kept
        "GET /connections?limit=1000&page=2 -> 200",
        "Secret Service (GNOME Keyring) is locked",
        "",
    ],
)
def test_redact_keeps_ordinary_text(text):
    assert redact(text) == text


def test_redact_known_secret_values():
    assert redact("the key is plainvalue99", secrets=["plainvalue99"]) == f"the key is {MASK}"
    logsetup.add_known_secret("registered-secret-xyz")
    try:
        assert "registered-secret-xyz" not in redact("oops registered-secret-xyz leaked")
    finally:
        redaction.forget("registered-secret-xyz")


def test_log_file_in_log_dir_without_secrets(app_logging, tmp_home):
    assert app_logging == tmp_home / "logs" / "nango-desktop.log"
    log = logging.getLogger("nango_desktop.test")
    log.info("calling with headers %s", {"Authorization": "Bearer sk-test-abcdef123456"})
    log.warning("link %s", f"https://connect.nango.dev/?session_token={SESSION}")
    try:
        raise RuntimeError(f"failed with access_token=ya29.secretvalue and {SESSION}")
    except RuntimeError:
        log.exception("request failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = app_logging.read_text()
    assert "calling with headers" in text and "request failed" in text and "RuntimeError" in text
    for secret in ("sk-test-abcdef123456", SESSION, "ya29.secretvalue"):
        assert secret not in text


def test_setup_logging_is_idempotent(app_logging):
    setup_logging(logging.INFO)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_nango_desktop", False)]
    assert len(ours) == 1
    assert ours[0].maxBytes > 0 and ours[0].backupCount > 0


def test_filter_survives_bad_format_args():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items %s", ("many",), None)
    assert RedactingFilter().filter(record)
    assert "many" in record.getMessage()


def test_rotation(tmp_home):
    root = logging.getLogger()
    before = list(root.handlers)
    path = setup_logging(logging.INFO, max_bytes=2_000, backup_count=2)
    try:
        for i in range(200):
            logging.getLogger("rot").info("line %d %s", i, "x" * 50)
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
        logging.captureWarnings(False)
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["nango-desktop.log", "nango-desktop.log.1", "nango-desktop.log.2"]


TOKEN_CHARS = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-")


@given(token=st.text(TOKEN_CHARS, min_size=6, max_size=80), prefix=st.text(max_size=20))
def test_bearer_tokens_never_survive(token, prefix):
    assert token not in redact(f"{prefix} Authorization: Bearer {token}").split("Bearer", 1)[1]


@given(
    field=st.sampled_from(
        ["access_token", "refresh_token", "api_key", "secret_key", "password", "client_secret"]
    ),
    value=st.text(min_size=1, max_size=60),
)
def test_credential_values_in_json_are_masked(field, value):
    out = redact(json.dumps({field: value, "other": 1}))
    assert json.loads(out) == {field: MASK, "other": 1}
