"""Payloads of the connection workbench endpoints: synced records, sync control, scripts config, actions,
the proxy and integration details (pydantic v2, Qt-free).

Records stay plain dicts (their shape is the customer's model; tens of thousands of them are loaded at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator

from nango_desktop.domain.models import Integration, NangoModel

RecordFilter = Literal["added", "updated", "deleted"]
RECORD_FILTERS: tuple[str, ...] = ("added", "updated", "deleted")
METADATA_KEY = "_nango_metadata"
# _nango_metadata fields shown as columns, in this order, with their column titles
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("first_seen_at", "First seen"),
    ("last_modified_at", "Last modified"),
    ("last_action", "Last action"),
    ("deleted_at", "Deleted at"),
    ("pruned_at", "Pruned at"),
)
RECORDS_MAX_LIMIT = 10_000  # Nango's maximum page size for GET /records
RECORDS_MAX_IDS = 100  # the spec's maxItems for ``ids``


class RecordsPage(BaseModel):
    """One page of GET /records. ``next_cursor`` is None (or absent) on the last page."""

    model_config = ConfigDict(extra="allow", cache_strings="keys")

    records: list[dict[str, Any]] = Field(default_factory=list)
    next_cursor: str | None = None

    @field_validator("records", mode="before")
    @classmethod
    def _none_records(cls, value: Any) -> Any:
        return [] if value is None else value


class ScriptModel(NangoModel):
    name: str
    fields: list[Any] = Field(default_factory=list)


class ScriptFunction(NangoModel):
    """A sync or an action of ``GET /scripts/config`` (also the rows of ``/integrations/{key}/functions``)."""

    name: str
    type: str | None = None
    description: str | None = None
    enabled: bool | None = None
    runs: str | None = None
    returns: Any = None
    input: Any = None
    json_schema: dict[str, Any] | None = None
    models: list[ScriptModel] = Field(default_factory=list)
    version: str | None = None
    last_deployed: str | None = None
    auto_start: bool | None = None
    track_deletes: bool | None = None
    scopes: list[str] = Field(default_factory=list)

    @field_validator("scopes", "models", mode="before")
    @classmethod
    def _none_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def model_names(self) -> list[str]:
        """The models a sync writes (``returns``, else ``models``)."""
        if isinstance(self.returns, list):
            names = [r for r in self.returns if isinstance(r, str)]
            if names:
                return names
        if isinstance(self.returns, str) and self.returns:
            return [self.returns]
        return [m.name for m in self.models]

    @property
    def input_name(self) -> str | None:
        if isinstance(self.input, str):
            return self.input or None
        if isinstance(self.input, dict) and isinstance(self.input.get("name"), str):
            return self.input["name"]
        return None

    def input_schema(self) -> dict[str, Any] | None:
        """The JSON schema of the action's input, where Nango gives one.

        Newer servers give ``json_schema`` with ``definitions`` keyed by model name (``input`` names the
        model); older ones only the legacy ``input`` model ``{name, fields: [{name, value, optional, array}]}``.
        """
        name = self.input_name
        schema = self.json_schema or {}
        definitions = schema.get("definitions") or schema.get("$defs") or {}
        if name and isinstance(definitions, dict) and isinstance(definitions.get(name), dict):
            return {**definitions[name], "definitions": definitions}
        if isinstance(schema.get("input"), dict):
            return {**schema["input"], "definitions": definitions}
        if isinstance(self.input, dict) and isinstance(self.input.get("fields"), list):
            return _legacy_model_schema(self.input["fields"])
        return None


def _legacy_model_schema(fields: list[Any]) -> dict[str, Any]:
    types = {"string": "string", "number": "number", "boolean": "boolean", "integer": "integer"}
    props: dict[str, Any] = {}
    required = []
    for f in fields:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        value = f.get("value")
        ts = types.get(value if isinstance(value, str) else "", None)
        prop: dict[str, Any] = {"type": ts} if ts else {}
        if f.get("array"):
            prop = {"type": "array", "items": prop}
        props[f["name"]] = prop
        if not f.get("optional"):
            required.append(f["name"])
    return {"type": "object", "properties": props, "required": required}


class IntegrationScripts(NangoModel):
    """One integration's entry of ``GET /scripts/config``."""

    providerConfigKey: str = ""  # noqa: N815 - Nango's field names
    provider: str | None = None
    syncs: list[ScriptFunction] = Field(default_factory=list)
    actions: list[ScriptFunction] = Field(default_factory=list)

    @field_validator("syncs", "actions", mode="before")
    @classmethod
    def _none_list(cls, value: Any) -> Any:
        return [] if value is None else value


class IntegrationFull(Integration):
    """GET /integrations/{uniqueKey} (never requested with ``include=credentials``)."""

    webhook_url: str | None = None


class Provider(NangoModel):
    name: str = ""
    display_name: str | None = None
    auth_mode: str | None = None
    docs: str | None = None


class FunctionsPage(BaseModel):
    model_config = ConfigDict(extra="allow")

    data: list[ScriptFunction] = Field(default_factory=list)
    pagination: dict[str, Any] = Field(default_factory=dict)


class AsyncActionHandle(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    statusUrl: str | None = None  # noqa: N815


class SyncSuccess(BaseModel):
    model_config = ConfigDict(extra="allow")

    success: bool = True


class FrequencyResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    frequency: str | None = None


class ProviderEnvelope(BaseModel):
    data: Provider


class IntegrationFullEnvelope(BaseModel):
    data: IntegrationFull


def _scripts_list(value: Any) -> Any:
    """The real server answers a list of integration configs; the spec documents one object."""
    return [value] if isinstance(value, dict) else value


RECORDS_PAGE_ADAPTER = TypeAdapter(RecordsPage)
SCRIPTS_ADAPTER = TypeAdapter(Annotated[list[IntegrationScripts], BeforeValidator(_scripts_list)])
INTEGRATION_FULL_ADAPTER = TypeAdapter(IntegrationFullEnvelope)
PROVIDER_ADAPTER = TypeAdapter(ProviderEnvelope)
FUNCTIONS_ADAPTER = TypeAdapter(FunctionsPage)
ASYNC_ACTION_ADAPTER = TypeAdapter(AsyncActionHandle)
SUCCESS_ADAPTER = TypeAdapter(SyncSuccess)
FREQUENCY_ADAPTER = TypeAdapter(FrequencyResult)


def parse_scripts(raw: Any) -> list[IntegrationScripts]:
    return SCRIPTS_ADAPTER.validate_python(raw)


@dataclass(frozen=True)
class SyncRef:
    """A sync to control: its name and, for a variant other than the base one, the variant."""

    name: str
    variant: str | None = None

    def as_body(self) -> str | dict[str, str]:
        if self.variant and self.variant != "base":
            return {"name": self.name, "variant": self.variant}
        return self.name

    @classmethod
    def parse(cls, text: str) -> SyncRef:
        """``name`` or ``name::variant`` (Nango's notation in /sync/status)."""
        name, _, variant = text.partition("::")
        return cls(name, variant or None)


@dataclass
class ActionOutcome:
    """How one action run ended: a result, or an error (title, code, payload, log id)."""

    ok: bool
    result: Any = None
    status: int | None = None
    error_title: str | None = None
    error_code: str | None = None
    error_payload: Any = None
    error_detail: str = ""
    log_id: str | None = None
    async_id: str | None = None
    duration: float = 0.0


@dataclass
class ProxyRequest:
    """A request to the external API through ``/proxy/{path}``. ``headers`` are the provider's headers
    (sent as ``Nango-Proxy-<name>``)."""

    method: str
    path: str
    connection_id: str
    integration_id: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    retries: int | None = None
    base_url_override: str | None = None

    @property
    def is_read_only(self) -> bool:
        return self.method.upper() in ("GET", "HEAD", "OPTIONS")


@dataclass
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]]
    content: bytes
    elapsed: float
    nango_error: str | None = None  # Nango's own error code when the proxy itself refused the request

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")

    def text(self) -> str:
        return self.content.decode("utf-8", "replace")
