"""FakeNango: a real HTTP server on 127.0.0.1 that behaves like the Nango API the app uses.

Behaviour follows the real server (``../shared/nango/NOTES.md``), not only the OpenAPI spec: paging limits
1..2000 (omitted = 10,000), fixed order created desc / id desc, Nango's error bodies and codes, scopes,
rate limiting with ``X-RateLimit-*`` headers, connect sessions authenticated by their own token.
``tests/integration/test_fake_server_spec.py`` validates every response against the official spec.

Tests drive it through plain attributes (``connections``, ``integrations``, ``sessions``, ``requests``)
and fault injection (``fail_next``, ``reset_next``, ``truncate_next``, ``non_json_next``, ``set_delay``,
``revoke_key``). ``hold()`` returns a :class:`Gate` that keeps matching requests waiting until the test
releases them, so a test catches a load in flight every time instead of hoping a delay is long enough. Stored connection dicts may carry private keys starting with ``_`` (for example
``_refresh_exhausted``); those are never serialized. After mutating ``connections`` in place (rather than
through the API), call :meth:`FakeNango.invalidate` so cached orderings are rebuilt (and, from
``FRAGMENT_CACHE_MIN`` connections, the cached per-connection list JSON).
Departures from the real server that remain, and why (keep this list current):

- Refresh (tests/fake_refresh.py): the failing attempt itself answers 424 with Nango's provider-error
  message (the real text depends on the provider); the back-off window is a fixed 30 s and exhaustion comes
  after ``refresh.max_failures`` (3) failed attempts, where Nango's numbers are configuration. Enough to
  tell the three states apart, which is what the app must do.
- Webhook sender (tests/fake_webhook_sender.py): only refresh-failure webhooks are sent through it; connect
  completions (``complete_session``) return their body for the test to post, so tests choose signing and
  timing. Delays and the clock are injectable so no test waits 3 s + 6 s or 60 s.
- Rate limiting: one fixed 60 s window counted per server (Nango counts per account and environment with
  its own window); default 10,000 requests per minute so tests are never throttled by accident, while every
  answer still carries ``X-RateLimit-*`` as the real server's do.
- Bound to 127.0.0.1 (the real server binds every interface): tests never expose a port.
- Connection ids, credentials and log ids are generated deterministically from ``seed``; real log ids are
  opaque strings of another shape.
- Connect sessions are never deleted after use (Nango may); ``GET /connect/session`` still answers for a
  completed session.
"""

from __future__ import annotations

import base64
import bisect
import colorsys
import contextlib
import copy
import gc
import itertools
import json
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fake_refresh import RefreshModel
from tests.fake_webhook_sender import WebhookSender
from tests.fake_workbench import WorkbenchFake

DEFAULT_INTEGRATIONS: tuple[str, ...] = (
    "github",
    "slack",
    "hubspot",
    "salesforce",
    "google-drive",
    "notion",
    "jira",
    "zendesk",
)
# unique_key -> (provider, display name, auth mode)
_PROVIDERS: dict[str, tuple[str, str, str]] = {
    "github": ("github", "GitHub", "OAUTH2"),
    "slack": ("slack", "Slack", "OAUTH2"),
    "hubspot": ("hubspot", "HubSpot", "OAUTH2"),
    "salesforce": ("salesforce", "Salesforce", "OAUTH2"),
    "google-drive": ("google-drive", "Google Drive", "OAUTH2"),
    "notion": ("notion", "Notion", "OAUTH2"),
    "jira": ("jira", "Jira", "OAUTH2"),
    "zendesk": ("zendesk", "Zendesk", "OAUTH2"),
    "sendgrid": ("sendgrid", "SendGrid", "API_KEY"),
    "stripe": ("stripe", "Stripe", "API_KEY"),
}
# relative popularity of the default integrations in generated data
_WEIGHTS = {"github": 6, "slack": 5, "hubspot": 4, "salesforce": 3, "google-drive": 4, "notion": 3, "jira": 3}

ALL_SCOPES = ("environment:*",)
SESSION_TTL = timedelta(minutes=30)
DEFAULT_LIST_LIMIT = 10_000
MAX_LIST_LIMIT = 2000
RATE_WINDOW = 60.0
SESSION_PREFIX = "nango_connect_session_"
FRAGMENT_CACHE_MIN = 10_000  # from this many connections, list JSON is cached per connection
DEFAULT_CONNECT_UI = "https://connect.nango.dev"

TAG_KEY_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-./]*$")
# zod's email regex (what Nango uses for tags.end_user_email)
EMAIL_RE = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$"
)

LIST_PARAMS = frozenset(
    {"connectionId", "search", "endUserId", "endUserOrganizationId", "integrationId", "limit", "page"}
)
LIST_FIELDS = (
    "id",
    "connection_id",
    "provider",
    "provider_config_key",
    "created",
    "metadata",
    "tags",
    "errors",
)


# --------------------------------------------------------------------------------------------------------------
# small helpers


def iso(ts: datetime | float) -> str:
    """Nango's timestamp format: ISO 8601, milliseconds, ``Z``."""
    if not isinstance(ts, datetime):
        ts = datetime.fromtimestamp(ts, UTC)
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_body(code: str, message: str | None = None, **extra: Any) -> dict:
    err: dict[str, Any] = {"code": code}
    if message is not None:
        err["message"] = message
    err.update(extra)
    return {"error": err}


def issue(message: str, path: Sequence[str | int] = (), code: str = "custom") -> dict:
    """One entry of ``error.errors`` as Nango's ``zodErrorToHTTP`` renders it."""
    return {"code": code, "message": message, "path": list(path)}


def validate_tags(tags: Any, path: Sequence[str] = ("tags",)) -> tuple[dict[str, str] | None, list[dict]]:
    """Nango's connectionTagsSchema: returns (normalized tags, issues)."""
    if not isinstance(tags, dict):
        return None, [issue("Expected object, received " + type(tags).__name__, path, "invalid_type")]
    issues: list[dict] = []
    for key, value in tags.items():
        if not TAG_KEY_RE.match(key):
            issues.append(
                issue(
                    "Tag keys must start with a letter and contain only alphanumerics, underscores, "
                    "hyphens, periods, or slashes",
                    [*path, key],
                    "invalid_string",
                )
            )
        if len(key) > 64:
            issues.append(issue("Tag keys must be at most 64 characters", [*path, key], "too_big"))
        if not isinstance(value, str):
            issues.append(
                issue("Expected string, received " + type(value).__name__, [*path, key], "invalid_type")
            )
        elif not value:
            issues.append(issue("String must contain at least 1 character(s)", [*path, key], "too_small"))
        elif len(value) > 255:
            issues.append(issue("Tag values must be at most 255 characters", [*path, key], "too_big"))
    if issues:
        return None, issues
    if len(tags) > 10:
        return None, [issue("Tags cannot contain more than 10 keys", path)]
    seen: set[str] = set()
    for key, value in tags.items():
        low = key.lower()
        if low in seen:
            issues.append(issue(f'Duplicate tag key after case normalization: "{low}"', path))
        seen.add(low)
        if low == "end_user_email" and (len(value) < 5 or not EMAIL_RE.match(value)):
            issues.append(issue('Tag "end_user_email" must be a valid email', path))
    if issues:
        return None, issues
    return {k.lower(): v for k, v in tags.items()}, []


def tags_from_end_user(end_user: dict | None, organization: dict | None) -> dict[str, str]:
    """Nango's buildTagsFromEndUser: the deprecated end_user/organization as end_user_* tags."""
    tags: dict[str, str] = {}
    if end_user:
        tags["end_user_id"] = end_user["id"]
        if end_user.get("email"):
            tags["end_user_email"] = end_user["email"]
        if end_user.get("display_name"):
            tags["end_user_display_name"] = end_user["display_name"]
    if organization:
        tags["organization_id"] = organization["id"]
        if organization.get("display_name"):
            tags["organization_display_name"] = organization["display_name"]
    return tags


PUBLIC_URL = "https://app.nango.dev"  # Nango's public URL; a started fake serves the logos under its own


def logo_svg(provider: str) -> bytes:
    """A provider's logo as the fake serves it (a small SVG, like Nango's template logos)."""
    hue = sum(map(ord, provider)) * 47 % 360 / 360

    def rgb(h: float, lightness: float, saturation: float) -> str:
        return "#" + "".join(f"{round(c * 255):02x}" for c in colorsys.hls_to_rgb(h, lightness, saturation))

    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
        f'<title>{provider}</title><rect width="24" height="24" rx="5" fill="{rgb(hue, 0.45, 0.6)}"/>'
        f'<path d="M6 17 L12 6 L18 17 Z" fill="{rgb((hue + 0.5) % 1, 0.85, 0.8)}"/></svg>'
    ).encode()


def integration_record(unique_key: str, created: datetime) -> dict:
    provider, display, _ = _PROVIDERS.get(
        unique_key, (unique_key, unique_key.replace("-", " ").title(), "OAUTH2")
    )
    return {
        "unique_key": unique_key,
        "display_name": display,
        "provider": provider,
        "logo": f"{PUBLIC_URL}/images/template-logos/{provider}.svg",
        "created_at": iso(created),
        "updated_at": iso(created + timedelta(days=3)),
        "forward_webhooks": True,
    }


# --------------------------------------------------------------------------------------------------------------
# generated data

_FIRST = (
    "Ada Alan Grace Linus Margaret Ken Barbara Dennis Radia Tim Frances Edsger Donald Leslie Hedy Katherine "
    "John Mary Sofia Liam Noah Emma Olivia Mateo Yuki Aiko Chen Priya Arjun Fatima Omar Lena Jonas Ines Pablo"
).split()
_LAST = (
    "Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Ritchie Perlman Berners-Lee Allen Dijkstra Knuth "
    "Lamport Lamarr Johnson Smith Garcia Rossi Muller Tanaka Wang Patel Khan Haddad Novak Silva Dubois Jensen"
).split()
_ORG_A = "Acme Globex Initech Umbrella Hooli Stark Wayne Wonka Tyrell Soylent Cyberdyne Aperture Vandelay Pied".split()
_ORG_B = "Corp Labs Industries Systems Holdings Analytics Cloud Logistics Health Media Foods Robotics".split()
_PLANS = ("free", "starter", "growth", "enterprise")
_REGIONS = ("eu", "us", "apac")
_SCOPES = {
    "github": "repo,read:org,user:email",
    "slack": "channels:read,chat:write,users:read",
    "hubspot": "crm.objects.contacts.read crm.objects.companies.read",
    "salesforce": "api refresh_token offline_access",
    "google-drive": "https://www.googleapis.com/auth/drive.readonly",
    "notion": "",
    "jira": "read:jira-work read:jira-user offline_access",
    "zendesk": "read write",
}
_B62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _log_id(rng: random.Random) -> str:
    return "".join(rng.choices(_B62, k=20))


def _token(rng: random.Random, prefix: str, nbytes: int = 24) -> str:
    return prefix + base64.urlsafe_b64encode(
        rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
    ).decode().rstrip("=")


def _customers(rng: random.Random, count: int) -> list[dict]:
    orgs = []
    for i in range(max(1, count // 4)):
        name = f"{rng.choice(_ORG_A)} {rng.choice(_ORG_B)}"
        slug = name.lower().replace(" ", "")
        orgs.append(
            {"id": f"org_{i + 1:05d}", "display_name": name if i < 400 else f"{name} {i}", "domain": slug}
        )
    customers = []
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        org = rng.choice(orgs) if rng.random() < 0.85 else None
        domain = f"{org['domain']}.com" if org else rng.choice(("gmail.com", "outlook.com", "proton.me"))
        customers.append(
            {
                "id": f"user_{i + 1:06d}",
                "email": f"{first.lower()}.{last.lower()}{i + 1}@{domain}",
                "display_name": f"{first} {last}",
                "organization": {"id": org["id"], "display_name": org["display_name"]} if org else None,
                # how this customer's connections were made: tags (new), legacy end_user, or neither
                "style": rng.choices(("tags", "legacy", "none"), (62, 33, 5))[0],
                "extra": {"plan": rng.choice(_PLANS), "region": rng.choice(_REGIONS)}
                if rng.random() < 0.4
                else {},
            }
        )
    return customers


def _credentials(rng: random.Random, integration: str, now: float) -> dict:
    auth_mode = _PROVIDERS.get(integration, (integration, integration, "OAUTH2"))[2]
    if auth_mode == "API_KEY":
        return {"type": "API_KEY", "apiKey": _token(rng, "SG.")}
    access = _token(rng, f"{integration[:3]}_at_")
    creds: dict[str, Any] = {"type": "OAUTH2", "access_token": access}
    raw: dict[str, Any] = {
        "access_token": access,
        "token_type": "bearer",
        "scope": _SCOPES.get(integration, ""),
    }
    if integration not in ("notion", "github"):  # those issue non-expiring tokens
        refresh = _token(rng, f"{integration[:3]}_rt_")
        creds.update(refresh_token=refresh, expires_at=iso(now + 60 * rng.randint(-90, 60)))
        raw.update(refresh_token=refresh, expires_in=3600)
    creds["raw"] = raw
    return creds


def _connection_config(rng: random.Random, integration: str, org_slug: str) -> dict:
    if integration == "jira":
        return {
            "cloudId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "baseUrl": f"https://{org_slug}.atlassian.net",
        }
    if integration == "salesforce":
        return {"instance_url": f"https://{org_slug}.my.salesforce.com"}
    if integration == "zendesk":
        return {"subdomain": org_slug}
    if integration == "slack":
        return {"team": {"id": "T" + _log_id(rng)[:9].upper()}}
    return {}


def make_connections(
    n: int,
    seed: int = 1,
    *,
    integrations: Sequence[str] = DEFAULT_INTEGRATIONS,
    now: datetime | None = None,
    auth_error_rate: float = 0.08,
    sync_error_rate: float = 0.05,
) -> list[dict]:
    """Generate ``n`` realistic connections deterministically (same seed and ``now`` -> same data).

    A mix of tags-based customers, legacy ``end_user`` customers and bare connections, with organizations,
    several integrations, created dates over the last year, ~8% auth errors (a quarter of them
    refresh-exhausted -> 424) and ~5% sync errors, metadata, connection_config and credentials.
    Returned in creation order (ids ascending); the server lists them created desc / id desc.
    """
    if n <= 0:
        return []
    was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers: generational GC passes would dominate the run time
    try:
        return _generate(n, seed, integrations, now, auth_error_rate, sync_error_rate)
    finally:
        if was_enabled:
            gc.enable()


def _generate(
    n: int,
    seed: int,
    integrations: Sequence[str],
    now: datetime | None,
    auth_error_rate: float,
    sync_error_rate: float,
) -> list[dict]:
    rng = random.Random(seed)
    if now is None:
        now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    now_ts = now.timestamp()
    year_ago = now_ts - 365 * 86400
    customers = _customers(rng, max(1, n // 3))
    cum_weights = list(itertools.accumulate(_WEIGHTS.get(key, 2) for key in integrations))
    offsets = sorted(rng.randrange(365 * 86400) for _ in range(n))
    since = iso(year_ago)[:10]
    connections: list[dict] = []
    for i in range(n):
        # a few bulk imports share the same created second: the id breaks the tie
        if not (
            i and i % 97 == 0
        ):  # else: a bulk import, same created as the previous one (id breaks the tie)
            created_ts = year_ago + offsets[i] + (i * 7) % 1000 / 1000
        created = iso(created_ts)
        customer = rng.choice(customers)
        integration = integrations[bisect.bisect(cum_weights, rng.random() * cum_weights[-1])]
        provider = _PROVIDERS.get(integration, (integration,))[0]
        org = customer["organization"]
        org_slug = (org["display_name"] if org else customer["display_name"]).lower().replace(" ", "-")
        style = customer["style"]
        if rng.random() < 0.7:
            connection_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        else:
            connection_id = f"{org_slug}-{integration}-{i + 1}"
        end_user = None
        tags: dict[str, str] = {}
        if style == "tags":
            tags = tags_from_end_user(customer, org)
            tags.update(customer["extra"])
        elif style == "legacy":
            end_user = {
                "id": customer["id"],
                "email": customer["email"],
                "display_name": customer["display_name"],
                "tags": {},
                "organization": dict(org) if org else None,
            }
        errors = []
        roll = rng.random()
        refresh_exhausted = False
        if roll < auth_error_rate:
            errors.append({"type": "auth", "log_id": _log_id(rng)})
            refresh_exhausted = rng.random() < 0.25
        elif roll < auth_error_rate + sync_error_rate:
            errors.append({"type": "sync", "log_id": _log_id(rng)})
        updated = iso(min(now_ts, created_ts + 3600 * rng.randint(0, 24 * 30)))
        metadata = None
        if rng.random() < 0.7:
            metadata = {"workspace": org_slug, "seats": rng.randint(1, 500)}
            if rng.random() < 0.3:
                metadata["sync_filters"] = {"since": since, "archived": False}
        conn = {
            "id": i + 1,
            "connection_id": connection_id,
            "provider": provider,
            "provider_config_key": integration,
            "created": created,
            "metadata": metadata,
            "tags": tags,
            "errors": errors,
            "end_user": end_user,
            "created_at": created,
            "updated_at": updated,
            "last_fetched_at": updated,
            "connection_config": _connection_config(rng, integration, org_slug),
            "credentials": _credentials(rng, integration, now_ts),
            "webhook_url_override": None,
        }
        if refresh_exhausted:
            conn["_refresh_exhausted"] = True
        connections.append(conn)
    return connections


def list_item(conn: dict) -> dict:
    """A connection as GET /connections returns it."""
    item = {k: conn[k] for k in LIST_FIELDS}
    item["end_user"] = conn.get("end_user")
    return item


def full_item(conn: dict, *, refresh_token: bool = False, credentials: bool = True) -> dict:
    """A connection as GET /connections/{id} returns it (ConnectionFull + webhook_url_override).

    Like the real server: ``metadata`` null when unset (the spec says object), ``credentials`` ``{}`` for a
    key without the read_credentials scope, the refresh token only when asked for.
    """
    creds = copy.deepcopy(conn["credentials"]) if credentials else {}
    if not refresh_token:
        creds.pop("refresh_token", None)
    return {
        "id": conn["id"],
        "connection_id": conn["connection_id"],
        "provider_config_key": conn["provider_config_key"],
        "provider": conn["provider"],
        "errors": conn["errors"],
        "end_user": conn.get("end_user"),
        "metadata": conn["metadata"],
        "connection_config": conn.get("connection_config") or {},
        "tags": conn["tags"],
        "created_at": conn.get("created_at", conn["created"]),
        "updated_at": conn.get("updated_at", conn["created"]),
        "last_fetched_at": conn.get("last_fetched_at", conn["created"]),
        "credentials": creds,
        "webhook_url_override": conn.get("webhook_url_override"),
    }


# --------------------------------------------------------------------------------------------------------------
# server state


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # Authorization redacted
    body: Any  # parsed JSON, raw text if not JSON, None if empty
    raw_query: str = ""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    kind: str  # "status" | "reset" | "truncate" | "non_json" | "stall_body"
    times: int
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    path_prefix: str | None = None
    after: int = 0  # matching requests to let through first
    gate: Gate | None = None  # stall_body: the body stops until the gate is released

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)


class Gate:
    """Holds matching requests (after letting ``after`` of them through) until :meth:`release`.

    ``held`` counts the requests waiting now, ``arrived`` every matching request that reached the gate
    (let through or held). Stopping the server releases held requests without an answer (the connection
    is closed). ``with server.hold(...) as gate:`` releases on exit.
    """

    def __init__(
        self,
        method: str | None,
        path_prefix: str | None,
        after: int,
        match: Callable[[RecordedRequest], bool] | None,
    ) -> None:
        self.method, self.path_prefix, self.after, self.match = method, path_prefix, after, match
        self.arrived = 0
        self.held = 0
        self._cond = threading.Condition()
        self._open = False

    def matches(self, request: RecordedRequest) -> bool:
        return (
            (self.method is None or request.method == self.method)
            and (self.path_prefix is None or request.path.startswith(self.path_prefix))
            and (self.match is None or self.match(request))
        )

    def pass_through(self, request: RecordedRequest) -> None:
        """Handler thread: return at once, or when the gate is released (or the server stops)."""
        with self._cond:
            self.arrived += 1
            if self._open or self.arrived <= self.after:
                return
            self.held += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._open)
            finally:
                self.held -= 1

    def wait_held(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until ``count`` requests are held (worker-side tests; GUI tests poll ``held``)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.held >= count, timeout)

    def release(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class ManualClock:
    """An injectable clock (``FakeNango(clock=...)``) so rate-limit tests need not wait a minute."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _Reply(Exception):
    """Raised by handlers to answer with a status and JSON body."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _bad(
    code: str, message: str | None = None, errors: list[dict] | None = None, status: int = 400
) -> _Reply:
    extra = {"errors": errors} if errors else {}
    return _Reply(status, error_body(code, message, **extra))


# The real server always rate-limits and always sends X-RateLimit-* headers; a generous default keeps that
# on in every test (``rate_limit=None`` or 0 turns it off, a small value tests the limit itself).
DEFAULT_RATE_LIMIT = 10_000  # requests per minute


class FakeNango:
    """A Nango API double over real HTTP. See the module docstring."""

    def __init__(
        self,
        *,
        connections: int = 0,
        seed: int = 1,
        secret_key: str = "test-secret-key",
        integrations: Sequence[str] = DEFAULT_INTEGRATIONS,
        rate_limit: int | None = DEFAULT_RATE_LIMIT,
        scopes: Collection[str] | None = None,
        connect_ui_url: str = DEFAULT_CONNECT_UI,
        environment: str = "dev",
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.scopes: Collection[str] | None = scopes  # None = every scope ("environment:*")
        self.connect_ui_url = connect_ui_url
        self.environment = environment
        self.clock = clock
        self.rate_limit_per_minute = rate_limit
        self.webhook_signing_key = str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4))
        self.signing_key_count = 1  # >1 -> rotate answers 409 like the real server
        created = (now or datetime.now(UTC)) - timedelta(days=400)
        self.logos: dict[str, bytes] = {}  # provider -> logo bytes served instead of logo_svg(provider)
        self.integrations: list[dict] = [
            integration_record(key, created + timedelta(days=i)) for i, key in enumerate(integrations)
        ]
        self.connections: list[dict] = make_connections(connections, seed, integrations=integrations, now=now)
        self.sessions: dict[str, dict] = {}
        self.requests: list[RecordedRequest] = []
        self.syncs: dict[tuple[str, str], list[dict]] = {}  # (integration, connection_id) -> sync statuses
        self.triggered: list[dict] = []  # bodies of POST /sync/trigger
        self.webhooks: list[dict] = []  # auth webhook bodies complete_session produced
        # records, sync control, scripts config, actions, proxy, integration details (tests/fake_workbench.py)
        self.workbench = WorkbenchFake(self)
        # token refresh on GET /connections/{id}: back-off, exhaustion, refresh-failure webhooks
        self.refresh = RefreshModel(clock)
        self.refresh.on_webhook = self._refresh_webhook
        # called with the exact bytes of each webhook the server sends (e.g. a WebhookSender.send)
        self.webhook_sink: Callable[[bytes], None] | None = None
        self._senders: list[WebhookSender] = []
        # called (on the server's handler thread) with each request before it is answered, e.g. to
        # revoke the key or delete a connection in the middle of a paged load
        self.on_request: Callable[[RecordedRequest], None] | None = None
        self.lock = threading.RLock()
        self._faults: list[Fault] = []
        self._delay = 0.0
        self._delay_prefix: str | None = None
        self._gates: list[Gate] = []
        self._revoked = False
        self._window_start: float | None = None
        self._window_count = 0
        self._next_id = len(self.connections) + 1
        self._sorted_cache: tuple[int, int, list[dict]] | None = None
        self._fragments: dict[int, str] = {}  # id(connection) -> list JSON, see _page_json
        self._version = 0
        self._stopping = threading.Event()
        self._handlers: dict[socket.socket, threading.Thread] = {}  # open client connections
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._host, self._port = host, port

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeNango is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeNango:
        server = self

        class Handler(_Handler):
            fake = server

        self._stopping.clear()
        self._httpd = _TrackingHTTPServer((self._host, self._port), Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeNango", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close kept-alive connections and join every handler thread.

        Handler threads are recorded (with their socket) by the accepting thread before they start, so
        none is missed however late it was accepted; a thread leaves the record only when it has ended.
        """
        self._stopping.set()  # wakes delayed handlers
        for sender in self._senders:
            sender.close()
        with self.lock:
            gates = list(self._gates)
        for gate in gates:
            gate.release()  # held handlers see _stopping and close their connection
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()  # serve_forever returned: no handler thread is created after this
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self.lock:
            handlers = list(self._handlers.items())
            self._handlers.clear()
        for sock, _thread in handlers:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # a handler waiting for the next keep-alive request wakes
        stuck = []
        for _sock, thread in handlers:
            thread.join(timeout=10)
            if thread.is_alive():
                stuck.append(thread.name)
        if httpd is not None:
            httpd.server_close()
        self.workbench.stop()  # the fake external API, once no handler can still be proxying to it
        if stuck:
            raise RuntimeError(f"FakeNango handler threads did not end within 10 s: {stuck}")

    def __enter__(self) -> FakeNango:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls ---------------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        body: dict | str | bytes | None = None,
        headers: dict[str, str] | None = None,
        path_prefix: str | None = None,
        *,
        after: int = 0,
    ) -> None:
        """The next ``times`` requests (under ``path_prefix``, after letting ``after`` of them through)
        answer ``status`` with ``body``.

        ``body`` None gives Nango's error body for the status; a dict is sent as JSON (a 200 with a
        wrong-shaped dict simulates a response with missing fields); str/bytes are sent verbatim.
        Faults are checked before authentication and rate limiting, in the order they were added.
        """
        with self.lock:
            self._faults.append(Fault("status", times, status, body, dict(headers or {}), path_prefix, after))

    def reset_next(self, times: int = 1, path_prefix: str | None = None, *, after: int = 0) -> None:
        """Close the TCP connection abruptly (RST) instead of answering."""
        with self.lock:
            self._faults.append(Fault("reset", times, path_prefix=path_prefix, after=after))

    def truncate_next(self, times: int = 1, path_prefix: str | None = None, *, after: int = 0) -> None:
        """Answer 200 with a Content-Length larger than the body, then close (a cut-off JSON body)."""
        with self.lock:
            self._faults.append(Fault("truncate", times, 200, path_prefix=path_prefix, after=after))

    def stall_body_next(self, times: int = 1, path_prefix: str | None = None, *, after: int = 0) -> Gate:
        """Answer 200 with headers and the first bytes of the body, then send nothing more until the returned
        gate is released (or the server stops); then close (a stalled body). ``gate.held`` counts stalled
        answers."""
        gate = Gate(None, None, 0, lambda request: False)  # never holds a request itself
        with self.lock:
            self._faults.append(
                Fault("stall_body", times, 200, path_prefix=path_prefix, after=after, gate=gate)
            )
            self._gates.append(gate)  # released by stop()
        return gate

    def non_json_next(
        self,
        times: int = 1,
        path_prefix: str | None = None,
        status: int = 200,
        body: str | None = None,
        *,
        after: int = 0,
    ) -> None:
        """Answer with an HTML page (as a proxy or captive portal would)."""
        html = body if body is not None else "<html><body><h1>502 Bad Gateway</h1></body></html>"
        with self.lock:
            self._faults.append(
                Fault("non_json", times, status, html, {"Content-Type": "text/html"}, path_prefix, after)
            )

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()
            self._delay = 0.0

    def hold(
        self,
        path_prefix: str | None = None,
        *,
        method: str | None = "GET",
        after: int = 0,
        match: Callable[[RecordedRequest], bool] | None = None,
    ) -> Gate:
        """Keep matching requests waiting (after ``after`` of them passed) until ``gate.release()``.

        The request is recorded (and ``on_request`` called) before it waits; faults and answers come after.
        """
        gate = Gate(method, path_prefix, after, match)
        with self.lock:
            self._gates.append(gate)
        return gate

    def set_delay(self, seconds: float, path_prefix: str | None = None) -> None:
        """Delay every response (under ``path_prefix``) by ``seconds``; 0 disables."""
        with self.lock:
            self._delay, self._delay_prefix = seconds, path_prefix

    def revoke_key(self) -> None:
        """Subsequent calls with the secret key get 401 (as after deleting the key in the dashboard)."""
        self._revoked = True

    def restore_key(self) -> None:
        self._revoked = False

    def mark_refresh_exhausted(self, connection_id: str, integration_id: str, exhausted: bool = True) -> None:
        """GET on that connection answers 424 invalid_credentials (its refresh token was rejected too many
        times) for keys that may read credentials; without that scope the server does not refresh: 200."""
        with self.lock:
            conn = self.find(connection_id, integration_id)
            if conn is None:
                raise KeyError((connection_id, integration_id))
            conn["_refresh_exhausted"] = exhausted

    def fail_refresh(self, connection_id: str, integration_id: str, fails: bool = True) -> None:
        """The provider rejects this connection's refresh token: the next credentials read that needs a
        refresh fails (424, back-off, exhausted after ``refresh.max_failures``; see tests/fake_refresh.py)."""
        with self.lock:
            conn = self.find(connection_id, integration_id)
            if conn is None:
                raise KeyError((connection_id, integration_id))
            conn["_refresh_fails"] = fails

    def expire_token(self, connection_id: str, integration_id: str) -> None:
        """The connection's OAuth access token has expired: the next credentials read refreshes it."""
        with self.lock:
            conn = self.find(connection_id, integration_id)
            if conn is None:
                raise KeyError((connection_id, integration_id))
            conn["credentials"]["type"] = "OAUTH2"
            conn["credentials"]["expires_at"] = iso(self.clock() - 60)

    def webhook_sender(self, url: str, **kw: Any) -> WebhookSender:
        """Deliver this server's webhooks (refresh failures) to ``url`` like Nango does (signed raw bytes,
        20 s timeout, retries at 3 s and 6 s on network errors and 5xx, circuit breaker): see
        tests/fake_webhook_sender.py. ``sleep=``/``clock=`` make the delays free in tests."""
        sender = WebhookSender(url, lambda: self.webhook_signing_key, **kw)
        self.webhook_sink = sender.submit
        self._senders.append(sender)
        return sender

    def _refresh_webhook(self, body: dict) -> None:
        body = {**body, "environment": self.environment}
        raw = webhook_bytes(body)
        self.webhooks.append(json.loads(raw))
        if self.webhook_sink is not None:
            self.webhook_sink(raw)

    def find(self, connection_id: str, integration_id: str) -> dict | None:
        with self.lock:
            for conn in self.connections:
                if conn["connection_id"] == connection_id and conn["provider_config_key"] == integration_id:
                    return conn
        return None

    def invalidate(self) -> None:
        """Forget cached orderings and JSON (call after mutating ``connections`` in place)."""
        with self.lock:
            self._version += 1
            self._sorted_cache = None
            self._fragments.clear()

    def _page_json(self, rows: list[dict]) -> bytes:
        """A GET /connections body. Large servers (benchmarks) reuse each connection's JSON between pages."""
        with self.lock:
            if len(self.connections) < FRAGMENT_CACHE_MIN:
                parts = [_item_json(c) for c in rows]
            else:
                cache = self._fragments
                parts = []
                for conn in rows:
                    fragment = cache.get(id(conn))
                    if fragment is None:
                        fragment = cache[id(conn)] = _item_json(conn)
                    parts.append(fragment)
        return ('{"connections":[' + ",".join(parts) + "]}").encode()

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def add_connection(self, integration_id: str, connection_id: str | None = None, **fields: Any) -> dict:
        """Create a connection now (as POST /connections would) and return it."""
        with self.lock:
            now = datetime.fromtimestamp(self.clock(), UTC)
            rng = random.Random(self._next_id)
            provider = next(
                (i["provider"] for i in self.integrations if i["unique_key"] == integration_id),
                integration_id,
            )
            conn = {
                "id": self._next_id,
                "connection_id": connection_id or str(uuid.uuid4()),
                "provider": provider,
                "provider_config_key": integration_id,
                "created": iso(now),
                "metadata": None,
                "tags": {},
                "errors": [],
                "end_user": None,
                "created_at": iso(now),
                "updated_at": iso(now),
                "last_fetched_at": iso(now),
                "connection_config": {},
                "credentials": _credentials(rng, integration_id, now.timestamp()),
                "webhook_url_override": None,
            }
            conn.update(fields)
            self._next_id += 1
            self.connections.append(conn)
            self.invalidate()
            return conn

    def complete_session(
        self,
        token: str,
        *,
        connection_id: str | None = None,
        integration_id: str | None = None,
        success: bool = True,
    ) -> dict:
        """Simulate the customer finishing a connect link; returns the auth webhook body Nango would send.

        A new-connection session creates a connection (``integration_id`` defaults to the first allowed
        integration); a reconnect session updates its connection: tags become the session's tags
        (``{}`` when the reconnect session was created without tags, as the real server does) and auth
        errors clear. With ``success=False`` nothing changes and the webhook reports the failure.
        Use :func:`webhook_bytes` for the exact bytes Nango signs.
        """
        with self.lock:
            session = self.sessions.get(token)
            if session is None:
                raise KeyError("unknown connect session token")
            if session["deleted"] or self.clock() >= session["expires_at_ts"]:
                raise ValueError("the connect session was revoked or has expired")
            if session["reconnect"]:
                conn = self.find(session["connection_id"], session["integration_id"])
                if conn is None:
                    raise KeyError("the reconnect session's connection no longer exists")
                integration_id = conn["provider_config_key"]
                operation = "override"
            else:
                allowed = session.get("allowed_integrations") or [i["unique_key"] for i in self.integrations]
                integration_id = integration_id or allowed[0]
                conn = None
                operation = "creation"
            provider = next(
                (i["provider"] for i in self.integrations if i["unique_key"] == integration_id),
                integration_id,
            )
            auth_mode = _PROVIDERS.get(integration_id, (integration_id, integration_id, "OAUTH2"))[2]
            tags = dict(session["tags"] or {})
            end_user = session.get("end_user")
            if success:
                now = iso(self.clock())
                if conn is None:
                    conn = self.add_connection(integration_id, connection_id, tags=tags)
                    if end_user:
                        conn["end_user"] = {
                            "id": end_user["id"],
                            "email": end_user.get("email"),
                            "display_name": end_user.get("display_name"),
                            "tags": end_user.get("tags") or {},
                            "organization": session.get("organization"),
                        }
                else:
                    conn["tags"] = tags
                    conn["errors"] = [e for e in conn["errors"] if e["type"] != "auth"]
                    conn.pop("_refresh_exhausted", None)
                    self.refresh.reconnected(conn)
                    conn["updated_at"] = now
                    conn["credentials"] = _credentials(random.Random(token), integration_id, self.clock())
                if session.get("webhook_url_override"):
                    conn["webhook_url_override"] = session["webhook_url_override"]
                self.invalidate()
                session["completed"] = True
            body: dict[str, Any] = {
                "authMode": auth_mode,
                "connectionId": conn["connection_id"] if conn else (connection_id or ""),
                "environment": self.environment,
                "from": "nango",
                "operation": operation,
                "provider": provider,
                "providerConfigKey": integration_id,
                "success": success,
                "tags": tags,
                "type": "auth",
            }
            if end_user:
                body["endUser"] = {
                    "endUserEmail": end_user.get("email"),
                    "endUserId": end_user["id"],
                    "tags": end_user.get("tags") or {},
                }
            if not success:
                body["error"] = {
                    "type": "auth_error",
                    "description": "The end user aborted the authorization flow",
                }
            body = json.loads(webhook_bytes(body))  # keys sorted like the real payload
            self.webhooks.append(body)
            return body

    def create_session(self, body: dict | None = None, *, token: str | None = None) -> dict:
        """Create a connect session without HTTP (as POST /connect/sessions, or /reconnect when ``body``
        names a connection_id); returns the stored session (token, connect_link, expires_at, ...)."""
        body = {"tags": {"end_user_id": "u1"}} if body is None else body
        create = self._post_reconnect if "connection_id" in body else self._post_session
        try:
            _, reply = create({}, body, token=token)
        except _Reply as exc:
            raise ValueError(f"invalid connect session: {exc.body}") from None
        return self.sessions[reply["data"]["token"]]

    # -- request handling ------------------------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.matches(path):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _rate_headers(self) -> tuple[bool, dict[str, str]]:
        """Consume one point; returns (allowed, X-RateLimit headers)."""
        limit = self.rate_limit_per_minute
        if not limit:
            return True, {}
        with self.lock:
            now = self.clock()
            if self._window_start is None or now >= self._window_start + RATE_WINDOW:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            reset_at = self._window_start + RATE_WINDOW
            allowed = self._window_count <= limit
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, limit - self._window_count)),
                "X-RateLimit-Reset": str(int(reset_at)),
            }
            if not allowed:
                headers["Retry-After"] = str(int(reset_at - now))
            return allowed, headers

    def _has_scope(self, *required: str) -> bool:
        if self.scopes is None:
            return True
        for granted in self.scopes:
            for need in required:
                if granted == need or (granted.endswith(":*") and need.startswith(granted[:-1])):
                    return True
        return False

    def _require_scope(self, *required: str) -> None:
        if self._has_scope(*required):
            return
        if len(required) == 1:
            message = f"Insufficient scope. Required: {required[0]}"
        else:
            message = "Insufficient scope. Required one of: " + " or ".join(required)
        raise _bad("forbidden", message, status=403)

    @staticmethod
    def _bearer(authorization: str | None) -> str:
        if not authorization:
            raise _bad(
                "missing_auth_header",
                "Authentication failed. The request is missing the Authorization header.",
                status=401,
            )
        scheme, _, credential = authorization.partition(" ")
        if scheme != "Bearer" or not credential.strip():
            raise _bad(
                "malformed_auth_header",
                "Authentication failed. The provided Authorization header is malformed.",
                status=401,
            )
        return credential.strip()

    def _check_secret_key(self, authorization: str | None) -> None:
        key = self._bearer(authorization)
        if self._revoked or not secrets.compare_digest(key.encode(), self.secret_key.encode()):
            raise _bad(
                "invalid_secret_key", "Authentication failed. The provided secret key is invalid.", status=401
            )

    def _session_from_auth(self, authorization: str | None) -> tuple[str, dict]:
        token = self._bearer(authorization)
        with self.lock:
            session = self.sessions.get(token)
            if session is None or session.get("deleted"):
                raise _bad(
                    "unknown_connect_session_token", "The connect session token is invalid", status=401
                )
            if self.clock() >= session["expires_at_ts"]:
                raise _bad(
                    "expired_connect_session_token", "The connect session token has expired", status=401
                )
            return token, session

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        """Route one request (after faults and rate limiting). Raises _Reply for errors."""
        auth = headers.get("authorization")
        route = _ROUTES.get((method, path))
        kwargs: dict[str, Any] = {}
        if route is None and re.fullmatch(r"/connections/[^/]+", path):
            route = _ROUTES.get((method, "/connections/{id}"))
            kwargs["connection_id"] = unquote(path.removeprefix("/connections/"))
        logo = re.fullmatch(r"/images/template-logos/([^/]+)\.svg", path) if method == "GET" else None
        if route is None and logo:
            return self._logo(unquote(logo.group(1)))
        if route is None:
            extra = self.workbench.route(method, path, query, headers, body)
            if extra is not None:
                self._check_secret_key(auth)
                return extra()
            raise _bad("not_found", f"No route found for {method} {path}", status=404)
        if path == "/connect/session":
            kwargs["token"], kwargs["session"] = self._session_from_auth(auth)
        else:
            self._check_secret_key(auth)
        return route(self, query, body, **kwargs)

    # -- list ------------------------------------------------------------------------------------------------

    def _ordered(self) -> list[dict]:
        with self.lock:
            key = (self._version, len(self.connections))
            if self._sorted_cache is None or self._sorted_cache[:2] != key:
                ordered = sorted(self.connections, key=lambda c: (c["created"], c["id"]), reverse=True)
                self._sorted_cache = (*key, ordered)
            return self._sorted_cache[2]

    def _list_connections(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        self._require_scope("environment:connections:list", "environment:connections:list_credentials")
        tags: dict[str, str] = {}
        problems: list[dict] = []
        plain: dict[str, str] = {}
        for name, values in query.items():
            match = re.fullmatch(r"tags\[([^\]]*)\]", name)
            if match:
                tags[match.group(1)] = values[-1]
            elif name in LIST_PARAMS:
                plain[name] = values[-1]
            else:
                problems.append(issue(f"Unrecognized key(s) in object: '{name}'", [], "unrecognized_keys"))
        limit, page = DEFAULT_LIST_LIMIT, 0
        if "limit" in plain:
            limit = _int_param(plain["limit"], "limit", 1, MAX_LIST_LIMIT, problems)
        if "page" in plain:
            page = _int_param(plain["page"], "page", 0, None, problems)
        for name in ("connectionId", "search", "integrationId"):
            if name in plain and not plain[name]:
                problems.append(issue("String must contain at least 1 character(s)", [name], "too_small"))
        norm_tags = None
        if tags:
            norm_tags, tag_problems = validate_tags(tags)
            problems += tag_problems
        if problems:
            raise _bad("invalid_query_params", errors=problems)

        rows: Iterable[dict] = self._ordered()
        if "connectionId" in plain:
            wanted = plain["connectionId"]
            rows = (c for c in rows if c["connection_id"] == wanted)
        if "integrationId" in plain:
            ids = {p.strip() for p in plain["integrationId"].split(",") if p.strip()}
            rows = (c for c in rows if c["provider_config_key"] in ids)
        if "endUserId" in plain:
            rows = (c for c in rows if (c.get("end_user") or {}).get("id") == plain["endUserId"])
        if "endUserOrganizationId" in plain:
            org_id = plain["endUserOrganizationId"]
            rows = (
                c for c in rows if ((c.get("end_user") or {}).get("organization") or {}).get("id") == org_id
            )
        if norm_tags:
            items = norm_tags.items()
            rows = (c for c in rows if all(c["tags"].get(k) == v for k, v in items))
        if "search" in plain:
            needle = plain["search"].lower()
            rows = (c for c in rows if _search_hit(c, needle))
        selected = list(itertools.islice(rows, page * limit, (page + 1) * limit))
        return 200, _RawJSON(self._page_json(selected))

    # -- single connection -----------------------------------------------------------------------------------

    def _need_integration(self, query: dict[str, list[str]]) -> str:
        values = query.get("provider_config_key")
        if not values or not values[0]:
            raise _bad(
                "invalid_query_params", errors=[issue("Required", ["provider_config_key"], "invalid_type")]
            )
        return values[0]

    def _get_connection(self, query, body, *, connection_id: str) -> tuple[int, Any]:
        self._require_scope("environment:connections:read", "environment:connections:read_credentials")
        integration = self._need_integration(query)
        force_refresh = _bool_param(query, "force_refresh")
        refresh_token = _bool_param(query, "refresh_token")
        with_credentials = self._has_scope("environment:connections:read_credentials")
        if (force_refresh or refresh_token) and not with_credentials:
            raise _bad(
                "forbidden",
                "Credential and refresh options require the environment:connections:read_credentials scope",
                status=403,
            )
        if not any(i["unique_key"] == integration for i in self.integrations):
            raise _bad("unknown_provider_config", "Provider config not found", status=400)
        with self.lock:
            conn = self.find(connection_id, integration)
            if conn is None:
                raise _bad("not_found", "Failed to find connection", status=404)
            if not with_credentials:  # the server reads the connection without touching the credentials
                return 200, full_item(conn, credentials=False)
            failed = self.refresh.read(conn, force=force_refresh)  # may refresh an expired token
            if failed is not None:
                self.invalidate()
                raise _Reply(
                    424,
                    error_body("invalid_credentials", failed[0], payload={"connection": full_item(conn)}),
                )
            if force_refresh:
                now = datetime.fromtimestamp(self.clock(), UTC)
                creds = conn["credentials"]
                if creds.get("type") == "OAUTH2" and "expires_at" in creds:
                    creds["expires_at"] = iso(now + timedelta(hours=1))
                conn["last_fetched_at"] = iso(now)
                # Nango's connectionRefreshSuccess hook clears the connection's auth error
                conn["errors"] = [e for e in conn["errors"] if e["type"] != "auth"]
                self.invalidate()
            return 200, full_item(conn, refresh_token=refresh_token)

    def _patch_connection(self, query, body, *, connection_id: str) -> tuple[int, Any]:
        self._require_scope("environment:connections:update")
        integration = self._need_integration(query)
        if not isinstance(body, dict):
            raise _bad("invalid_body", errors=[issue("Expected object", [], "invalid_type")])
        unknown = set(body) - {"tags", "webhook_url_override", "end_user"}
        if unknown:
            raise _bad(
                "invalid_body",
                errors=[
                    issue(f"Unrecognized key(s) in object: '{k}'", [], "unrecognized_keys")
                    for k in sorted(unknown)
                ],
            )
        new_tags = None
        if "tags" in body:
            new_tags, problems = validate_tags(body["tags"])
            if problems:
                raise _bad("invalid_body", errors=problems)
        override = body.get("webhook_url_override")
        if "webhook_url_override" in body and not isinstance(override, str):
            raise _bad(
                "invalid_body", errors=[issue("Expected string", ["webhook_url_override"], "invalid_type")]
            )
        if override and not re.match(r"^https?://", override):
            raise _bad(
                "invalid_body", errors=[issue("Invalid url", ["webhook_url_override"], "invalid_string")]
            )
        end_user = body.get("end_user")
        if end_user is not None and (
            not isinstance(end_user, dict) or not isinstance(end_user.get("id"), str)
        ):
            raise _bad("invalid_body", errors=[issue("Required", ["end_user", "id"], "invalid_type")])
        with self.lock:
            conn = self.find(connection_id, integration)
            if conn is None:
                raise _bad("not_found", "Failed to find connection", status=404)
            if end_user is not None:  # deprecated: replaces ALL tags with the derived end_user_* tags
                conn["tags"] = tags_from_end_user(end_user, end_user.get("organization"))
            if new_tags is not None:
                conn["tags"] = new_tags
            if "webhook_url_override" in body:
                conn["webhook_url_override"] = override or None
            conn["updated_at"] = iso(self.clock())
            self.invalidate()
        return 200, {"success": True}

    def _delete_connection(self, query, body, *, connection_id: str) -> tuple[int, Any]:
        self._require_scope("environment:connections:delete")
        integration = self._need_integration(query)
        with self.lock:
            conn = self.find(connection_id, integration)
            if conn is None:
                raise _bad("unknown_connection", "Failed to delete connection", status=400)
            self.connections.remove(conn)
            self.invalidate()
        return 200, {"success": True}

    def _metadata(self, query, body, *, merge: bool) -> tuple[int, Any]:
        self._require_scope("environment:connections:update")
        problems = []
        if not isinstance(body, dict):
            raise _bad("invalid_body", errors=[issue("Expected object", [], "invalid_type")])
        ids = body.get("connection_id")
        if isinstance(ids, str) and ids:
            id_list = [ids]
        elif isinstance(ids, list) and ids and all(isinstance(i, str) and i for i in ids):
            id_list = list(ids)
        else:
            problems.append(issue("Expected string or array of strings", ["connection_id"], "invalid_union"))
        integration = body.get("provider_config_key")
        if not isinstance(integration, str) or not integration:
            problems.append(issue("Required", ["provider_config_key"], "invalid_type"))
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            problems.append(issue("Expected object", ["metadata"], "invalid_type"))
        if problems:
            raise _bad("invalid_body", errors=problems)
        with self.lock:
            targets = []
            for cid in id_list:
                conn = self.find(cid, integration)
                if conn is None:  # one bad id aborts the whole operation
                    raise _bad("unknown_connection", f"Connection {cid} not found", status=404)
                targets.append(conn)
            for conn in targets:
                if merge:
                    conn["metadata"] = {**(conn["metadata"] or {}), **copy.deepcopy(metadata)}
                else:
                    conn["metadata"] = copy.deepcopy(metadata)
                conn["updated_at"] = iso(self.clock())
            self.invalidate()
        return (200 if merge else 201), {
            "connection_id": ids,
            "provider_config_key": integration,
            "metadata": metadata,
        }

    # -- connect sessions ------------------------------------------------------------------------------------

    def _session_body(self, body: Any, *, reconnect: bool) -> tuple[dict, list[dict]]:
        if not isinstance(body, dict):
            return {}, [issue("Expected object", [], "invalid_type")]
        known = {
            "tags",
            "end_user",
            "organization",
            "integrations_config_defaults",
            "overrides",
            "webhook_url_override",
        }
        known |= {"connection_id", "integration_id"} if reconnect else {"allowed_integrations"}
        problems = [
            issue(f"Unrecognized key(s) in object: '{k}'", [], "unrecognized_keys")
            for k in sorted(set(body) - known)
        ]
        end_user = body.get("end_user")
        if end_user is not None:
            if (
                not isinstance(end_user, dict)
                or not isinstance(end_user.get("id"), str)
                or not end_user["id"]
            ):
                problems.append(issue("Required", ["end_user", "id"], "invalid_type"))
            elif end_user.get("email") is not None and not EMAIL_RE.match(str(end_user["email"])):
                problems.append(issue("Invalid email", ["end_user", "email"], "invalid_string"))
        org = body.get("organization")
        if org is not None and (not isinstance(org, dict) or not isinstance(org.get("id"), str)):
            problems.append(issue("Required", ["organization", "id"], "invalid_type"))
        tags = None
        if "tags" in body:
            tags, tag_problems = validate_tags(body["tags"])
            problems += tag_problems
        if reconnect:
            for name in ("connection_id", "integration_id"):
                if not isinstance(body.get(name), str) or not body[name]:
                    problems.append(issue("Required", [name], "invalid_type"))
        elif end_user is None and "tags" not in body:
            problems.append(issue("end_user is required unless tags are provided", ["end_user"]))
        known_keys = {i["unique_key"] for i in self.integrations}
        allowed = body.get("allowed_integrations")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                problems.append(issue("Expected array of strings", ["allowed_integrations"], "invalid_type"))
            else:
                problems += [
                    issue("Integration does not exist", ["allowed_integrations", i])
                    for i, key in enumerate(allowed)
                    if key not in known_keys
                ]
        for name in ("integrations_config_defaults", "overrides"):
            value = body.get(name)
            if value is not None:
                if not isinstance(value, dict):
                    problems.append(issue("Expected object", [name], "invalid_type"))
                else:
                    problems += [
                        issue("Integration does not exist", [name, k]) for k in value if k not in known_keys
                    ]
        override = body.get("webhook_url_override")
        if override is not None and (
            not isinstance(override, str) or (override and not re.match(r"^https?://", override))
        ):
            problems.append(issue("Invalid url", ["webhook_url_override"], "invalid_string"))
        derived = tags_from_end_user(end_user, org) if isinstance(end_user, dict) and not problems else {}
        session = {
            "end_user": end_user,
            "organization": org,
            "tags": {**derived, **(tags or {})},
            "allowed_integrations": allowed or None,
            "integrations_config_defaults": body.get("integrations_config_defaults"),
            "overrides": body.get("overrides"),
            "webhook_url_override": override or None,
        }
        return session, problems

    def _new_session(self, session: dict, token: str | None = None) -> tuple[int, Any]:
        token = token or SESSION_PREFIX + secrets.token_hex(32)
        expires = self.clock() + SESSION_TTL.total_seconds()
        link = f"{self.connect_ui_url.rstrip('/')}/?session_token={token}"
        with self.lock:
            session.update(
                token=token,
                created_at=iso(self.clock()),
                expires_at=iso(expires),
                expires_at_ts=expires,
                connect_link=link,
                completed=False,
                deleted=False,
            )
            self.sessions[token] = session
        return 201, {"data": {"token": token, "connect_link": link, "expires_at": iso(expires)}}

    def _post_session(self, query, body, token: str | None = None) -> tuple[int, Any]:
        self._require_scope("environment:connect_sessions:write")
        session, problems = self._session_body(body, reconnect=False)
        if problems:
            raise _bad("invalid_body", errors=problems)
        session.update(reconnect=False, connection_id=None, integration_id=None)
        return self._new_session(session, token)

    def _post_reconnect(self, query, body, token: str | None = None) -> tuple[int, Any]:
        self._require_scope("environment:connect_sessions:write")
        session, problems = self._session_body(body, reconnect=True)
        if problems:
            raise _bad("invalid_body", errors=problems)
        conn = self.find(body["connection_id"], body["integration_id"])
        if conn is None:
            raise _bad("invalid_body", "ConnectionID or IntegrationId does not exists")
        session.update(
            reconnect=True,
            connection_id=body["connection_id"],
            integration_id=body["integration_id"],
            allowed_integrations=[body["integration_id"]],
        )
        return self._new_session(session, token)

    def _get_session(self, query, body, *, token: str, session: dict) -> tuple[int, Any]:
        if query:
            raise _bad(
                "invalid_query_params",
                errors=[issue("Unrecognized key(s) in object", [], "unrecognized_keys")],
            )
        end_user = session.get("end_user")
        org = session.get("organization")
        data: dict[str, Any] = {
            "endUser": {
                "id": end_user["id"],
                "display_name": end_user.get("display_name"),
                "email": end_user.get("email"),
                "tags": end_user.get("tags"),
                "organization": {"id": org["id"], "display_name": org.get("display_name")} if org else None,
            }
            if end_user
            else None,
            "connectUISettings": {
                "showWatermark": True,
                "theme": {"light": {"primary": "#00B2E3"}, "dark": {"primary": "#00B2E3"}},
            },
        }
        for name in ("allowed_integrations", "overrides"):
            if session.get(name):
                data[name] = session[name]
        if session.get("integrations_config_defaults"):
            data["integrations_config_defaults"] = session["integrations_config_defaults"]
        if session["reconnect"]:
            data["isReconnecting"] = True
        return 200, {"data": data}

    def _delete_session(self, query, body, *, token: str, session: dict) -> tuple[int, Any]:
        with self.lock:
            session["deleted"] = True
        return 204, None

    # -- integrations, syncs, environment --------------------------------------------------------------------

    def _list_integrations(self, query, body) -> tuple[int, Any]:
        self._require_scope("environment:integrations:list", "environment:integrations:list_credentials")
        with self.lock:
            return 200, {"data": [self.public(i) for i in self.integrations]}

    def public(self, integration: dict) -> dict:
        """A copy of an integration as served: its logo under this server's URL (Nango serves them from its
        public URL), unless a test set another logo URL."""
        data = copy.deepcopy(integration)
        if self._httpd is not None and str(data.get("logo") or "").startswith(PUBLIC_URL + "/"):
            data["logo"] = self.url + data["logo"].removeprefix(PUBLIC_URL)
        return data

    def _logo(self, provider: str) -> tuple[int, Any]:
        """``GET /images/template-logos/{provider}.svg``: public, no key (``logos`` overrides the bytes)."""
        if provider in self.logos:
            data, content_type = self.logos[provider], "image/svg+xml"
        elif any(i["provider"] == provider for i in self.integrations):
            data, content_type = logo_svg(provider), "image/svg+xml"
        else:
            raise _Reply(404, "Not found", {"Content-Type": "text/html"})
        raise _Reply(200, data, {"Content-Type": content_type})

    def _default_syncs(self, integration: str, connection_id: str) -> list[dict]:
        conn = self.find(connection_id, integration)
        rng = random.Random(f"{integration}/{connection_id}")
        now = datetime.fromtimestamp(self.clock(), UTC)
        failing = bool(conn and any(e["type"] == "sync" for e in conn["errors"]))
        model = {"github": "Issue", "slack": "Message", "hubspot": "Contact", "jira": "Ticket"}.get(
            integration, "Record"
        )
        syncs = []
        for index, name in enumerate((f"{integration}-{model.lower()}s", f"{integration}-users")):
            status = "ERROR" if failing and index == 0 else "SUCCESS"
            count = rng.randint(0, 20_000)
            syncs.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "connection_id": connection_id,
                    "name": name,
                    "variant": "base",
                    "status": status,
                    "type": "INCREMENTAL",
                    "finishedAt": iso(now - timedelta(minutes=rng.randint(1, 59))),
                    "nextScheduledSyncAt": iso(now + timedelta(minutes=rng.randint(1, 59))),
                    "frequency": "every hour" if index == 0 else "every day",
                    "latestResult": {
                        model if index == 0 else "User": {
                            "added": rng.randint(0, 50),
                            "updated": rng.randint(0, 50),
                            "deleted": 0,
                        }
                    },
                    "recordCount": {model if index == 0 else "User": count},
                    "checkpoint": None,
                }
            )
        return syncs

    def _sync_status(self, query, body) -> tuple[int, Any]:
        self._require_scope("environment:syncs:read")
        problems = [
            issue("Required", [n], "invalid_type")
            for n in ("provider_config_key", "syncs")
            if not query.get(n)
        ]
        if problems:
            raise _bad("invalid_query_params", errors=problems)
        integration = query["provider_config_key"][0]
        wanted = query["syncs"][0]
        connection_id = (query.get("connection_id") or [None])[0]
        if not any(i["unique_key"] == integration for i in self.integrations):
            raise _bad("unknown_provider_config", "Provider config not found", status=400)
        with self.lock:
            if connection_id is None:
                pairs = [
                    (integration, c["connection_id"])
                    for c in self.connections
                    if c["provider_config_key"] == integration
                ][:100]
            else:
                if self.find(connection_id, integration) is None:
                    raise _bad("unknown_connection", "Connection not found", status=404)
                pairs = [(integration, connection_id)]
            result = []
            for pair in pairs:
                syncs = self.syncs.setdefault(pair, self._default_syncs(*pair))
                names = None if wanted == "*" else {n.split("::")[0] for n in wanted.split(",")}
                result += [copy.deepcopy(s) for s in syncs if names is None or s["name"] in names]
        return 200, {"syncs": result}

    def _sync_trigger(self, query, body) -> tuple[int, Any]:
        self._require_scope("environment:syncs:execute")
        problems = []
        if not isinstance(body, dict):
            raise _bad("invalid_body", errors=[issue("Expected object", [], "invalid_type")])
        if not isinstance(body.get("provider_config_key"), str):
            problems.append(issue("Required", ["provider_config_key"], "invalid_type"))
        syncs = body.get("syncs")
        if not isinstance(syncs, list):
            problems.append(issue("Required", ["syncs"], "invalid_type"))
        mode = body.get("sync_mode")
        if mode is not None and mode not in ("incremental", "full_refresh", "full_refresh_and_clear_cache"):
            problems.append(issue("Invalid enum value", ["sync_mode"], "invalid_enum_value"))
        if problems:
            raise _bad("invalid_body", errors=problems)
        connection_id = body.get("connection_id")
        if connection_id is not None and self.find(connection_id, body["provider_config_key"]) is None:
            raise _bad("unknown_connection", "Connection not found")
        with self.lock:
            self.triggered.append(copy.deepcopy(body))
            for (integration, cid), statuses in self.syncs.items():
                if integration == body["provider_config_key"] and connection_id in (None, cid):
                    for status in statuses:
                        if not syncs or status["name"] in syncs:
                            status["status"] = "RUNNING"
        return 200, {"success": True}

    def _rotate_signing_key(self, query, body) -> tuple[int, Any]:
        self._require_scope("environment:webhook_signing_key:rotate")
        with self.lock:
            if self.signing_key_count > 1:
                raise _bad(
                    "conflict",
                    "The environment has more than one webhook signing key and cannot be rotated automatically",
                    status=409,
                )
            self.webhook_signing_key = str(uuid.uuid4())
            return 200, {"data": {"webhook_signing_key": self.webhook_signing_key}}


class _RawJSON(bytes):
    """An already-serialized JSON body."""


def _search_hit(conn: dict, needle: str) -> bool:
    if needle in conn["connection_id"].lower():
        return True
    end_user = conn.get("end_user")
    if not end_user:
        return False
    return any(needle in (end_user.get(k) or "").lower() for k in ("display_name", "email"))


def _item_json(conn: dict) -> str:
    return json.dumps(list_item(conn), separators=(",", ":"))


def _int_param(raw: str, name: str, low: int, high: int | None, problems: list[dict]) -> int:
    try:
        value = int(raw)
    except ValueError:
        problems.append(issue("Expected number, received nan", [name], "invalid_type"))
        return 0
    if value < low:
        problems.append(issue(f"Number must be greater than or equal to {low}", [name], "too_small"))
    elif high is not None and value > high:
        problems.append(issue(f"Number must be less than or equal to {high}", [name], "too_big"))
    return value


def _bool_param(query: dict[str, list[str]], name: str) -> bool:
    values = query.get(name)
    if not values:
        return False
    value = values[0].lower()
    if value not in ("true", "false", "1", "0"):
        raise _bad("invalid_query_params", errors=[issue("Invalid input", [name], "invalid_union")])
    return value in ("true", "1")


_ROUTES: dict[tuple[str, str], Callable[..., tuple[int, Any]]] = {
    ("GET", "/connections"): FakeNango._list_connections,
    ("GET", "/connections/{id}"): FakeNango._get_connection,
    ("PATCH", "/connections/{id}"): FakeNango._patch_connection,
    ("DELETE", "/connections/{id}"): FakeNango._delete_connection,
    ("POST", "/connections/metadata"): lambda self, q, b: self._metadata(q, b, merge=False),
    ("PATCH", "/connections/metadata"): lambda self, q, b: self._metadata(q, b, merge=True),
    ("POST", "/connect/sessions"): FakeNango._post_session,
    ("POST", "/connect/sessions/reconnect"): FakeNango._post_reconnect,
    ("GET", "/connect/session"): FakeNango._get_session,
    ("DELETE", "/connect/session"): FakeNango._delete_session,
    ("GET", "/integrations"): FakeNango._list_integrations,
    ("GET", "/sync/status"): FakeNango._sync_status,
    ("POST", "/sync/trigger"): FakeNango._sync_trigger,
    ("POST", "/environment/webhook-signing-key/rotate"): FakeNango._rotate_signing_key,
}


def webhook_bytes(body: dict) -> bytes:
    """Serialize a webhook body as Nango does: keys sorted, compact, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --------------------------------------------------------------------------------------------------------------
# HTTP plumbing


class _TrackingHTTPServer(ThreadingHTTPServer):
    """One thread per connection, each recorded in ``fake._handlers`` (with its socket) before it starts;
    a record is dropped only once its thread has ended, so ``FakeNango.stop()`` joins every one of them."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, fake: FakeNango) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="FakeNango-handler"
        )
        thread.daemon = True
        with self.fake.lock:
            handlers = self.fake._handlers
            for sock in [sock for sock, t in handlers.items() if not t.is_alive()]:
                del handlers[sock]
            handlers[request] = thread
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a reset or a closed pipe: the logo cache dropping a body it refuses, a
        cancelled call) is no server error; anything else is still printed with its traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeNango
    protocol_version = "HTTP/1.1"
    server_version = "FakeNango/1.0"
    sys_version = ""
    # Small keep-alive answers went out as two writes (headers, then body): Nagle held the body until the
    # client's delayed ACK of the headers, ~40 ms per request. TCP_NODELAY, and one write per answer (_send).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _serve(self) -> None:
        fake = self.fake
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        body_error = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body, body_error = raw.decode("utf-8", "replace"), True
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = {k: ("<redacted>" if k == "authorization" else v) for k, v in headers.items()}
        with fake.lock:
            request = RecordedRequest(self.command, path, query, recorded, body, split.query)
            fake.requests.append(request)
            delay = fake._delay if fake._delay_prefix is None or path.startswith(fake._delay_prefix) else 0.0
        if fake.on_request is not None:
            fake.on_request(request)
        with fake.lock:
            gates = [gate for gate in fake._gates if gate.matches(request)]
        for gate in gates:
            gate.pass_through(request)
        if gates and fake._stopping.is_set():
            self.close_connection = True
            return
        if delay and fake._stopping.wait(delay):
            self.close_connection = True
            return

        fault = fake._take_fault(path)
        if fault is not None and self._fault(fault):
            return
        allowed, rate_headers = fake._rate_headers()
        if not allowed:
            body_429 = {"error": {"code": "too_many_request", "method": self.command, "path": path}}
            self._send(429, body_429, rate_headers)
            return
        try:
            if body_error and not path.startswith("/proxy/"):  # the proxy forwards any body
                raise _bad("invalid_body", "Invalid JSON body")
            status, payload = fake.handle(self.command, path, query, headers, body)
        except _Reply as reply:
            status, payload = reply.status, reply.body
            rate_headers = {**rate_headers, **reply.headers}
        except Exception as exc:  # a bug in the fake: answer like Nango's generic 500
            status, payload = (
                500,
                error_body("server_error", f"FakeNango internal error: {type(exc).__name__}: {exc}"),
            )
        self._send(status, payload, rate_headers)

    def _fault(self, fault: Fault) -> bool:
        """Apply an injected fault. Returns True when the request is answered."""
        if fault.kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return True
        if fault.kind == "stall_body":
            data = b'{"connections":[{"id":1,"connection_id":"stall'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 500))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            assert fault.gate is not None
            fault.gate.pass_through(None)  # type: ignore[arg-type]
            self.close_connection = True
            return True
        if fault.kind == "truncate":
            data = b'{"connections":[{"id":1,"connection_id":"trunc'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 500))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True
            return True
        body = fault.body
        if body is None:
            body = error_body(
                _DEFAULT_CODES.get(fault.status, "server_error"), _DEFAULT_MESSAGES.get(fault.status)
            )
        headers = dict(fault.headers)
        if fault.status == 429 and "Retry-After" not in headers:
            headers["Retry-After"] = "1"
        self._send(fault.status, body, headers)
        return True

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        content_type = "application/json; charset=utf-8"
        if payload is None:
            data = b""
        elif isinstance(payload, bytes | bytearray):
            data = bytes(payload)
            if not isinstance(payload, _RawJSON):
                content_type = "application/octet-stream"
        elif isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            data = json.dumps(payload, separators=(",", ":")).encode()
        headers = dict(headers)
        content_type = headers.pop("Content-Type", content_type)
        self.send_response(status)
        if data or status != 204:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        # end_headers() with the body in the same write (one segment for small answers)
        if not hasattr(self, "_headers_buffer"):  # an HTTP/0.9 request: no status line nor headers
            self._headers_buffer: list[bytes] = []
        else:
            self._headers_buffer.append(b"\r\n")
        if data and self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve  # noqa: N815


_DEFAULT_CODES = {
    400: "invalid_body",
    401: "invalid_secret_key",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    424: "connection_refresh_exhausted",
    429: "too_many_request",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
_DEFAULT_MESSAGES = {
    401: "Authentication failed. The provided secret key is invalid.",
    403: "Insufficient scope. Required: environment:connections:read_credentials",
    404: "Failed to find connection",
    424: "The refresh limit has been reached for this connection.",
    500: "An unexpected error occurred",
}
