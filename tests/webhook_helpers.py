"""Build and post webhooks exactly as Nango does (shared by webhook, links and GUI tests).

Nango serializes the body with sorted keys and no whitespace (``JSON.stringify`` of a key-sorted object,
non-ASCII characters kept as UTF-8) and sends both signature headers (see ../shared/nango/NOTES.md).

    body = auth_webhook(connection_id="c1")
    status, reply = post_webhook(server.url, body, key="signing-key")
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from nango_desktop.services.signing import sign_headers
from nango_desktop.store.events import EventStore

SIGNING_KEY = "test-webhook-signing-key"
PREVIOUS_KEY = "previous-webhook-signing-key"
USER_AGENT = "nango/0.71.4 (linux; node 20)"


def nango_json(payload: Any) -> bytes:
    """Serialize like Nango: keys sorted, compact separators, UTF-8 (not \\u escapes)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def auth_webhook(
    *,
    connection_id: str = "conn-1",
    integration: str = "hubspot-crm",
    provider: str = "hubspot",
    operation: str = "creation",
    success: bool = True,
    end_user_id: str | None = "u1",
    error: dict | None = None,
    tags: dict | None = None,
    legacy_end_user: bool = False,
    environment: str = "dev",
) -> dict:
    body: dict[str, Any] = {
        "authMode": "OAUTH2",
        "connectionId": connection_id,
        "environment": environment,
        "from": "nango",
        "operation": operation,
        "provider": provider,
        "providerConfigKey": integration,
        "success": success,
        "type": "auth",
    }
    if tags is not None or end_user_id is not None:
        body["tags"] = dict(tags or {}, **({"end_user_id": end_user_id} if end_user_id else {}))
    if legacy_end_user and end_user_id:
        body["endUser"] = {"endUserId": end_user_id, "endUserEmail": f"{end_user_id}@example.com", "tags": {}}
    if not success:
        body["error"] = error or {"type": "refresh_token_external_error", "description": "invalid_grant"}
    return body


def sync_webhook(
    *,
    connection_id: str = "conn-1",
    integration: str = "hubspot-crm",
    sync_name: str = "contacts",
    model: str = "Contact",
    success: bool = True,
    added: int = 3,
    updated: int = 1,
    deleted: int = 0,
) -> dict:
    body: dict[str, Any] = {
        "connectionId": connection_id,
        "from": "nango",
        "model": model,
        "providerConfigKey": integration,
        "success": success,
        "syncName": sync_name,
        "syncType": "INCREMENTAL",
        "syncVariant": "base",
        "type": "sync",
    }
    if success:
        body["modifiedAfter"] = "2026-11-20T10:00:00.000Z"
        body["responseResults"] = {"added": added, "updated": updated, "deleted": deleted}
    else:
        body["error"] = {"type": "script_error", "description": "Cannot read properties of undefined"}
        body["startedAt"] = "2026-11-20T10:00:00.000Z"
        body["failedAt"] = "2026-11-20T10:00:05.000Z"
    return body


def async_action_webhook(
    *, connection_id: str = "conn-1", integration: str = "hubspot-crm", action_id: str = "a1"
):
    return {
        "connectionId": connection_id,
        "from": "nango",
        "payload": {"id": action_id, "statusUrl": f"/action/{action_id}"},
        "providerConfigKey": integration,
        "type": "async_action",
    }


def forward_webhook(
    *, connection_id: str = "conn-1", integration: str = "hubspot-crm", provider: str = "hubspot"
):
    return {
        "connectionId": connection_id,
        "from": provider,
        "payload": {"eventId": 42, "subscriptionType": "contact.creation"},
        "providerConfigKey": integration,
        "type": "forward",
    }


def nango_headers(
    raw: bytes, key: str | None = SIGNING_KEY, *, legacy: bool = True, hmac: bool = True
) -> dict:
    """Headers as Nango sends them; ``key=None`` for an unsigned request."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if key is not None:
        signed = sign_headers(key, raw)
        for name, value in signed.items():
            if (name == "X-Nango-Hmac-Sha256" and hmac) or (name == "X-Nango-Signature" and legacy):
                headers[name] = value
    return headers


def post_raw(
    url: str, raw: bytes, headers: Mapping[str, str], *, method: str = "POST", timeout: float = 10.0
) -> tuple[int, dict | str]:
    """One HTTP request with http.client (no retries, no header rewriting). Returns (status, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target or "/", body=raw, headers=dict(headers))
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode("utf-8", "replace")


def post_webhook(
    url: str, payload: Any, key: str | None = SIGNING_KEY, *, legacy: bool = True, hmac: bool = True, **kw
) -> tuple[int, dict | str]:
    """Serialize ``payload`` like Nango, sign it with ``key`` and post it to ``url``."""
    raw = payload if isinstance(payload, bytes) else nango_json(payload)
    return post_raw(url, raw, nango_headers(raw, key, legacy=legacy, hmac=hmac), **kw)


def post_like_nango(url: str, raw: bytes, headers: Mapping[str, str], *, attempts: int = 3) -> int | None:
    """Deliver like Nango: retry on 5xx and network errors only (no backoff wait in tests).

    Returns the final status, or None if every attempt failed at the network level.
    """
    status: int | None = None
    for _ in range(attempts):
        try:
            status, _reply = post_raw(url, raw, headers, timeout=10.0)
        except (OSError, http.client.HTTPException):
            status = None
            continue
        if status < 500:
            return status
    return status


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (for non-Qt tests; Qt tests use qtbot.waitUntil)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        threading.Event().wait(interval)
    return bool(predicate())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_listener(store: EventStore | None = None, *, keys=(SIGNING_KEY,), **kw) -> Iterator[Any]:
    """A WebhookServer on 127.0.0.1, random port, for the duration of a ``with`` block."""
    from nango_desktop.services.webhook_server import WebhookServer
    from nango_desktop.store.events import event_store_path

    own_store = store is None
    store = store or EventStore(event_store_path("test"), profile="test")
    server = WebhookServer(store, profile=store.profile, port=0, keys=lambda: list(keys), **kw)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if own_store:
            store.close()
