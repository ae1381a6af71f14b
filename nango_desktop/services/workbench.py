"""The connection workbench endpoints (Qt-free): synced records, sync control, scripts config, actions, the
proxy and integration details.

:class:`Workbench` wraps a :class:`~nango_desktop.services.api.NangoClient` and goes through its request
machinery: the shared rate limiter, retries (429 always; 5xx/timeouts for idempotent methods), error
mapping and the ``on_call`` report. Two kinds of answer are not errors here and are read raw instead:

- actions: a failed action (400/424/500) is an :class:`ActionOutcome` with Nango's code, message, payload and
  log id; polling ``GET /action/{id}`` answers 404 while the action runs and 500 when it failed;
- the proxy: the external API's status, headers and body exactly as they came back (4xx/5xx included).

Thread safety: as the wrapped client (every method may run concurrently on worker threads).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from nango_desktop.domain.models import Integration, SyncStatus
from nango_desktop.domain.workbench import (
    ASYNC_ACTION_ADAPTER,
    FREQUENCY_ADAPTER,
    FUNCTIONS_ADAPTER,
    INTEGRATION_FULL_ADAPTER,
    PROVIDER_ADAPTER,
    RECORD_FILTERS,
    RECORDS_MAX_IDS,
    RECORDS_MAX_LIMIT,
    RECORDS_PAGE_ADAPTER,
    SCRIPTS_ADAPTER,
    SUCCESS_ADAPTER,
    ActionOutcome,
    IntegrationFull,
    IntegrationScripts,
    Provider,
    ProxyRequest,
    ProxyResponse,
    RecordsPage,
    ScriptFunction,
    SyncRef,
)
from nango_desktop.services.api import SYNC_MODES, NangoClient
from nango_desktop.services.errors import (
    ApiTimeoutError,
    CancelledError,
    MalformedResponseError,
    NangoError,
    NetworkError,
    redact,
)

log = logging.getLogger(__name__)

DEFAULT_RECORDS_PAGE = 1000
ACTION_POLL_INTERVAL = 1.0
ACTION_POLL_TIMEOUT = 15 * 60.0
# Error codes only Nango itself answers on /proxy (the external API's own errors pass through untouched).
NANGO_PROXY_CODES = frozenset(
    {
        "missing_auth_header", "malformed_auth_header", "unknown_account", "invalid_secret_key",
        "forbidden", "missing_connection_id", "missing_provider_config_key", "unknown_connection",
        "unknown_provider_config", "too_many_request", "invalid_headers", "invalid_query_params",
        "invalid_base_url_override", "missing_base_api_url", "proxy_error", "connection_refresh_exhausted",
        "invalid_credentials", "server_error",
    }
)  # fmt: skip
SyncsArg = Sequence[SyncRef | str]


def _refs(syncs: SyncsArg) -> list[str] | list[dict[str, str]]:
    """Sync names, or (when one of them is a variant) ``{name, variant}`` objects for all: the spec's
    ``oneOf`` accepts a list of names or a list of objects, never a mix."""
    refs = [s if isinstance(s, SyncRef) else SyncRef.parse(s) for s in syncs]
    if any(isinstance(r.as_body(), dict) for r in refs):
        return [{"name": r.name, **({"variant": r.variant} if r.variant else {})} for r in refs]
    return [r.name for r in refs]


def _conn_headers(connection_id: str, integration_id: str) -> dict[str, str]:
    return {"Connection-Id": connection_id, "Provider-Config-Key": integration_id}


class Workbench:
    """Typed access to the workbench endpoints through ``client``. See the module docstring."""

    def __init__(self, client: NangoClient, *, sleep: Callable[[float], None] | None = None) -> None:
        self.client = client
        self._sleep = sleep

    # --- records -------------------------------------------------------------------------------------
    def records_page(
        self,
        connection_id: str,
        integration_id: str,
        model: str,
        *,
        cursor: str | None = None,
        limit: int | None = DEFAULT_RECORDS_PAGE,
        filter: str | None = None,  # noqa: A002 - Nango's parameter name
        modified_after: str | None = None,
        ids: Sequence[str] | None = None,
        variant: str | None = None,
        cancel: threading.Event | None = None,
    ) -> RecordsPage:
        """One page of GET /records (oldest modification first)."""
        if not model:
            raise ValueError("a model is required")
        if limit is not None and not 1 <= limit <= RECORDS_MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {RECORDS_MAX_LIMIT}")
        if filter is not None and filter not in RECORD_FILTERS:
            raise ValueError(f"filter must be one of {', '.join(RECORD_FILTERS)}")
        if ids is not None and len(ids) > RECORDS_MAX_IDS:
            raise ValueError(f"at most {RECORDS_MAX_IDS} ids per request")
        params: list[tuple[str, str]] = [("model", model)]
        if cursor:
            params.append(("cursor", cursor))
        if limit is not None:
            params.append(("limit", str(limit)))
        if filter:
            params.append(("filter", filter))
        if modified_after:
            params.append(("modified_after", modified_after))
        for record_id in ids or ():
            params.append(("ids", record_id))
        if variant and variant != "base":
            params.append(("variant", variant))
        return self.client._call(
            "GET",
            "/records",
            params=params,
            adapter=RECORDS_PAGE_ADAPTER,
            cancel=cancel,
            large=True,
            headers=_conn_headers(connection_id, integration_id),
        )

    def iter_records(
        self,
        connection_id: str,
        integration_id: str,
        model: str,
        *,
        page_size: int = DEFAULT_RECORDS_PAGE,
        cursor: str | None = None,
        cancel: threading.Event | None = None,
        **filters: Any,
    ) -> Iterator[RecordsPage]:
        """Every page, following ``next_cursor`` until it is null. ``filters``: ``filter``,
        ``modified_after``, ``ids``, ``variant``. Raises CancelledError when ``cancel`` is set between pages,
        MalformedResponseError when the server hands back a cursor it already gave (it would never end)."""
        seen: set[str] = set()
        pages = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise CancelledError(detail=f"Cancelled after {pages} page(s) of {model} records")
            page = self.records_page(
                connection_id, integration_id, model, cursor=cursor, limit=page_size, cancel=cancel, **filters
            )
            pages += 1
            yield page
            cursor = page.next_cursor
            if not cursor:
                return
            if cursor in seen:
                raise MalformedResponseError(
                    "The server repeated a records cursor; stopped to avoid an endless load",
                    f"GET /records model={model}: cursor repeated after {pages} page(s)",
                )
            seen.add(cursor)

    # --- sync control ----------------------------------------------------------------------------------
    def sync_status(
        self, integration_id: str, connection_id: str | None, syncs: Sequence[str] | str = "*"
    ) -> list[SyncStatus]:
        return self.client.sync_status(integration_id, connection_id, syncs)

    def trigger_syncs(
        self,
        integration_id: str,
        connection_id: str | None,
        syncs: SyncsArg,
        *,
        sync_mode: str | None = None,
    ) -> None:
        """``sync_mode`` None / "incremental" / "full_refresh" / "full_refresh_and_clear_cache" (see
        :meth:`NangoClient.trigger_sync`); a variant other than "base" is sent as ``{name, variant}``."""
        if sync_mode is not None and sync_mode not in SYNC_MODES:
            raise ValueError(f"unknown sync_mode {sync_mode!r}; expected one of {SYNC_MODES}")
        body: dict[str, Any] = {"provider_config_key": integration_id, "syncs": _refs(syncs)}
        if connection_id is not None:
            body["connection_id"] = connection_id
        if sync_mode is not None:
            body["sync_mode"] = sync_mode
        self.client._call("POST", "/sync/trigger", json=body, adapter=SUCCESS_ADAPTER)

    def pause_syncs(self, integration_id: str, connection_id: str | None, syncs: SyncsArg) -> None:
        self._schedule("/sync/pause", integration_id, connection_id, syncs)

    def start_syncs(self, integration_id: str, connection_id: str | None, syncs: SyncsArg) -> None:
        self._schedule("/sync/start", integration_id, connection_id, syncs)

    def _schedule(self, path: str, integration_id: str, connection_id: str | None, syncs: SyncsArg) -> None:
        body: dict[str, Any] = {"provider_config_key": integration_id, "syncs": _refs(syncs)}
        if connection_id is not None:
            body["connection_id"] = connection_id
        self.client._call("POST", path, json=body, adapter=SUCCESS_ADAPTER)

    def update_frequency(
        self,
        integration_id: str,
        connection_id: str,
        sync: SyncRef | str,
        frequency: str | None,
    ) -> str | None:
        """Override the sync's frequency for this connection ("every 2 hours", Nango's ``ms`` notation,
        30 s minimum); None reverts to the sync's default. Returns the frequency Nango now uses."""
        ref = sync if isinstance(sync, SyncRef) else SyncRef.parse(sync)
        body: dict[str, Any] = {
            "provider_config_key": integration_id,
            "connection_id": connection_id,
            "sync_name": ref.name,
            "frequency": frequency.strip() if isinstance(frequency, str) and frequency.strip() else None,
        }
        if ref.variant and ref.variant != "base":
            body["sync_variant"] = ref.variant
        result = self.client._call(
            "PUT", "/sync/update-connection-frequency", json=body, adapter=FREQUENCY_ADAPTER
        )
        return result.frequency

    # --- scripts config ------------------------------------------------------------------------------
    def scripts_config(self, *, cancel: threading.Event | None = None) -> list[IntegrationScripts]:
        """Every integration's syncs (with their models) and actions (with their input schemas)."""
        return self.client._call("GET", "/scripts/config", adapter=SCRIPTS_ADAPTER, cancel=cancel)

    def integration_scripts(self, integration_id: str) -> IntegrationScripts:
        for entry in self.scripts_config():
            if entry.providerConfigKey == integration_id:
                return entry
        return IntegrationScripts(providerConfigKey=integration_id)

    # --- actions -----------------------------------------------------------------------------------------
    def trigger_action(
        self,
        connection_id: str,
        integration_id: str,
        action: str,
        input: Any = None,  # noqa: A002 - Nango's field name
        *,
        run_async: bool = False,
        max_retries: int | None = None,
        cancel: threading.Event | None = None,
    ) -> ActionOutcome:
        """POST /action/trigger. Synchronously: the result or the error. With ``run_async`` the outcome
        carries ``async_id`` (poll it with :meth:`action_result`)."""
        headers = _conn_headers(connection_id, integration_id)
        if run_async:
            headers["X-Async"] = "true"
            if max_retries is not None:
                if not 0 <= max_retries <= 5:
                    raise ValueError("max_retries must be between 0 and 5")
                headers["X-Max-Retries"] = str(max_retries)
        body: dict[str, Any] = {"action_name": action}
        if input is not None:
            body["input"] = input
        started = time.monotonic()
        response = self._raw("POST", "/action/trigger", headers=headers, json_body=body, cancel=cancel)
        outcome = self._action_outcome("POST", "/action/trigger", response)
        if outcome.ok and run_async:
            try:
                handle = ASYNC_ACTION_ADAPTER.validate_json(response.content)
            except ValueError:
                raise MalformedResponseError(
                    detail="POST /action/trigger (X-Async) -> no action id in the answer"
                ) from None
            outcome.async_id, outcome.result = handle.id, None
        outcome.duration = time.monotonic() - started
        return outcome

    def action_result(self, action_id: str, *, cancel: threading.Event | None = None) -> ActionOutcome | None:
        """GET /action/{id}: None while the action has not completed, else its outcome."""
        path = "/action/" + quote(action_id, safe="")
        response = self._raw("GET", path, cancel=cancel)
        if response.status_code == 404:
            return None
        outcome = self._action_outcome("GET", "/action/{id}", response)
        outcome.async_id = action_id
        return outcome

    def run_action(
        self,
        connection_id: str,
        integration_id: str,
        action: str,
        input: Any = None,  # noqa: A002
        *,
        run_async: bool = False,
        max_retries: int | None = None,
        poll_interval: float = ACTION_POLL_INTERVAL,
        timeout: float = ACTION_POLL_TIMEOUT,
        cancel: threading.Event | None = None,
        on_poll: Callable[[int], None] | None = None,
    ) -> ActionOutcome:
        """Run an action to the end: synchronously, or triggered with X-Async and polled until it ends.
        ``on_poll(n)`` is called before the n-th poll. Raises CancelledError, or ApiTimeoutError after
        ``timeout`` seconds of polling."""
        started = time.monotonic()
        outcome = self.trigger_action(
            connection_id,
            integration_id,
            action,
            input,
            run_async=run_async,
            max_retries=max_retries,
            cancel=cancel,
        )
        if not (run_async and outcome.ok and outcome.async_id):
            return outcome
        action_id = outcome.async_id
        polls = 0
        waited = 0.0
        while True:
            self._wait(poll_interval, cancel)
            waited += poll_interval
            polls += 1
            if on_poll is not None:
                on_poll(polls)
            result = self.action_result(action_id, cancel=cancel)
            if result is not None:
                result.duration = time.monotonic() - started
                return result
            if waited >= timeout:
                raise ApiTimeoutError(
                    f"The action did not finish within {timeout:g} s",
                    f"GET /action/{action_id}: still running after {polls} poll(s)",
                )

    def _wait(self, seconds: float, cancel: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)
        if cancel is not None and cancel.is_set():
            raise CancelledError(detail="Cancelled while waiting for the action")

    def _action_outcome(self, method: str, path: str, response: httpx.Response) -> ActionOutcome:
        status = response.status_code
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
            if status < 400:
                raise MalformedResponseError(
                    detail=f"{method} {path} -> HTTP {status}: not JSON", status=status
                ) from None
        if status < 400:
            return ActionOutcome(ok=True, result=body, status=status)
        secrets = (self.client._key.get_secret_value(),)
        error = self.client._http_error(method, path, response, False, secrets)
        err = body.get("error") if isinstance(body, dict) else None
        code = message = payload = None
        if isinstance(err, dict):
            code = err.get("code") if isinstance(err.get("code"), str) else None
            message = err.get("message") if isinstance(err.get("message"), str) else None
            payload = err.get("payload")
            if "upstream" in err:
                payload = {"payload": payload, "upstream": err["upstream"]} if payload else err["upstream"]
        elif isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"]
        title = message or error.title
        if status == 424:
            title = f"The external API answered with an error: {message or 'HTTP error'}"
        return ActionOutcome(
            ok=False,
            status=status,
            error_title=redact(title, secrets),
            error_code=code or error.code,
            error_payload=payload,
            error_detail=error.detail,
            log_id=_log_id(err, body),
        )

    # --- proxy ---------------------------------------------------------------------------------------
    def proxy(self, request: ProxyRequest, *, cancel: threading.Event | None = None) -> ProxyResponse:
        """Send ``request`` to the external API as the connection; the answer whatever its status."""
        from nango_desktop.domain.curl import proxy_headers

        method = request.method.upper()
        path = request.path if request.path.startswith("/") else "/" + request.path
        url_path = "/proxy" + quote(path, safe="/:@!$&'()*+,;=-._~%")
        headers = dict(proxy_headers(request))
        content: bytes | None = None
        if request.body:
            content = request.body.encode("utf-8")
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = _guess_content_type(request.body)
        started = time.monotonic()
        response = self._raw(
            method, url_path, params=request.query or None, headers=headers, content=content, cancel=cancel
        )
        elapsed = time.monotonic() - started
        return ProxyResponse(
            status=response.status_code,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
            content=response.content,
            elapsed=elapsed,
            nango_error=_nango_proxy_error(response),
        )

    # --- integrations ----------------------------------------------------------------------------------
    def list_integrations(self) -> list[Integration]:
        return self.client.list_integrations()

    def get_integration(self, unique_key: str) -> IntegrationFull:
        """GET /integrations/{uniqueKey}; never with ``include=credentials`` (the OAuth client secret)."""
        path = "/integrations/" + quote(unique_key, safe="")
        return self.client._call("GET", path, adapter=INTEGRATION_FULL_ADAPTER).data

    def integration_functions(self, unique_key: str, *, type: str | None = None) -> list[ScriptFunction]:  # noqa: A002
        """Every function deployed to the integration (GET /integrations/{key}/functions, all pages)."""
        path = "/integrations/" + quote(unique_key, safe="") + "/functions"
        result: list[ScriptFunction] = []
        page = 0
        while True:
            params = [("limit", "100"), ("page", str(page))]
            if type:
                params.append(("type", type))
            body = self.client._call("GET", path, params=params, adapter=FUNCTIONS_ADAPTER)
            result += body.data
            total = body.pagination.get("total")
            if not body.data or len(body.data) < 100 or (isinstance(total, int) and len(result) >= total):
                return result
            page += 1

    def provider(self, name: str) -> Provider:
        return self.client._call("GET", "/providers/" + quote(name, safe=""), adapter=PROVIDER_ADAPTER).data

    # --- plumbing ----------------------------------------------------------------------------------------
    def _raw(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        cancel: threading.Event | None = None,
    ) -> httpx.Response:
        """One request through the client's rate limiter, answered whatever its status. Nango's own 429s
        are waited out like the client does; nothing else is retried (an action or a proxied write may
        have had effects)."""
        client = self.client
        key = client._key.get_secret_value()
        all_headers = {**(headers or {}), "Authorization": f"Bearer {key}"}
        attempt = 0
        while True:
            client._limiter.acquire(cancel)
            started = time.monotonic()
            try:
                response = client._http.request(
                    method,
                    path,
                    params=list(params) if params else None,
                    json=json_body,
                    content=content,
                    headers=all_headers,
                )
            except httpx.TimeoutException:
                error: NangoError = ApiTimeoutError(
                    detail=f"{method} {path}: no answer within {client._timeout:g} s"
                )
                client._report(method, path, None, started, None, error)
                raise error from None
            except httpx.RequestError as exc:
                error = NetworkError(
                    detail=redact(f"{method} {client.base_url}{path}: {type(exc).__name__}: {exc}", (key,))
                )
                client._report(method, path, None, started, None, error)
                raise error from None
            info = client._limiter.update_from_headers(response.headers)
            client._report(method, path, response.status_code, started, info, None)
            if (
                response.status_code == 429
                and _nango_proxy_error(response) == "too_many_request"
                and attempt < client._max_retries
            ):
                hint = _retry_after(response)
                client._pause(client._limiter.note_429(hint), cancel)
                attempt += 1
                continue
            return response


def _retry_after(response: httpx.Response) -> float | None:
    from nango_desktop.services.ratelimit import parse_retry_after

    return parse_retry_after(response.headers.get("retry-after"))


def _nango_proxy_error(response: httpx.Response) -> str | None:
    """Nango's error code when Nango itself (not the external API) refused a proxied request."""
    if response.status_code < 400 or "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    err = body.get("error") if isinstance(body, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    return code if isinstance(code, str) and code in NANGO_PROXY_CODES else None


def _log_id(err: Any, body: Any) -> str | None:
    for source in (err, err.get("payload") if isinstance(err, dict) else None, body):
        if isinstance(source, dict):
            for key in ("log_id", "logId", "activity_log_id", "activityLogId"):
                value = source.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                    return str(value)
    return None


def _guess_content_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"
