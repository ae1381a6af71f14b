"""Nango's connection tag rules, and who a connection belongs to.

Rules (Nango server, see NOTES.md): at most 10 tags; keys match ``^[a-zA-Z][a-zA-Z0-9_\\-./]*$``, are at
most 64 characters and are stored lowercased; values are strings of 1..255 characters; ``end_user_email``
must be an email address with a dotted domain (Nango rejects ``a@b.c``).

The deprecated ``end_user`` / ``organization`` objects map onto the tags ``end_user_id``,
``end_user_email``, ``end_user_display_name``, ``organization_id`` and ``organization_display_name``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_TAGS = 10
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 255

END_USER_ID = "end_user_id"
END_USER_EMAIL = "end_user_email"
END_USER_DISPLAY_NAME = "end_user_display_name"
ORGANIZATION_ID = "organization_id"
ORGANIZATION_DISPLAY_NAME = "organization_display_name"

KEY_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-./]*$")
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def is_valid_email(value: str) -> bool:
    return bool(EMAIL_RE.match(value)) and len(value) <= 254


def normalize_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    """Keys stripped and lowercased (as Nango stores them), values stripped; empty keys dropped."""
    result: dict[str, str] = {}
    for key, value in (tags or {}).items():
        k = str(key).strip().lower()
        if k:
            result[k] = value.strip() if isinstance(value, str) else value
    return result


def validate_tags(tags: Mapping[str, Any] | None) -> list[str]:
    """Readable messages, one per problem; an empty list means Nango will accept the tags."""
    if tags is None:
        return []
    if not isinstance(tags, Mapping):
        return ["Tags must be a set of key/value pairs."]
    problems: list[str] = []
    if len(tags) > MAX_TAGS:
        problems.append(f"At most {MAX_TAGS} tags are allowed ({len(tags)} given).")
    seen: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key:
            problems.append("A tag key is empty.")
            continue
        if len(key) > MAX_KEY_LENGTH:
            problems.append(f"Tag key “{key[:20]}…” is longer than {MAX_KEY_LENGTH} characters.")
        elif not KEY_RE.match(key):
            problems.append(
                f"Tag key “{key}” must start with a letter and contain only letters, digits, "
                "“_”, “-”, “.” and “/”."
            )
        lowered = key.lower()
        if lowered in seen:
            problems.append(f"Tag keys “{seen[lowered]}” and “{key}” are the same once lowercased.")
        seen.setdefault(lowered, key)
        if not isinstance(value, str):
            problems.append(f"Tag “{key}” must have a text value.")
        elif not value:
            problems.append(f"Tag “{key}” has an empty value.")
        elif len(value) > MAX_VALUE_LENGTH:
            problems.append(f"Tag “{key}” is longer than {MAX_VALUE_LENGTH} characters ({len(value)}).")
        elif lowered == END_USER_EMAIL and not is_valid_email(value):
            problems.append(f"Tag “{END_USER_EMAIL}” must be a valid email address (“{value}” is not).")
    return problems


def legacy_end_user_tags(end_user: Any) -> dict[str, str]:
    """The tags Nango derives from a deprecated ``end_user`` (object or dict, with nested organization)."""
    if end_user is None:
        return {}
    get = _getter(end_user)
    org = get("organization")
    org_get = _getter(org) if org is not None else (lambda _k: None)
    pairs = {
        END_USER_ID: get("id"),
        END_USER_EMAIL: get("email"),
        END_USER_DISPLAY_NAME: get("display_name"),
        ORGANIZATION_ID: org_get("id"),
        ORGANIZATION_DISPLAY_NAME: org_get("display_name"),
    }
    return {k: v for k, v in pairs.items() if isinstance(v, str) and v}


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    """Who a connection belongs to; ``customer`` is the label Nango's dashboard shows."""

    end_user_id: str | None = None
    email: str | None = None
    display_name: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None

    @property
    def customer(self) -> str:
        return self.display_name or self.email or self.end_user_id or ""

    @property
    def organization(self) -> str:
        return self.organization_name or self.organization_id or ""


def customer_of(conn: Any) -> CustomerInfo:
    """CustomerInfo of a connection-like object or dict: tags first, then the legacy end user."""
    get = _getter(conn)
    tags = get("tags") or {}
    legacy = legacy_end_user_tags(get("end_user"))

    def pick(key: str) -> str | None:
        value = tags.get(key) if isinstance(tags, Mapping) else None
        return value if isinstance(value, str) and value else legacy.get(key)

    return CustomerInfo(
        end_user_id=pick(END_USER_ID),
        email=pick(END_USER_EMAIL),
        display_name=pick(END_USER_DISPLAY_NAME),
        organization_id=pick(ORGANIZATION_ID),
        organization_name=pick(ORGANIZATION_DISPLAY_NAME),
    )


def _getter(obj: Any):
    if isinstance(obj, Mapping):
        return obj.get
    return lambda key: getattr(obj, key, None)
