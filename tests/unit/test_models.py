"""API models: unknown fields, legacy end users, derived helpers, secrets kept out of reprs."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr, ValidationError

from nango_desktop.domain.models import (
    CONNECT_SESSION_ADAPTER,
    CONNECT_SESSION_INFO_ADAPTER,
    CONNECTION_FULL_ADAPTER,
    CONNECTIONS_ADAPTER,
    INTEGRATIONS_ADAPTER,
    MASK,
    SYNCS_ADAPTER,
    Connection,
    ConnectionFull,
    ConnectSession,
    LegacyEndUser,
)

ACCESS_TOKEN = "ya29.access-token-value-0001"
REFRESH_TOKEN = "1//refresh-token-value-0002"
SESSION_TOKEN = "nango_connect_session_0123456789abcdef"


def row(**overrides) -> dict:
    base = {
        "id": 7,
        "connection_id": "conn-7",
        "provider": "hubspot",
        "provider_config_key": "hubspot-crm",
        "created": "2026-05-01T10:00:00.000Z",
        "metadata": None,
        "tags": {},
        "errors": [],
    }
    return {**base, **overrides}


def full(**overrides) -> dict:
    base = row()
    del base["created"]
    base.update(
        created_at="2026-05-01T10:00:00.000Z",
        updated_at="2026-05-02T10:00:00.000Z",
        last_fetched_at="2026-05-03T10:00:00.000Z",
        connection_config={"portalId": 42},
        metadata={"plan": "pro"},
        credentials={
            "type": "OAUTH2",
            "access_token": ACCESS_TOKEN,
            "refresh_token": REFRESH_TOKEN,
            "expires_at": "2026-05-03T11:00:00.000Z",
            "raw": {"access_token": ACCESS_TOKEN, "expires_in": 3600},
        },
    )
    base.update(overrides)
    return base


def test_list_page_parses_from_bytes_with_unknown_fields():
    body = {"connections": [row(future_field={"x": 1}), row(id=8, connection_id="conn-8")], "next": None}
    page = CONNECTIONS_ADAPTER.validate_json(json.dumps(body).encode())
    first = page.connections[0]
    assert isinstance(first, Connection)
    assert first.future_field == {"x": 1}
    assert [c.id for c in page.connections] == [7, 8]
    assert first.integration_id == "hubspot-crm"


def test_null_tags_and_errors_become_empty():
    conn = Connection.model_validate(row(tags=None, errors=None))
    assert conn.tags == {} and conn.errors == []
    assert conn.status == "ok"


def test_status_and_error_log_ids():
    auth = Connection.model_validate(
        row(errors=[{"type": "sync", "log_id": "S1"}, {"type": "auth", "log_id": "A1"}])
    )
    assert auth.has_auth_error and auth.has_sync_error
    assert auth.status == "auth_error"
    assert auth.auth_error_log_id == "A1" and auth.sync_error_log_id == "S1"
    sync = Connection.model_validate(row(errors=[{"type": "sync", "log_id": "S2"}]))
    assert sync.status == "sync_error" and not sync.has_auth_error and sync.auth_error_log_id is None
    assert Connection.model_validate(row()).status == "ok"


def test_customer_from_tags():
    conn = Connection.model_validate(
        row(
            tags={
                "end_user_id": "u1",
                "end_user_email": "ada@example.com",
                "organization_display_name": "Acme",
            }
        )
    )
    assert conn.customer.customer == "ada@example.com"
    assert conn.customer.organization == "Acme"


def test_customer_follows_tag_changes():
    conn = Connection.model_validate(row(tags={"end_user_id": "u1"}))
    assert conn.customer.customer == "u1"
    copy = conn.model_copy(update={"tags": {"end_user_display_name": "Ada"}})
    assert copy.customer.customer == "Ada" and conn.customer.customer == "u1"
    conn.tags = {"end_user_email": "ada@example.com"}
    assert conn.customer.customer == "ada@example.com"
    assert conn == Connection.model_validate(row(tags={"end_user_email": "ada@example.com"}))
    assert "customer" not in conn.model_dump()


def test_legacy_end_user_maps_to_tags_and_customer():
    conn = Connection.model_validate(
        row(
            end_user={
                "id": "u9",
                "email": "nine@example.com",
                "display_name": "Nine",
                "tags": {"x": "y"},
                "organization": {"id": "org-1", "display_name": "Org One"},
            },
            tags={"project": "p1"},
        )
    )
    assert isinstance(conn.end_user, LegacyEndUser)
    assert conn.end_user.as_tags() == {
        "end_user_id": "u9",
        "end_user_email": "nine@example.com",
        "end_user_display_name": "Nine",
        "organization_id": "org-1",
        "organization_display_name": "Org One",
    }
    assert conn.all_tags["project"] == "p1" and conn.all_tags["end_user_id"] == "u9"
    assert conn.customer.customer == "Nine"
    assert conn.customer.organization_id == "org-1"


def test_created_datetime():
    conn = Connection.model_validate(row())
    assert conn.created_at_datetime is not None and conn.created_at_datetime.year == 2026
    assert Connection.model_validate(row(created="not a date")).created_at_datetime is None


def test_wrong_shapes_are_validation_errors():
    for bad in (row(id="seven"), row(tags={"k": 1}), row(errors=[{"log_id": "x"}]), {"id": 1}):
        with pytest.raises(ValidationError):
            Connection.model_validate(bad)


def test_connection_full_credentials_are_secret():
    conn = CONNECTION_FULL_ADAPTER.validate_json(json.dumps(full()).encode())
    assert isinstance(conn, ConnectionFull)
    assert conn.created == "2026-05-01T10:00:00.000Z"  # from created_at
    assert all(isinstance(v, SecretStr) for v in conn.credentials.values())
    for text in (repr(conn), str(conn), conn.model_dump_json(), repr(conn.credentials)):
        assert ACCESS_TOKEN not in text and REFRESH_TOKEN not in text
    assert conn.credentials_type == "OAUTH2"
    assert conn.credentials_expires_at is not None
    masked = conn.credentials_masked()
    assert masked == {
        "type": "OAUTH2",
        "access_token": MASK,
        "refresh_token": MASK,
        "expires_at": "2026-05-03T11:00:00.000Z",
        "raw": MASK,
    }
    assert conn.credential("access_token") == ACCESS_TOKEN
    assert json.loads(conn.credential("raw")) == {"access_token": ACCESS_TOKEN, "expires_in": 3600}
    assert conn.connection_config == {"portalId": 42}


def test_unknown_secret_looking_fields_stay_out_of_reprs():
    conn = ConnectionFull.model_validate(full(access_token=ACCESS_TOKEN, note="visible"))
    assert ACCESS_TOKEN not in repr(conn) and ACCESS_TOKEN not in str(conn)
    assert "visible" in repr(conn)


def test_connection_full_without_credentials():
    conn = ConnectionFull.model_validate(full(credentials=None, connection_config=None))
    assert conn.credentials == {} and conn.credentials_masked() == {} and conn.credentials_type is None


def test_connect_session_token_and_link_hidden():
    body = {
        "data": {
            "token": SESSION_TOKEN,
            "connect_link": f"https://connect.nango.dev/?session_token={SESSION_TOKEN}",
            "expires_at": "2026-05-01T10:30:00.000Z",
        }
    }
    session = CONNECT_SESSION_ADAPTER.validate_json(json.dumps(body).encode()).data
    assert isinstance(session, ConnectSession)
    assert session.token.get_secret_value() == SESSION_TOKEN
    assert session.connect_link.endswith(SESSION_TOKEN)
    assert session.expires_at.tzinfo is not None
    for text in (repr(session), str(session)):
        assert SESSION_TOKEN not in text


def test_connect_session_info_is_lenient():
    body = {
        "data": {
            "end_user": {"id": "u1", "email": "a@example.com"},
            "allowed_integrations": ["github"],
            "isReconnecting": True,
            "connectUISettings": {"theme": "dark"},
        }
    }
    info = CONNECT_SESSION_INFO_ADAPTER.validate_json(json.dumps(body).encode()).data
    assert info.end_user.id == "u1"
    assert info.is_reconnecting is True
    assert info.allowed_integrations == ["github"]
    assert info.connectUISettings == {"theme": "dark"}
    assert info.customer.end_user_id == "u1" and info.customer.customer == "a@example.com"


def test_connect_session_info_camel_case_end_user():
    body = {"data": {"endUser": {"id": "u2", "display_name": "Two", "organization": {"id": "o2"}}}}
    info = CONNECT_SESSION_INFO_ADAPTER.validate_json(json.dumps(body).encode()).data
    assert info.end_user.id == "u2"
    assert info.customer.customer == "Two" and info.customer.organization_id == "o2"
    assert info.is_reconnecting is None


def test_integrations_and_sync_status():
    integrations = INTEGRATIONS_ADAPTER.validate_json(
        json.dumps(
            {
                "data": [
                    {
                        "unique_key": "gh",
                        "display_name": "GitHub",
                        "provider": "github",
                        "logo": "https://x/logo.svg",
                        "created_at": "2026-01-01T00:00:00Z",
                        "updated_at": "2026-01-01T00:00:00Z",
                        "forward_webhooks": True,
                        "new": 1,
                    },
                    {"unique_key": "bare", "provider": "slack"},
                ]
            }
        ).encode()
    ).data
    assert [i.label for i in integrations] == ["GitHub", "bare"]
    assert integrations[0].forward_webhooks is True
    syncs = SYNCS_ADAPTER.validate_json(
        b'{"syncs":[{"id":"s1","name":"issues","status":"SUCCESS","recordCount":{"Issue":3},"extra":1}]}'
    ).syncs
    assert syncs[0].name == "issues" and syncs[0].recordCount == {"Issue": 3}


def test_tens_of_thousands_of_rows_parse_in_one_pass():
    rows = [
        row(
            id=i,
            connection_id=f"c{i}",
            tags={"end_user_id": f"u{i % 300}"},
            errors=[{"type": "auth", "log_id": "L"}],
        )
        if i % 7 == 0
        else row(id=i, connection_id=f"c{i}")
        for i in range(30_000)
    ]
    page = CONNECTIONS_ADAPTER.validate_json(json.dumps({"connections": rows}).encode())
    assert len(page.connections) == 30_000
    assert sum(c.status == "auth_error" for c in page.connections) == len(range(0, 30_000, 7))
