"""Understand the webhooks Nango sends (Qt-free, no I/O).

Nango posts JSON objects serialized with sorted keys and no whitespace. The shapes we know
(see ``../shared/nango/NOTES.md``):

- ``auth``: ``operation`` creation | override | refresh, ``success``, ``connectionId``, ``providerConfigKey``,
  ``provider``, ``authMode``, ``tags``?, ``endUser``?, ``error``? ``{type, description}``;
- ``sync``: ``syncName``, ``model``, ``syncType``/``syncVariant``, ``responseResults`` ``{added, updated,
  deleted}`` or ``error`` with ``startedAt``/``failedAt``;
- ``async_action``: ``payload`` ``{id, statusUrl}``;
- ``forward``: ``from`` is the provider, ``payload`` is the provider's body;
- a raw provider payload (integration set to forward without the wrapper): anything not from Nango;
- newer or unknown Nango types (``from: "nango"`` with another ``type``) are kept as ``unknown``.

:func:`parse_body` turns raw bytes into JSON or a precise syntax-error message; :func:`summarize` turns a
parsed body into a :class:`WebhookSummary` for tables, filters and the CLI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any


class WebhookKind(StrEnum):
    AUTH = "auth"
    SYNC = "sync"
    ASYNC_ACTION = "async_action"
    FORWARD = "forward"
    RAW = "raw"  # an unwrapped provider payload
    UNKNOWN = "unknown"  # from Nango, but a type we do not know (yet)


_KNOWN_TYPES = {"auth", "sync", "async_action", "forward"}


@dataclass(frozen=True)
class WebhookSummary:
    kind: WebhookKind
    type: str | None = None  # the body's "type" as sent ("auth", "sync", ...)
    operation: str | None = None  # auth: creation|override|refresh; sync: syncType; async_action: action id
    success: bool | None = None
    integration: str | None = None  # providerConfigKey
    connection_id: str | None = None
    end_user_id: str | None = None
    error: str | None = None  # "type: description"
    provider: str | None = None
    sync_name: str | None = None
    model: str | None = None
    results: str | None = None  # sync results, "+added ~updated -deleted"

    def to_dict(self) -> dict[str, Any]:
        return {
            key: (str(value) if isinstance(value, StrEnum) else value) for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WebhookSummary:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["kind"] = WebhookKind(values.get("kind") or WebhookKind.UNKNOWN)
        return cls(**values)

    @property
    def is_auth_failure(self) -> bool:
        """An auth webhook reporting a failure (creation/override failed, refresh error)."""
        return self.kind is WebhookKind.AUTH and self.success is False

    def describe(self) -> str:
        """One short line for logs, notifications and the CLI."""
        parts = [str(self.type or self.kind)]
        if self.operation:
            parts.append(self.operation)
        if self.success is not None:
            parts.append("ok" if self.success else "FAILED")
        if self.integration:
            parts.append(self.integration)
        if self.connection_id:
            parts.append(self.connection_id)
        if self.error:
            parts.append(self.error)
        return " ".join(parts)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def loads_strict(text: str) -> Any:
    """``json.loads`` that accepts only what every JSON reader can write back: no ``NaN``/``Infinity``, no
    number that overflows to infinity. Raises ValueError (JSONDecodeError for syntax errors, and for an integer
    of more digits than Python converts, 4,300 by default)."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def parse_body(raw: bytes) -> tuple[Any, str | None]:
    """Decode ``raw`` as UTF-8 JSON. Returns ``(value, None)`` or ``(None, problem)``. Never raises.

    The problem names the position of the syntax error (line, column, byte offset) so the inspector can
    point at it. Bodies that are JSON only to lenient readers (``NaN``, ``1e999``, an integer of 5,000 digits)
    are malformed too: they are kept as received, and nothing we export or show has to write them back.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"Body is not valid UTF-8: invalid byte at offset {exc.start}"
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return loads_strict(text), None
    except json.JSONDecodeError as exc:
        return (
            None,
            f"Body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})",
        )
    except RecursionError:
        return None, "Body is not valid JSON: nested too deeply"
    except ValueError as exc:
        return None, f"Body is not usable JSON: {str(exc)[:200]}"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _error_text(error: Any) -> str | None:
    if error is None or error == {}:
        return None
    if isinstance(error, dict):
        kind = _text(error.get("type") or error.get("code"))
        description = _text(error.get("description") or error.get("message"))
        joined = ": ".join(p for p in (kind, description) if p)
        return joined or json.dumps(error, sort_keys=True)[:500]
    return str(error)[:500]


def _end_user_id(body: dict[str, Any]) -> str | None:
    end_user = body.get("endUser")
    if isinstance(end_user, dict):
        found = _text(end_user.get("endUserId") or end_user.get("id"))
        if found:
            return found
    tags = body.get("tags")
    if isinstance(tags, dict):
        return _text(tags.get("end_user_id"))
    return None


def _results(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return " ".join(
        f"{sign}{value[key]}"
        for sign, key in (("+", "added"), ("~", "updated"), ("-", "deleted"))
        if key in value
    )


def summarize(body: Any) -> WebhookSummary:
    """Summarize a parsed webhook body. Never raises, whatever the input."""
    if not isinstance(body, dict):
        return WebhookSummary(kind=WebhookKind.RAW)
    type_ = _text(body.get("type"))
    sender = _text(body.get("from"))
    if type_ in _KNOWN_TYPES:
        kind = WebhookKind(type_)
    elif sender == "nango":
        kind = WebhookKind.UNKNOWN
    else:
        kind = WebhookKind.RAW
    if kind is WebhookKind.RAW:
        # A provider's own payload: we cannot know its fields; keep the type when it has one.
        return WebhookSummary(kind=kind, type=type_)

    common: dict[str, Any] = {
        "kind": kind,
        "type": type_,
        "integration": _text(body.get("providerConfigKey")),
        "connection_id": _text(body.get("connectionId")),
        "end_user_id": _end_user_id(body),
        "success": _bool(body.get("success")),
        "error": _error_text(body.get("error")),
        "provider": _text(body.get("provider")),
        "operation": _text(body.get("operation")),
    }
    if kind is WebhookKind.SYNC:
        common["operation"] = _text(body.get("syncType") or body.get("syncVariant") or body.get("operation"))
        common["sync_name"] = _text(body.get("syncName"))
        common["model"] = _text(body.get("model"))
        common["results"] = _results(body.get("responseResults"))
        if common["success"] is None:
            common["success"] = common["error"] is None
    elif kind is WebhookKind.ASYNC_ACTION:
        payload = body.get("payload")
        if isinstance(payload, dict):
            common["operation"] = common["operation"] or _text(payload.get("id"))
    elif kind is WebhookKind.FORWARD:
        common["provider"] = sender or common["provider"]
    return WebhookSummary(**common)


# -- verification outcome (computed by services.signing, stored by store.events) ----------------------

HMAC_HEADER = "X-Nango-Hmac-Sha256"
LEGACY_HEADER = "X-Nango-Signature"


class VerificationStatus(StrEnum):
    VERIFIED = "verified"
    INVALID = "invalid"
    UNSIGNED = "unsigned"
    NO_KEY = "no_key"


MATCH = "match"
MISMATCH = "mismatch"
NOT_SENT = "not sent"


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one request's signature headers. Never holds a key or the signature a key
    would give (that would make the store a signing oracle for bodies an attacker chose): only what was
    received, each header's verdict, and a short fingerprint of the key checked against.

    Rules (services.signing.verify): when ``X-Nango-Hmac-Sha256`` is sent it alone decides (a right legacy
    signature next to a wrong HMAC is a downgrade and is refused); a request with only the legacy header is
    verified only where the profile accepts legacy-only signatures (SHA-256(key + body) is open to length
    extension), and is then marked weaker."""

    status: VerificationStatus
    header: str | None = None  # which header verified the request
    key_index: int | None = None  # 0 = current key, 1 = previous, ...
    received_hmac: str | None = None
    received_legacy: str | None = None
    hmac_result: str | None = None  # MATCH / MISMATCH / NOT_SENT; None: not checked (no key)
    legacy_result: str | None = None  # the same for the legacy header (informative when the HMAC was sent)
    key_fingerprint: str | None = None  # of the key that matched, else of the current key
    reason: str | None = None  # why it is not verified (or why it is weaker), in words

    @property
    def ok(self) -> bool:
        return self.status is VerificationStatus.VERIFIED

    @property
    def legacy_only(self) -> bool:
        """Verified by the legacy header alone (weaker than the HMAC)."""
        return self.ok and self.header == LEGACY_HEADER

    def describe(self) -> str:
        if self.status is VerificationStatus.VERIFIED:
            which = "HMAC" if self.header == HMAC_HEADER else "legacy signature only, weaker"
            key = "current key" if self.key_index == 0 else f"previous key #{self.key_index}"
            return f"verified ({which}, {key})"
        if self.status is VerificationStatus.INVALID and self.reason:
            return f"invalid signature: {self.reason}"
        return {
            VerificationStatus.INVALID: "invalid signature",
            VerificationStatus.UNSIGNED: "unsigned (no signature header)",
            VerificationStatus.NO_KEY: "not checked (no signing key configured)",
        }[self.status]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verification:
        """From a stored dict (unknown keys, such as the ``expected_*`` digests of old exports, are dropped)."""
        values: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        values["status"] = VerificationStatus(data.get("status") or VerificationStatus.UNSIGNED)
        return cls(**values)


def is_verified(event: Any) -> bool:
    """True only for an event whose signature was checked and matched a signing key.

    Only such an event may change state (complete or fail a link, update a connection's row, send a desktop
    notification): unsigned, invalid and not-checked (no key) events are shown and flagged, never acted on.
    """
    verification = getattr(event, "verification", None)
    return str(getattr(verification, "status", "")) == VerificationStatus.VERIFIED.value
