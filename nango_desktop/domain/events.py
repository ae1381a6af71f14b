"""Received webhooks as the app keeps them (Qt-free, no storage): :class:`StoredEvent`, the result of forwarding
one (:class:`ForwardResult`), the filter the Webhooks page and ``events list`` query with (:class:`EventFilter`)
and what makes two deliveries the same (:func:`dedupe_key`). The SQLite store is ``store/events.py``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nango_desktop.domain.webhooks import (
    HMAC_HEADER,
    LEGACY_HEADER,
    Verification,
    WebhookSummary,
    parse_body,
)

REPLAY_HEADER = "X-Nango-Desktop-Replay"  # set on a replayed event: its id of origin
REDACTED = "[redacted]"  # the stored value of a header that could carry a credential


@dataclass
class StoredEvent:
    id: int
    received_at: float
    peer: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    verification: Verification
    malformed: str | None
    summary: WebhookSummary | None
    duplicates: int
    pinned: bool
    profile: str
    replay_of: int | None
    last_seen_at: float | None = None

    @property
    def body_text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The parsed body, or None when malformed."""
        return None if self.malformed else parse_body(self.body)[0]

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (export, ``events show --format json``). The body is included as text when it is
        valid UTF-8, with ``body_json`` when it parses."""
        try:
            body_text: str | None = self.body.decode("utf-8")
        except UnicodeDecodeError:
            body_text = None
        data: dict[str, Any] = {
            "id": self.id,
            "profile": self.profile,
            "received_at": self.received_at,
            "received_at_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.received_at)),
            "last_seen_at": self.last_seen_at,
            "peer": self.peer,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "verification": self.verification.to_dict(),
            "malformed": self.malformed,
            "summary": self.summary.to_dict() if self.summary else None,
            "duplicates": self.duplicates,
            "pinned": self.pinned,
            "replay_of": self.replay_of,
            "body": body_text,
        }
        if body_text is None:
            data["body_hex"] = self.body.hex()
        elif not self.malformed:
            data["body_json"] = self.json()
        return data


@dataclass
class ForwardResult:
    event_id: int
    url: str
    at: float
    replay: bool = False
    status: int | None = None
    latency: float | None = None  # seconds
    response_body: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class EventFilter:
    """All set fields must match (AND). ``search`` is a substring of the body."""

    type: str | None = None
    operation: str | None = None
    success: bool | None = None
    integration: str | None = None
    connection_id: str | None = None
    end_user_id: str | None = None
    verification: str | None = None  # a VerificationStatus value
    malformed: bool | None = None
    pinned: bool | None = None
    replay: bool | None = None
    since: float | None = None
    until: float | None = None
    search: str | None = None
    ids: list[int] | None = field(default=None)


def dedupe_key(body: bytes, headers: Mapping[str, str]) -> str:
    """Same body + same signature headers (+ same replay marker) = the same delivery."""
    lower = {k.lower(): v for k, v in headers.items()}
    digest = hashlib.sha256(body)
    for name in (HMAC_HEADER, LEGACY_HEADER, REPLAY_HEADER):
        digest.update(b"\0" + (lower.get(name.lower()) or "").encode("utf-8", "replace"))
    return digest.hexdigest()
