"""Pydantic v2 models of the Nango API payloads the app uses.

Models accept unknown fields (``extra="allow"``) so a newer server does not break the app. Credentials and
tokens are ``SecretStr``: they never show in a repr, ``str()`` or a log line, and unknown fields whose name
looks secret are left out of reprs too. Response bodies are parsed with module-level ``TypeAdapter``s
straight from bytes (one pass in pydantic-core), which keeps pages of thousands of connections fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    field_validator,
    model_validator,
)

from nango_desktop.domain.dates import parse_datetime  # noqa: F401 - re-exported
from nango_desktop.domain.rate_limit import RateLimitInfo as RateLimitInfo  # re-exported (pydantic-free)
from nango_desktop.domain.tags import CustomerInfo, customer_of, legacy_end_user_tags

_SECRET_NAME = re.compile(r"(?i)token|secret|password|api_?key|private|credential|session")
MASK = "••••••••"
PUBLIC_CREDENTIAL_FIELDS = frozenset({"type", "expires_at"})

ConnectionStatus = Literal["auth_error", "sync_error", "ok"]
_CUSTOMER_FIELDS = frozenset({"tags", "end_user"})


class NangoModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def __repr_args__(self):
        extra = self.__pydantic_extra__ or {}
        for name, value in super().__repr_args__():
            if name in extra and name is not None and _SECRET_NAME.search(name):
                continue
            yield name, value


def _none_to(default_factory):
    def convert(value: Any) -> Any:
        return default_factory() if value is None else value

    return convert


class LegacyOrganization(NangoModel):
    id: str | None = None
    display_name: str | None = None


class LegacyEndUser(NangoModel):
    """The deprecated ``end_user`` object (with its nested ``organization``)."""

    id: str | None = None
    email: str | None = None
    display_name: str | None = None
    tags: dict[str, Any] | None = None
    organization: LegacyOrganization | None = None

    def as_tags(self) -> dict[str, str]:
        """The tags Nango derives from this legacy end user."""
        return legacy_end_user_tags(self)


class ConnectionErrorInfo(NangoModel):
    type: str
    log_id: str | None = None


class Connection(NangoModel):
    """One row of GET /connections."""

    id: int
    connection_id: str
    provider: str
    provider_config_key: str
    created: str
    metadata: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    errors: list[ConnectionErrorInfo] = Field(default_factory=list)
    end_user: LegacyEndUser | None = None

    _none_tags = field_validator("tags", mode="before")(_none_to(dict))
    _none_errors = field_validator("errors", mode="before")(_none_to(list))

    @property
    def integration_id(self) -> str:
        return self.provider_config_key

    @cached_property
    def customer(self) -> CustomerInfo:
        """Who the connection belongs to (cached: sorting 10^5 rows asks often). Assigning ``tags`` or
        ``end_user``, or ``model_copy(update=...)``, recomputes it; mutating ``tags`` in place does not."""
        return customer_of(self)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in _CUSTOMER_FIELDS:
            self.__dict__.pop("customer", None)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False):
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("customer", None)
        return copied

    @property
    def all_tags(self) -> dict[str, str]:
        """Tags, completed with the ones Nango derives from a legacy end user (real tags win)."""
        legacy = self.end_user.as_tags() if self.end_user else {}
        return {**legacy, **self.tags} if legacy else dict(self.tags)

    @property
    def has_auth_error(self) -> bool:
        return any(e.type == "auth" for e in self.errors)

    @property
    def has_sync_error(self) -> bool:
        return any(e.type == "sync" for e in self.errors)

    @property
    def status(self) -> ConnectionStatus:
        if self.has_auth_error:
            return "auth_error"
        if self.has_sync_error:
            return "sync_error"
        return "ok"

    def error_log_id(self, kind: str) -> str | None:
        """Log id of the first error of ``kind`` ("auth" or "sync"), to open Nango's log viewer."""
        return next((e.log_id for e in self.errors if e.type == kind and e.log_id), None)

    @property
    def auth_error_log_id(self) -> str | None:
        return self.error_log_id("auth")

    @property
    def sync_error_log_id(self) -> str | None:
        return self.error_log_id("sync")

    @property
    def created_at_datetime(self) -> datetime | None:
        return parse_datetime(self.created)


class ConnectionFull(Connection):
    """GET /connections/{id}: the connection with its credentials (``SecretStr`` values)."""

    created: str = ""
    created_at: str | None = None
    updated_at: str | None = None
    last_fetched_at: str | None = None
    connection_config: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    webhook_url_override: str | None = None

    _none_config = field_validator("connection_config", mode="before")(_none_to(dict))

    @model_validator(mode="before")
    @classmethod
    def _created_from_created_at(cls, data: Any) -> Any:
        if isinstance(data, dict) and "created" not in data and isinstance(data.get("created_at"), str):
            data = {**data, "created": data["created_at"]}
        return data

    @field_validator("credentials", mode="before")
    @classmethod
    def _secret_values(cls, value: Any) -> Any:
        """Every credential value becomes a SecretStr (objects such as ``raw`` as compact JSON)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            return value  # let pydantic report the wrong shape
        return {
            k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)
            for k, v in value.items()
        }

    @property
    def credentials_type(self) -> str | None:
        value = self.credentials.get("type")
        return value.get_secret_value() if value is not None else None

    @property
    def credentials_expires_at(self) -> datetime | None:
        value = self.credentials.get("expires_at")
        return parse_datetime(value.get_secret_value()) if value is not None else None

    def credentials_masked(self) -> dict[str, str]:
        """Credential fields for display: type and expiry in clear, everything else masked."""
        return {
            k: v.get_secret_value() if k in PUBLIC_CREDENTIAL_FIELDS else MASK
            for k, v in self.credentials.items()
        }

    def credential(self, name: str) -> str | None:
        """The clear value of one credential field (only for an explicit reveal or copy)."""
        value = self.credentials.get(name)
        return value.get_secret_value() if value is not None else None


class Integration(NangoModel):
    unique_key: str
    display_name: str = ""
    provider: str
    logo: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    forward_webhooks: bool | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.unique_key


class ConnectSession(NangoModel):
    """POST /connect/sessions(/reconnect). ``connect_link`` embeds the token, so it is kept out of reprs."""

    token: SecretStr
    connect_link: str | None = Field(default=None, repr=False)
    expires_at: datetime


class ConnectSessionInfo(NangoModel):
    """GET /connect/session (authenticated with the session token). Every field is optional."""

    token: SecretStr | None = None
    connect_link: str | None = Field(default=None, repr=False)
    expires_at: datetime | None = None
    end_user: LegacyEndUser | None = Field(default=None, validation_alias=AliasChoices("end_user", "endUser"))
    organization: LegacyOrganization | None = None
    tags: dict[str, Any] | None = None
    allowed_integrations: list[str] | None = None
    integrations_config_defaults: dict[str, Any] | None = None
    overrides: dict[str, Any] | None = None
    is_reconnecting: bool | None = Field(
        default=None, validation_alias=AliasChoices("is_reconnecting", "isReconnecting")
    )

    @property
    def customer(self) -> CustomerInfo:
        """Who the link is for (session tags first, then the legacy end user and organization)."""
        end_user = self.end_user
        if end_user is not None and end_user.organization is None and self.organization is not None:
            end_user = end_user.model_copy(update={"organization": self.organization})
        return customer_of({"tags": self.tags or {}, "end_user": end_user})


class SyncStatus(NangoModel):
    id: str | None = None
    connection_id: str | None = None
    name: str = ""
    variant: str | None = None
    status: str | None = None
    type: str | None = None
    finishedAt: str | None = None  # noqa: N815 - Nango's field names
    nextScheduledSyncAt: str | None = None  # noqa: N815
    frequency: str | None = None
    latestResult: dict[str, Any] | None = None  # noqa: N815
    recordCount: dict[str, Any] | None = None  # noqa: N815
    checkpoint: dict[str, Any] | None = None


# --- response envelopes -------------------------------------------------------------------------------

T = TypeVar("T")


class DataEnvelope(BaseModel, Generic[T]):
    data: T


class ConnectionsEnvelope(BaseModel):
    # Pages of 1,000 connections are mostly unique strings (ids, emails, dates): pydantic-core's default
    # cache of every parsed string costs ~20% of the parse for little sharing. Keys repeat on every row and
    # stay cached (shared).
    model_config = ConfigDict(cache_strings="keys")

    connections: list[Connection]


class SyncsEnvelope(BaseModel):
    syncs: list[SyncStatus] = Field(default_factory=list)


class SigningKey(BaseModel):
    webhook_signing_key: SecretStr


CONNECTIONS_ADAPTER = TypeAdapter(ConnectionsEnvelope)
CONNECTION_FULL_ADAPTER = TypeAdapter(ConnectionFull)
INTEGRATIONS_ADAPTER = TypeAdapter(DataEnvelope[list[Integration]])
CONNECT_SESSION_ADAPTER = TypeAdapter(DataEnvelope[ConnectSession])
CONNECT_SESSION_INFO_ADAPTER = TypeAdapter(DataEnvelope[ConnectSessionInfo])
SYNCS_ADAPTER = TypeAdapter(SyncsEnvelope)
SIGNING_KEY_ADAPTER = TypeAdapter(DataEnvelope[SigningKey])
