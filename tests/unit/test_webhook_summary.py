"""domain.webhooks: every Nango webhook shape -> WebhookSummary; parse errors with their position."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nango_desktop.domain.webhooks import WebhookKind, WebhookSummary, parse_body, summarize
from tests.webhook_helpers import (
    async_action_webhook,
    auth_webhook,
    forward_webhook,
    nango_json,
    sync_webhook,
)

# The real delivery from NOTES.md ("Observed on a self-hosted Nango server").
REAL_AUTH = (
    b'{"authMode":"API_KEY","connectionId":"21713068-abc","endUser":{"endUserEmail":"u7@example.com",'
    b'"endUserId":"u7","tags":{}},"environment":"dev","from":"nango","operation":"creation","provider":"sendgrid",'
    b'"providerConfigKey":"sendgrid-test","success":true,"tags":{"end_user_display_name":"User Seven",'
    b'"end_user_email":"u7@example.com","end_user_id":"u7","project":"p1"},"type":"auth"}'
)


def test_real_auth_creation():
    body, problem = parse_body(REAL_AUTH)
    assert problem is None
    s = summarize(body)
    assert s == WebhookSummary(
        kind=WebhookKind.AUTH,
        type="auth",
        operation="creation",
        success=True,
        integration="sendgrid-test",
        connection_id="21713068-abc",
        end_user_id="u7",
        provider="sendgrid",
    )
    assert not s.is_auth_failure


def test_auth_refresh_failure_has_error_and_tag_end_user():
    s = summarize(auth_webhook(operation="refresh", success=False, end_user_id="u9"))
    assert (s.operation, s.success, s.end_user_id) == ("refresh", False, "u9")
    assert s.error == "refresh_token_external_error: invalid_grant"
    assert s.is_auth_failure
    assert "FAILED" in s.describe()


def test_auth_override_without_end_user():
    s = summarize(auth_webhook(operation="override", end_user_id=None))
    assert (s.operation, s.end_user_id) == ("override", None)


def test_sync_success_and_error():
    ok = summarize(sync_webhook(added=5, updated=2, deleted=1))
    assert (ok.kind, ok.operation, ok.success, ok.sync_name, ok.model) == (
        WebhookKind.SYNC,
        "INCREMENTAL",
        True,
        "contacts",
        "Contact",
    )
    assert ok.results == "+5 ~2 -1"
    failed = summarize(sync_webhook(success=False))
    assert failed.success is False and failed.error.startswith("script_error: ")
    no_flag = dict(sync_webhook(success=False))
    del no_flag["success"]
    assert summarize(no_flag).success is False  # derived from the error


def test_async_action_and_forward():
    action = summarize(async_action_webhook(action_id="act-7"))
    assert (action.kind, action.operation, action.connection_id) == (
        WebhookKind.ASYNC_ACTION,
        "act-7",
        "conn-1",
    )
    forward = summarize(forward_webhook(provider="slack"))
    assert (forward.kind, forward.provider, forward.integration) == (
        WebhookKind.FORWARD,
        "slack",
        "hubspot-crm",
    )


def test_raw_provider_payload_and_unknown_nango_type():
    raw = summarize({"event": "contact.created", "type": "contact"})
    assert (raw.kind, raw.type, raw.connection_id) == (WebhookKind.RAW, "contact", None)
    assert summarize([1, 2]).kind is WebhookKind.RAW
    newer = summarize({"from": "nango", "type": "connection.deleted", "connectionId": "c"})
    assert (newer.kind, newer.type, newer.connection_id) == (WebhookKind.UNKNOWN, "connection.deleted", "c")


def test_wrong_field_types_are_ignored():
    s = summarize({"type": "auth", "connectionId": {"x": 1}, "success": "yes", "error": "boom", "tags": []})
    assert (s.connection_id, s.success, s.error, s.end_user_id) == (None, None, "boom", None)


def test_summary_round_trip():
    s = summarize(sync_webhook())
    assert WebhookSummary.from_dict(s.to_dict()) == s


def test_parse_errors_give_positions():
    assert parse_body(b'{"a": 1,}')[1] == (
        "Body is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 9 (char 8)"
    )
    assert parse_body(b'{"a":\n tru}')[1].endswith("line 2 column 2 (char 7)")
    assert parse_body(b"\xff\xfe{}")[1] == "Body is not valid UTF-8: invalid byte at offset 0"
    assert parse_body(b"")[1].startswith("Body is not valid JSON")
    assert parse_body("﻿{}".encode())[0] == {}  # a UTF-8 BOM is tolerated
    assert parse_body(b"[" * 100_000)[1] is not None  # deep nesting does not crash


def test_non_ascii_survives():
    body, problem = parse_body(nango_json(auth_webhook(connection_id="ünïcødé-日本")))
    assert problem is None and summarize(body).connection_id == "ünïcødé-日本"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_summarize_is_total(value):
    assert isinstance(summarize(value), WebhookSummary)
    if isinstance(value, dict):
        assert isinstance(summarize({**value, "type": "auth"}).describe(), str)
