"""The workbench endpoints of FakeNango (records, sync control, scripts config, actions, the proxy and
integration details), in their own module; ``tests/nango_server.py`` routes to :class:`WorkbenchFake`.

Behaviour follows the real server where NOTES.md or the spec say so:

- ``GET /records``: headers ``Connection-Id`` / ``Provider-Config-Key``; records ordered by last modification
  then id; ``cursor`` is ``base64("<last_modified_at>||<id>")`` as Nango's; ``limit`` 1..10,000 (default 100);
  ``next_cursor`` null on the last page (the spec says string: the real server sends null);
  ``filter`` added/updated/deleted (comma-separated combinations too), ``modified_after``, ``ids``, ``variant``.
- sync control: pause -> PAUSED, start -> RUNNING, trigger -> RUNNING (see FakeNango._sync_trigger), frequency
  overrides in Nango's ``ms`` notation, 30 s minimum, null reverts to the sync's default.
- ``GET /scripts/config``: a LIST of per-integration configs (the real server; the spec documents one object).
- actions: sync answers, ``X-Async`` answers ``{id, statusUrl}`` and ``GET /action/{id}`` answers 404 until the
  action is done (after ``async_polls`` polls), then the result (200) or the error (500).
- ``/proxy/{path}``: forwarded to :class:`FakeProvider` (a real HTTP server on loopback) with the connection's
  access token, ``Nango-Proxy-*`` headers unprefixed, ``Retries`` honoured on 5xx/429,
  ``Base-Url-Override`` honoured; the provider's answer passes through unchanged.

Tests drive it through ``fake.workbench``: ``set_records``, ``generate_records``, ``actions``,
``async_polls``, ``provider`` (requests it received, ``fail_next``).
"""

from __future__ import annotations

import base64
import bisect
import copy
import http.client
import json
import random
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

if TYPE_CHECKING:
    from tests.nango_server import FakeNango

RECORDS_DEFAULT_LIMIT = 100
RECORDS_MAX_LIMIT = 10_000
LAZY_RECORDS_MAX = 2_000  # records generated on first read of a model nobody set up
MIN_FREQUENCY_S = 30
_UNITS = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_FREQ_RE = re.compile(r"^(?:every\s+)?(?:(\d+(?:\.\d+)?)\s*)?([a-z]+)$")


def frequency_seconds(text: str) -> float | None:
    match = _FREQ_RE.match(text.strip().lower())
    if not match or match.group(2) not in _UNITS:
        return None
    return float(match.group(1) or 1) * _UNITS[match.group(2)]


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_cursor(record: dict) -> str:
    meta = record["_nango_metadata"]
    return base64.b64encode(f"{meta['last_modified_at']}||{record['id']}".encode()).decode()


def _sort_key(record: dict) -> tuple[str, str]:
    return record["_nango_metadata"]["last_modified_at"], str(record["id"])


# --------------------------------------------------------------------------------------------------------------
# generated records

_WORDS = (
    "login broken after update export fails sync stuck add dark mode slow dashboard invoice missing "
    "webhook retries duplicate contacts timezone wrong permissions denied api limit reached"
).split()
_LABELS = ("bug", "feature", "p1", "p2", "customer", "backend", "ui", "docs")
_ROLES = ("admin", "member", "viewer", "owner")


def make_records(
    model: str, count: int, *, seed: int | str = 1, start: datetime | None = None, deleted_ratio: float = 0.05
) -> list[dict]:
    """``count`` deterministic records of ``model`` with their ``_nango_metadata`` (ordered as served)."""
    rng = random.Random(f"{model}/{seed}")
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    records = []
    ts = start
    for index in range(count):
        ts += timedelta(seconds=rng.randint(1, 90))
        first_seen = ts - timedelta(days=rng.randint(0, 30)) if index % 3 else ts
        roll = rng.random()
        action = "DELETED" if roll < deleted_ratio else "UPDATED" if roll < deleted_ratio + 0.2 else "ADDED"
        record_id = f"{model.lower()}-{index + 1:06d}"
        if model.lower() in ("issue", "ticket"):
            data: dict[str, Any] = {
                "id": record_id,
                "number": index + 1,
                "title": " ".join(rng.sample(_WORDS, 4)).capitalize(),
                "state": rng.choice(("open", "closed")),
                "labels": rng.sample(_LABELS, rng.randint(0, 3)),
                "assignee": {"login": f"dev{rng.randint(1, 40)}", "id": rng.randint(1000, 9999)},
                "comments": rng.randint(0, 30),
                "created_at": _iso(first_seen - timedelta(hours=rng.randint(1, 500))),
            }
        elif model.lower() == "user":
            data = {
                "id": record_id,
                "name": f"User {index + 1}",
                "email": f"user{index + 1}@example.com",
                "role": rng.choice(_ROLES),
                "active": rng.random() > 0.1,
            }
        else:
            data = {
                "id": record_id,
                "name": f"{model} {index + 1}",
                "amount": round(rng.uniform(1, 5000), 2),
                "tags": rng.sample(_LABELS, rng.randint(0, 2)),
                "owner": {"id": rng.randint(1, 99), "team": rng.choice(("eu", "us", "apac"))},
            }
        data["_nango_metadata"] = {
            "first_seen_at": _iso(first_seen),
            "last_modified_at": _iso(ts),
            "last_action": action,
            "deleted_at": _iso(ts) if action == "DELETED" else None,
            "pruned_at": None,
            "cursor": "",
        }
        data["_nango_metadata"]["cursor"] = record_cursor(data)
        records.append(data)
    return records


# --------------------------------------------------------------------------------------------------------------
# actions


def _issue_input_schema() -> dict:
    return {
        "definitions": {
            "CreateIssueInput": {
                "type": "object",
                "properties": {
                    "owner": {"type": "string", "minLength": 1},
                    "repo": {"type": "string", "minLength": 1},
                    "title": {"type": "string", "minLength": 1},
                    "body": {"type": "string"},
                    "labels": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["owner", "repo", "title"],
                "additionalProperties": False,
            },
            "GithubIssue": {"type": "object", "properties": {"id": {"type": "string"}}},
        }
    }


def _create_issue(fake: WorkbenchFake, conn: dict, payload: Any) -> tuple[int, Any]:
    number = 100 + len(fake.action_runs)
    return 200, {
        "id": f"issue-{number}",
        "number": number,
        "url": f"https://github.com/{payload['owner']}/{payload['repo']}/issues/{number}",
        "title": payload["title"],
        "labels": payload.get("labels", []),
    }


def _echo(fake: WorkbenchFake, conn: dict, payload: Any) -> tuple[int, Any]:
    return 200, {"echo": payload, "connection_id": conn["connection_id"]}


def _failing(fake: WorkbenchFake, conn: dict, payload: Any) -> tuple[int, Any]:
    return 500, {
        "error": {
            "message": "Failed to fetch the repository: 404 Not Found",
            "code": "action_script_failure",
            "payload": {"error": "Request failed with status code 404"},
        }
    }


def _upstream(fake: WorkbenchFake, conn: dict, payload: Any) -> tuple[int, Any]:
    return 424, {
        "error": {
            "message": "The external API returned an error",
            "code": "action_http_error",
            "payload": {},
            "upstream": {
                "status": 403,
                "headers": {"content-type": "application/json"},
                "body": {"message": "Resource not accessible by integration"},
            },  # fmt: skip
        }
    }


def _rate_limit(fake: WorkbenchFake, conn: dict, payload: Any) -> tuple[int, Any]:
    return 200, {"limit": 5000, "remaining": 4999, "reset": 1767225600}


def default_actions(integration: str) -> dict[str, dict]:
    """name -> {"config": scripts-config entry, "run": handler(fake, conn, input) -> (status, body)}."""
    actions: dict[str, dict] = {
        "echo": {
            "config": {
                "name": "echo",
                "type": "action",
                "description": "Returns its input",
                "input": {
                    "name": "EchoInput",
                    "fields": [
                        {"name": "message", "value": "string"},
                        {"name": "count", "value": "number", "optional": True},
                    ],
                },
                "json_schema": {
                    "definitions": {
                        "EchoInput": {
                            "type": "object",
                            "properties": {"message": {"type": "string"}, "count": {"type": "integer"}},
                            "required": ["message"],
                        }
                    }
                },
            },
            "run": _echo,
        },
        "always-fails": {
            "config": {"name": "always-fails", "type": "action", "description": "Fails", "json_schema": None},
            "run": _failing,
        },
        "forbidden-upstream": {
            "config": {"name": "forbidden-upstream", "type": "action", "json_schema": None},
            "run": _upstream,
        },
    }
    if integration == "github":
        actions["create-issue"] = {
            "config": {
                "name": "create-issue",
                "type": "action",
                "description": "Creates an issue in a repository",
                "input": {
                    "name": "CreateIssueInput",
                    "fields": [
                        {"name": "owner", "value": "string"},
                        {"name": "repo", "value": "string"},
                        {"name": "title", "value": "string"},
                    ],
                },
                "json_schema": _issue_input_schema(),
                "scopes": ["repo"],
            },
            "run": _create_issue,
        }
        actions["fetch-rate-limit"] = {
            "config": {
                "name": "fetch-rate-limit",
                "type": "action",
                "description": "Rate limit",
                "json_schema": None,
            },
            "run": _rate_limit,
        }
    for entry in actions.values():
        entry["config"].setdefault("version", "1.0.0")
        entry["config"].setdefault("last_deployed", "2026-05-01T10:00:00.000Z")
        entry["config"].setdefault("is_public", False)
        entry["config"].setdefault("pre_built", False)
        entry["config"].setdefault("scopes", [])
        entry["config"].setdefault("models", [])
    return actions


# --------------------------------------------------------------------------------------------------------------
# the fake external API


class FakeProvider:
    """An external API on loopback that the proxy forwards to. Records what it received (headers
    lowercased) and answers: ``/user`` (the account), ``/status/<code>``, ``/echo/...`` (the request back),
    ``/flaky`` (503 ``flaky_failures`` times, then 200), anything else 404."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.flaky_failures = 0
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                provider._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="FakeProvider", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        seen = {
            "method": handler.command,
            "path": split.path,
            "query": parse_qs(split.query, keep_blank_values=True),
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "body": raw.decode("utf-8", "replace"),
        }
        with self.lock:
            self.requests.append(seen)
            flaky = split.path == "/flaky" and self.flaky_failures > 0
            if flaky:
                self.flaky_failures -= 1
        status, body, headers = 200, {}, {"X-Provider-Request": str(len(self.requests))}
        if not seen["headers"].get("authorization", "").startswith("Bearer "):
            status, body = 401, {"message": "Requires authentication"}
        elif split.path == "/user":
            body = {"login": "octocat", "id": 583231, "name": "The Octocat", "plan": {"name": "pro"}}
            headers["X-RateLimit-Remaining"] = "4999"
        elif split.path.startswith("/status/"):
            status = int(split.path.rsplit("/", 1)[1])
            body = {"message": f"Status {status}"}
        elif split.path.startswith("/echo"):
            body = {k: v for k, v in seen.items() if k != "headers"} | {
                "headers": {k: v for k, v in seen["headers"].items() if k != "authorization"}
            }
        elif split.path == "/flaky":
            status, body = (503, {"message": "try again"}) if flaky else (200, {"ok": True})
        elif split.path == "/text":
            data = b"plain text answer\n"
            handler.send_response(200)
            handler.send_header("Content-Type", "text/plain")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        else:
            status, body = 404, {"message": "Not Found", "documentation_url": "https://docs.example.com"}
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


# --------------------------------------------------------------------------------------------------------------
# the routes


class WorkbenchFake:
    """Workbench state and routes of one FakeNango (``fake.workbench``)."""

    def __init__(self, fake: FakeNango) -> None:
        self.fake = fake
        self.records: dict[tuple[str, str, str, str], list[dict]] = {}
        self._keys: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {}
        self.actions: dict[str, dict[str, dict]] = {}  # integration -> name -> {"config", "run"}
        self.action_runs: list[dict] = []  # every POST /action/trigger body with its headers
        self.async_jobs: dict[str, dict] = {}
        self.async_polls = 2  # GET /action/{id} answers 404 this many times before the result
        self.frequency_updates: list[dict] = []
        self.paused: list[dict] = []
        self.started: list[dict] = []
        self._provider: FakeProvider | None = None
        self.provider_base_urls: dict[str, str] = {}  # integration -> base URL (default: the fake provider)

    # -- test controls ----------------------------------------------------------------------------------

    @property
    def provider(self) -> FakeProvider:
        with self.fake.lock:
            if self._provider is None:
                self._provider = FakeProvider()
            return self._provider

    def stop(self) -> None:
        if self._provider is not None:
            self._provider.stop()
            self._provider = None

    def set_records(
        self, integration: str, connection_id: str, model: str, records: list[dict], variant: str = "base"
    ) -> None:
        """Serve ``records`` (each with ``_nango_metadata``; made by :func:`make_records` or by hand)."""
        ordered = sorted(records, key=_sort_key)
        key = (integration, connection_id, model, variant)
        with self.fake.lock:
            self.records[key] = ordered
            self._keys[key] = [_sort_key(r) for r in ordered]
            if self.fake.find(connection_id, integration) is not None:
                for sync in self._syncs_of(integration, connection_id):  # the sync status counts them
                    counts = sync.get("recordCount") or {}
                    if model in counts and variant == (sync.get("variant") or "base"):
                        counts[model] = len(ordered)

    def generate_records(
        self, integration: str, connection_id: str, model: str, count: int, variant: str = "base", **kw: Any
    ) -> list[dict]:
        records = make_records(model, count, seed=f"{integration}/{connection_id}", **kw)
        self.set_records(integration, connection_id, model, records, variant)
        return records

    def actions_of(self, integration: str) -> dict[str, dict]:
        with self.fake.lock:
            return self.actions.setdefault(integration, default_actions(integration))

    # -- routing ----------------------------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> Callable[[], tuple[int, Any]] | None:
        """The handler of ``method path`` if it is a workbench route (called after authentication)."""
        if path.startswith("/proxy/") or path == "/proxy":
            return lambda: self._proxy(method, path.removeprefix("/proxy"), query, headers, body)
        simple = {
            ("GET", "/records"): lambda: self._records(query, headers),
            ("POST", "/sync/pause"): lambda: self._schedule(body, "PAUSED", self.paused),
            ("POST", "/sync/start"): lambda: self._schedule(body, "RUNNING", self.started),
            ("PUT", "/sync/update-connection-frequency"): lambda: self._frequency(body),
            ("GET", "/scripts/config"): lambda: self._scripts_config(query),
            ("POST", "/action/trigger"): lambda: self._action_trigger(headers, body),
        }.get((method, path))
        if simple is not None:
            return simple
        if method == "GET":
            match = re.fullmatch(r"/action/([^/]+)", path)
            if match:
                return lambda: self._action_result(unquote(match.group(1)))
            match = re.fullmatch(r"/integrations/([^/]+)", path)
            if match:
                return lambda: self._integration(unquote(match.group(1)), query)
            match = re.fullmatch(r"/integrations/([^/]+)/functions", path)
            if match:
                return lambda: self._functions(unquote(match.group(1)), query)
            match = re.fullmatch(r"/providers/([^/]+)", path)
            if match:
                return lambda: self._provider_info(unquote(match.group(1)))
        return None

    # -- helpers ------------------------------------------------------------------------------------------

    def _conn_from_headers(self, headers: dict[str, str]) -> dict:
        from tests.nango_server import _bad, issue

        problems = [
            issue("Required", [name], "invalid_type")
            for name in ("connection-id", "provider-config-key")
            if not headers.get(name)
        ]
        if problems:
            raise _bad("invalid_headers", errors=problems)
        conn = self.fake.find(headers["connection-id"], headers["provider-config-key"])
        if conn is None:
            raise _bad(
                "unknown_connection",
                "Provided ConnectionId and ProviderConfigKey does not match a valid connection",
            )
        return conn

    def _syncs_of(self, integration: str, connection_id: str) -> list[dict]:
        with self.fake.lock:
            return self.fake.syncs.setdefault(
                (integration, connection_id), self.fake._default_syncs(integration, connection_id)
            )

    # -- records ------------------------------------------------------------------------------------------

    def _records(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        from tests.nango_server import _bad, _int_param, _RawJSON, issue

        self.fake._require_scope("environment:records:read", "environment:syncs:read")
        conn = self._conn_from_headers(headers)
        problems: list[dict] = []
        allowed = {"model", "cursor", "limit", "filter", "modified_after", "delta", "ids", "variant"}
        for name in query:
            if name not in allowed and not name.startswith("ids["):
                problems.append(issue(f"Unrecognized key(s) in object: '{name}'", [], "unrecognized_keys"))
        model = (query.get("model") or [""])[0]
        if not model:
            problems.append(issue("Required", ["model"], "invalid_type"))
        limit = RECORDS_DEFAULT_LIMIT
        if "limit" in query:
            limit = _int_param(query["limit"][0], "limit", 1, RECORDS_MAX_LIMIT, problems)
        filters: set[str] = set()
        if query.get("filter"):
            for part in query["filter"][0].split(","):
                if part.strip().lower() not in ("added", "updated", "deleted"):
                    problems.append(issue("Invalid enum value", ["filter"], "invalid_enum_value"))
                filters.add(part.strip().upper())
        after = (query.get("modified_after") or query.get("delta") or [None])[0]
        if after is not None:
            try:
                after_dt = datetime.fromisoformat(after.replace("Z", "+00:00"))
            except ValueError:
                problems.append(issue("Invalid datetime", ["modified_after"], "invalid_string"))
            else:
                after = _iso(after_dt)
        cursor_key: tuple[str, str] | None = None
        if query.get("cursor"):
            try:
                ts, _, rid = base64.b64decode(query["cursor"][0], validate=True).decode().partition("||")
                cursor_key = (ts, rid)
            except ValueError:
                problems.append(issue("Invalid cursor", ["cursor"], "custom"))
        ids = set(query.get("ids") or [])
        if len(ids) > 100:
            problems.append(issue("Array must contain at most 100 element(s)", ["ids"], "too_big"))
        variant = (query.get("variant") or ["base"])[0] or "base"
        if problems:
            raise _bad("invalid_query_params", errors=problems)
        key = (conn["provider_config_key"], conn["connection_id"], model, variant)
        with self.fake.lock:
            if key not in self.records:
                self._lazy_records(key)
            rows, keys = self.records[key], self._keys[key]
            start = bisect.bisect_right(keys, cursor_key) if cursor_key else 0
            page: list[dict] = []
            more = False
            for index in range(start, len(rows)):
                record = rows[index]
                meta = record["_nango_metadata"]
                if filters and meta["last_action"] not in filters:
                    continue
                if after is not None and meta["last_modified_at"] <= after:
                    continue
                if ids and str(record["id"]) not in ids:
                    continue
                if len(page) == limit:
                    more = True
                    break
                page.append(record)
            next_cursor = page[-1]["_nango_metadata"]["cursor"] if more and page else None
            data = json.dumps({"records": page, "next_cursor": next_cursor}, separators=(",", ":"))
        return 200, _RawJSON(data.encode())

    def _lazy_records(self, key: tuple[str, str, str, str]) -> None:
        """Records of a model nobody set up: as many as its sync's ``recordCount`` (capped; the count is
        then lowered to match), none for a model no sync writes."""
        integration, connection_id, model, variant = key
        count = 0
        for sync in self._syncs_of(integration, connection_id):
            counts = sync.get("recordCount") or {}
            if model in counts and variant == (sync.get("variant") or "base"):
                count = min(int(counts[model]), LAZY_RECORDS_MAX)
                counts[model] = count
        records = make_records(model, count, seed=f"{integration}/{connection_id}")
        self.records[key] = records
        self._keys[key] = [_sort_key(r) for r in records]

    # -- sync control -----------------------------------------------------------------------------------

    def _sync_body(self, body: Any, *, need_connection: bool = False) -> tuple[str, str | None, list]:
        from tests.nango_server import _bad, issue

        if not isinstance(body, dict):
            raise _bad("invalid_body", errors=[issue("Expected object", [], "invalid_type")])
        problems = []
        if not isinstance(body.get("provider_config_key"), str):
            problems.append(issue("Required", ["provider_config_key"], "invalid_type"))
        if need_connection and not isinstance(body.get("connection_id"), str):
            problems.append(issue("Required", ["connection_id"], "invalid_type"))
        syncs = body.get("syncs", [])
        if not need_connection and not isinstance(syncs, list):
            problems.append(issue("Required", ["syncs"], "invalid_type"))
        if problems:
            raise _bad("invalid_body", errors=problems)
        connection_id = body.get("connection_id")
        if connection_id is not None and self.fake.find(connection_id, body["provider_config_key"]) is None:
            raise _bad("unknown_connection", "Connection not found")
        names = [s["name"] if isinstance(s, dict) else s for s in syncs] if isinstance(syncs, list) else []
        return body["provider_config_key"], connection_id, names

    def _schedule(self, body: Any, status: str, log: list[dict]) -> tuple[int, Any]:
        self.fake._require_scope("environment:syncs:execute")
        integration, connection_id, names = self._sync_body(body)
        with self.fake.lock:
            log.append(copy.deepcopy(body))
            targets = (
                [connection_id]
                if connection_id
                else [
                    c["connection_id"]
                    for c in self.fake.connections
                    if c["provider_config_key"] == integration
                ]
            )
            for cid in targets:
                for sync in self._syncs_of(integration, cid):
                    if not names or sync["name"] in names:
                        sync["status"] = status
        return 200, {"success": True}

    def _frequency(self, body: Any) -> tuple[int, Any]:
        from tests.nango_server import _bad, issue

        self.fake._require_scope("environment:syncs:execute")
        integration, connection_id, _ = self._sync_body(body, need_connection=True)
        name, frequency = body.get("sync_name"), body.get("frequency", "missing")
        if not isinstance(name, str) or frequency == "missing":
            raise _bad("invalid_body", errors=[issue("Required", ["sync_name", "frequency"], "invalid_type")])
        if frequency is not None:
            seconds = frequency_seconds(frequency) if isinstance(frequency, str) else None
            if seconds is None:
                raise _bad("invalid_body", f"Invalid frequency: {frequency!r}")
            if seconds < MIN_FREQUENCY_S:
                raise _bad("invalid_body", "Sync interval is too short. The minimum interval is 30 seconds.")
        with self.fake.lock:
            syncs = [s for s in self._syncs_of(integration, connection_id or "") if s["name"] == name]
            if not syncs:
                raise _bad("unknown_sync", f"Sync {name!r} not found")
            for sync in syncs:
                sync.setdefault("_default_frequency", sync["frequency"])
                sync["frequency"] = frequency if frequency is not None else sync["_default_frequency"]
            self.frequency_updates.append(copy.deepcopy(body))
            current = syncs[0]["frequency"]
        return 200, {"frequency": current}

    # -- scripts config ---------------------------------------------------------------------------------

    def _sync_configs(self, integration: str) -> list[dict]:
        model = {"github": "Issue", "slack": "Message", "hubspot": "Contact", "jira": "Ticket"}.get(
            integration, "Record"
        )
        result = []
        for index, (name, returns) in enumerate(
            ((f"{integration}-{model.lower()}s", model), (f"{integration}-users", "User"))
        ):
            result.append(
                {
                    "id": index + 1,
                    "name": name,
                    "type": "sync",
                    "enabled": True,
                    "runs": "every hour" if index == 0 else "every day",
                    "returns": [returns],
                    "models": [{"name": returns, "fields": [{"name": "id", "type": "string"}]}],
                    "json_schema": {
                        "definitions": {returns: {"type": "object", "properties": {"id": {"type": "string"}}}}
                    },  # fmt: skip
                    "track_deletes": index == 0,
                    "auto_start": True,
                    "last_deployed": "2026-05-01T10:00:00.000Z",
                    "is_public": False,
                    "pre_built": False,
                    "version": "1.0.0",
                    "attributes": {},
                    "input": {},
                    "description": f"Syncs {returns} records",
                    "scopes": [],
                    "endpoints": [{"method": "GET", "path": f"/{returns.lower()}s"}],
                    "webhookSubscriptions": [],
                }
            )
        return result

    def _scripts_config(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        from tests.nango_server import _bad, issue

        fmt = (query.get("format") or ["nango"])[0]
        if fmt not in ("nango", "openai"):
            raise _bad(
                "invalid_query_params", errors=[issue("Invalid enum value", ["format"], "invalid_enum_value")]
            )
        with self.fake.lock:
            integrations = [(i["unique_key"], i["provider"]) for i in self.fake.integrations]
        configs = []
        for key, provider in integrations:
            configs.append(
                {
                    "providerConfigKey": key,
                    "provider": provider,
                    "syncs": self._sync_configs(key),
                    "actions": [copy.deepcopy(a["config"]) for a in self.actions_of(key).values()],
                    "on-events": [],
                }
            )
        return 200, configs

    # -- actions ----------------------------------------------------------------------------------------

    def _action_trigger(self, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        from nango_desktop.domain.jsonschema_lite import validate as validate_schema
        from nango_desktop.domain.workbench import ScriptFunction
        from tests.nango_server import _bad, issue

        self.fake._require_scope("environment:actions:execute", "environment:syncs:execute")
        conn = self._conn_from_headers(headers)
        if not isinstance(body, dict) or not isinstance(body.get("action_name"), str):
            raise _bad("invalid_body", errors=[issue("Required", ["action_name"], "invalid_type")])
        integration = conn["provider_config_key"]
        action = self.actions_of(integration).get(body["action_name"])
        if action is None:
            raise _bad("unknown_action", f"Action {body['action_name']!r} is not deployed for {integration}")
        payload = body.get("input")
        schema = ScriptFunction.model_validate(action["config"]).input_schema()
        if schema is not None:
            problems = validate_schema(payload, schema)
            if problems:
                raise _bad(
                    "invalid_action_input", "Invalid action input", errors=[issue(p) for p in problems]
                )
        with self.fake.lock:
            self.action_runs.append({"headers": dict(headers), "body": copy.deepcopy(body)})
        status, result = action["run"](self, conn, payload)
        if headers.get("x-async", "").lower() == "true":
            action_id = str(uuid.uuid4())
            with self.fake.lock:
                self.async_jobs[action_id] = {"status": status, "result": result, "polls": 0}
            return 200, {"id": action_id, "statusUrl": f"/action/{action_id}"}
        if status >= 400:
            from tests.nango_server import _Reply

            raise _Reply(status, result)
        return status, result

    def _action_result(self, action_id: str) -> tuple[int, Any]:
        from tests.nango_server import _bad, _Reply

        with self.fake.lock:
            job = self.async_jobs.get(action_id)
            if job is not None:
                job["polls"] += 1
                done = job["polls"] > self.async_polls
        if job is None or not done:
            raise _bad("not_found", "Action not completed yet", status=404)
        if job["status"] >= 400:
            raise _Reply(500 if job["status"] != 424 else 500, job["result"])
        return 200, job["result"]

    # -- proxy ------------------------------------------------------------------------------------------

    def _proxy(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        from tests.nango_server import _bad, _Reply

        self.fake._require_scope("environment:proxy", "environment:connections:read")
        conn = self._conn_from_headers(headers)
        if conn.get("_refresh_exhausted"):
            raise _bad(
                "invalid_credentials", "The refresh limit has been reached for this connection.", status=424
            )
        base = headers.get("base-url-override") or self.provider_base_urls.get(conn["provider_config_key"])
        base = base or self.provider.url
        split = urlsplit(base)
        if split.scheme not in ("http",) or not split.hostname:
            raise _bad("invalid_base_url_override", f"Unsupported base URL: {base}")
        try:
            retries = int(headers.get("retries") or 0)
        except ValueError:
            raise _bad("invalid_headers", "Retries must be a number") from None
        forward = {
            name[len("nango-proxy-") :]: value
            for name, value in headers.items()
            if name.startswith("nango-proxy-")
        }
        token = (conn.get("credentials") or {}).get("access_token") or (conn.get("credentials") or {}).get(
            "apiKey", "provider-token"
        )
        forward["Authorization"] = f"Bearer {token}"
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
            forward.setdefault("content-type", headers.get("content-type", "application/json"))
        target = (split.path.rstrip("/") + path) or "/"
        if query:
            target += "?" + urlencode([(k, v) for k, values in query.items() for v in values])
        for attempt in range(retries + 1):
            client = http.client.HTTPConnection(split.hostname, split.port or 80, timeout=10)
            try:
                client.request(method, target, body=data, headers=forward)
                response = client.getresponse()
                content = response.read()
                reply_headers = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower()
                    not in ("content-length", "connection", "transfer-encoding", "date", "server")
                }
                status = response.status
            except OSError as exc:
                raise _bad("proxy_error", f"Failed to reach the external API: {exc}", status=500) from None
            finally:
                client.close()
            if (status >= 500 or status == 429) and attempt < retries:
                continue
            break
        reply_headers.setdefault("Content-Type", "application/octet-stream")
        raise _Reply(status, _Bytes(content), reply_headers)

    # -- integrations -----------------------------------------------------------------------------------

    def _integration(self, unique_key: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        from tests.nango_server import _bad

        self.fake._require_scope("environment:integrations:read", "environment:integrations:list")
        with self.fake.lock:
            found = next((i for i in self.fake.integrations if i["unique_key"] == unique_key), None)
        if found is None:
            raise _bad("not_found", f"Integration {unique_key!r} not found", status=404)
        data = self.fake.public(found)
        data["webhook_url"] = f"https://api.nango.dev/webhook/env-uuid/{unique_key}"
        return 200, {"data": data}

    def _functions(self, unique_key: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        from tests.nango_server import _bad, _int_param, issue

        self.fake._require_scope("environment:functions:list")
        with self.fake.lock:
            known = any(i["unique_key"] == unique_key for i in self.fake.integrations)
        if not known:
            raise _bad("not_found", f"Integration {unique_key!r} not found", status=404)
        problems: list[dict] = []
        page = _int_param(query["page"][0], "page", 0, None, problems) if "page" in query else 0
        limit = _int_param(query["limit"][0], "limit", 1, 100, problems) if "limit" in query else 20
        kind = (query.get("type") or [None])[0]
        if kind not in (None, "sync", "action", "on-event"):
            problems.append(issue("Invalid enum value", ["type"], "invalid_enum_value"))
        if problems:
            raise _bad("invalid_query_params", errors=problems)
        functions: list[dict] = []
        for config in self._sync_configs(unique_key):
            functions.append(
                {
                    "name": config["name"], "type": "sync", "description": config["description"],
                    "returns": config["returns"], "json_schema": config["json_schema"], "runs": config["runs"],
                    "auto_start": True, "track_deletes": config["track_deletes"], "scopes": [],
                    "id": config["id"], "enabled": True, "last_deployed": config["last_deployed"], "source": "repo",
                }
            )  # fmt: skip
        for index, action in enumerate(self.actions_of(unique_key).values()):
            config = action["config"]
            entry = {
                "name": config["name"], "type": "action", "returns": [],
                "json_schema": config.get("json_schema"), "scopes": config.get("scopes", []),
                "id": 100 + index, "enabled": True, "last_deployed": config["last_deployed"], "source": "repo",
            }  # fmt: skip
            if config.get("description"):
                entry["description"] = config["description"]
            if isinstance(config.get("input"), dict):
                entry["input"] = config["input"]["name"]
            functions.append(entry)
        if kind:
            functions = [f for f in functions if f["type"] == kind]
        chunk = functions[page * limit : (page + 1) * limit]
        return 200, {"data": chunk, "pagination": {"total": len(functions), "page": page, "limit": limit}}

    def _provider_info(self, name: str) -> tuple[int, Any]:
        from tests.nango_server import _PROVIDERS, _bad

        match = next((p for p in _PROVIDERS.values() if p[0] == name), None)
        if match is None:
            raise _bad("not_found", f"Provider {name!r} not found", status=404)
        return 200, {
            "data": {
                "name": name,
                "display_name": match[1],
                "auth_mode": match[2],
                "docs": f"https://nango.dev/docs/integrations/all/{name}",
            }
        }


class _Bytes(bytes):
    """A proxied body: sent as is with the provider's content type."""
