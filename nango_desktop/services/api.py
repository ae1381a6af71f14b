"""NangoClient: a synchronous client of the Nango HTTP API (httpx), for worker threads and the CLI.

Thread safety: every public method of :class:`NangoClient` may be called concurrently from several threads
(one ``httpx.Client`` with a thread-safe connection pool; the rate-limit state is behind locks). Only
:meth:`NangoClient.close` must not race with calls in flight. ``on_call`` is invoked on the calling thread.

Retries: 429 is always retried (up to ``max_retries`` times) after ``Retry-After`` / ``X-RateLimit-Reset``;
5xx, timeouts and network errors are retried with exponential backoff for idempotent methods only
(GET, PUT, PATCH, DELETE), never for POST. Waits go through the injectable ``sleep``.

Deadline and Cancel: each call has a total ``deadline`` (default 60 s) covering every attempt, read and wait;
past it the call raises ApiTimeoutError saying how long it waited. A call given a ``cancel`` event stops
within a few tens of milliseconds of the event being set, even while a read is blocked on a stalled server
(:mod:`nango_desktop.services.interrupt`).

Secrets: the API key and session tokens are only ever put in the ``Authorization`` header of a request.
Logs get the method, path and status; error messages get Nango's code and message, redacted.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from nango_desktop import __version__, redaction
from nango_desktop.services.errors import (
    ApiTimeoutError,
    CancelledError,
    InvalidKeyError,
    MalformedResponseError,
    NangoError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    error_for_status,
    redact,
)
from nango_desktop.services.gcpause import gc_paused
from nango_desktop.services.interrupt import CallScope, install
from nango_desktop.services.pagination import DEFAULT_MAX_ROWS, EndlessPaginationError, PageGuard
from nango_desktop.services.ratelimit import RateLimiter, parse_rate_limit, parse_retry_after
from nango_desktop.services.raw_page import RawPage as RawPage  # re-exported
from nango_desktop.services.raw_page import raw_connections

if TYPE_CHECKING:
    from pydantic import SecretStr, TypeAdapter, ValidationError

    from nango_desktop.domain.models import (
        Connection,
        ConnectionFull,
        ConnectSession,
        ConnectSessionInfo,
        Integration,
        RateLimitInfo,
        SyncStatus,
    )

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 2000
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
# A 429 asking to wait longer than this is reported to the user instead of waited out.
MAX_RETRY_AFTER = 65.0
# Total time one call may take, all attempts and waits included (a stalled body took 4 x 20 s before).
DEFAULT_DEADLINE = 60.0
SYNC_MODES = ("incremental", "full_refresh", "full_refresh_and_clear_cache")
# list_all_connections freezes results at least this large out of the cyclic GC's reach.
_FREEZE_MIN_ROWS = 10_000


@dataclass
class CallInfo:
    """Reported after every HTTP attempt (for the status bar). ``path`` has no query string."""

    method: str
    path: str
    status: int | None
    elapsed: float
    rate_limit: RateLimitInfo | None
    error: str | None


class _VirtualClock:
    """Monotonic time plus everything an injected (fake) sleep claimed to sleep.

    Lets tests inject ``sleep`` alone while rate-limit deadlines still pass.
    """

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._inner = sleep
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
        self._inner(seconds)


def _models() -> Any:
    """``nango_desktop.domain.models``, imported when a model is first built: the pydantic models cost ~50 ms
    (pydantic itself ~80 ms) that a raw listing (``connections list --format json``) never needs."""
    from nango_desktop.domain import models

    return models


class _Key:
    """A key held by the client: its value never in a repr (pydantic's SecretStr, without pydantic)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Key('**********')"


def _secret(value: str | SecretStr | _Key) -> SecretStr | _Key:
    return _Key(value) if isinstance(value, str) else value


def _transport_for(base_url: str) -> httpx.HTTPTransport:
    """The client's transport. For a plain ``http://`` server no TLS handshake ever happens, so the CA bundle
    (~45 ms to load, before the first request of every command) is not loaded: its TLS context trusts no
    certificate at all, so an ``https://`` request that still reached it would fail, never go unverified."""
    if base_url.lower().startswith("http://"):
        import ssl

        return httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    return httpx.HTTPTransport()


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _csv(values: Sequence[str] | str | None) -> str | None:
    if values is None:
        return None
    return values if isinstance(values, str) else ",".join(values)


class NangoClient:
    """Typed access to the Nango endpoints the app uses. See the module docstring for threading."""

    def __init__(
        self,
        base_url: str,
        secret_key: str | SecretStr,
        *,
        timeout: float = 20.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        rate_limiter: RateLimiter | None = None,
        on_call: Callable[[CallInfo], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = DEFAULT_DEADLINE,
        max_rows: int | None = DEFAULT_MAX_ROWS,
    ) -> None:
        """``deadline``: total seconds per call (None/0: none). ``max_rows``: the default row ceiling of
        :meth:`iter_connection_pages` (the profile's ``max_connection_rows``)."""
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline or None
        self.max_rows = max_rows
        self._key = _secret(secret_key)
        redaction.register(self._key.get_secret_value())  # masked in every log line and crash report
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._on_call = on_call
        self._sleep: Callable[[float], None]
        if sleep is time.sleep:
            self._sleep, clock = time.sleep, time.monotonic
            self._real_sleep = True
        else:
            virtual = _VirtualClock(sleep)
            self._sleep, clock = virtual.sleep, virtual.now
            self._real_sleep = False
        self._limiter = rate_limiter or RateLimiter(
            clock=clock, sleep=None if self._real_sleep else self._sleep
        )
        self._lock = threading.Lock()
        self._rate_limit: RateLimitInfo | None = None
        if transport is None:
            transport = _transport_for(self.base_url)
            install(transport)  # blocked reads end at once on Cancel or at the deadline
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": f"nango-desktop/{__version__}"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"NangoClient(base_url={self.base_url!r})"

    # --- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NangoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The last ``X-RateLimit-*`` values seen by this client."""
        return self._rate_limit

    @property
    def rate_limiter(self) -> RateLimiter:
        return self._limiter

    # --- connections -------------------------------------------------------------------------------
    def list_connections(
        self,
        *,
        search: str | None = None,
        integration_ids: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        connection_id: str | None = None,
        limit: int | None = 1000,
        page: int = 0,
        cancel: threading.Event | None = None,
        raw: bool = False,
    ) -> list[Connection]:
        """One page of GET /connections (fixed order: newest first). ``limit=None`` lets the server pick.
        ``raw``: the rows as the server sent them, a :class:`RawPage` checked by :func:`raw_connections`,
        no model built: for output that writes them back out as JSON."""
        if limit is not None and not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if page < 0:
            raise ValueError("page must be >= 0")
        params: list[tuple[str, str]] = []
        if connection_id:
            params.append(("connectionId", connection_id))
        if search:
            params.append(("search", search))
        if integration_ids:
            params.append(("integrationId", ",".join(integration_ids)))
        for key, value in (tags or {}).items():
            params.append((f"tags[{key}]", value))
        if limit is not None:
            params.append(("limit", str(limit)))
        if page:
            params.append(("page", str(page)))
        if raw:
            response = self._send("GET", "/connections", params=params, json=None, token=None, cancel=cancel)
            return raw_connections(response.content, status=response.status_code)  # type: ignore[return-value]
        body = self._call(
            "GET",
            "/connections",
            params=params,
            adapter=_models().CONNECTIONS_ADAPTER,
            cancel=cancel,
            large=True,
        )
        return body.connections

    def iter_connection_pages(
        self,
        *,
        search: str | None = None,
        integration_ids: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        connection_id: str | None = None,
        page_size: int = 1000,
        cancel: threading.Event | None = None,
        concurrency: int = 1,
        raw: bool = False,
        max_rows: int | None | object = ...,
    ) -> Iterator[list[Connection]]:
        """Every page until a short one. Rows repeated by a shift of the offset (a connection created while
        paging) are dropped. Raises CancelledError when ``cancel`` is set between or during pages.

        ``concurrency`` > 1 keeps up to that many page requests in flight once the first page came back
        full (pages ``n+1 .. n+concurrency`` are requested while page ``n`` is parsed and consumed), each
        through the shared rate limiter. Pages are still yielded in order and paging still stops at the first
        short page: Nango gives no total, so up to ``concurrency`` requests past the end are wasted (they
        answer empty pages).

        ``raw``: pages of plain dicts instead of models (:class:`RawPage` while no row was dropped).

        Endless pagination raises EndlessPaginationError after the rows received were yielded
        (:mod:`nango_desktop.services.pagination`; ``max_rows``: None/0 = no ceiling, not given = the client's).
        """
        ceiling = self.max_rows if max_rows is ... else max_rows
        guard = PageGuard(page_size, max_rows=ceiling)  # type: ignore[arg-type]
        fetch = partial(
            self._connection_page,
            search=search,
            integration_ids=integration_ids,
            tags=tags,
            connection_id=connection_id,
            page_size=page_size,
            cancel=cancel,
            raw=raw,
        )
        seen: set[int] = set()
        for page, rows in enumerate(self._pages_in_order(fetch, max(1, concurrency), page_size, cancel)):
            ids = [c["id"] for c in rows] if raw else [c.id for c in rows]  # type: ignore[index]
            if seen.isdisjoint(ids):  # the usual case: nothing shifted between two pages
                fresh = rows
                seen.update(ids)
            else:
                fresh = [c for c, i in zip(rows, ids, strict=True) if i not in seen]
                seen.update(ids)
            try:
                guard.check(page, len(rows), len(fresh))
            except EndlessPaginationError:
                if fresh and len(rows) <= page_size:
                    yield fresh  # keep what arrived: the caller shows the rows and the error
                raise
            if fresh:
                yield fresh
            if len(rows) < page_size or not fresh:
                return
            if cancel is not None and cancel.is_set():
                raise CancelledError(detail=f"Cancelled after {page + 1} page(s) of connections")

    def _connection_page(self, page: int, **query: Any) -> list[Connection]:
        cancel = query["cancel"]
        if cancel is not None and cancel.is_set():
            raise CancelledError(detail=f"Cancelled before page {page + 1} of connections")
        return self.list_connections(
            search=query["search"],
            integration_ids=query["integration_ids"],
            tags=query["tags"],
            connection_id=query["connection_id"],
            limit=query["page_size"],
            page=page,
            cancel=cancel,
            raw=query["raw"],
        )

    @staticmethod
    def _pages_in_order(
        fetch: Callable[[int], list[Connection]],
        concurrency: int,
        page_size: int,
        cancel: threading.Event | None,
    ) -> Iterator[list[Connection]]:
        """fetch(0), fetch(1), ... in order, with up to ``concurrency`` calls running ahead on a pool while
        pages come back full (a short page is the last one: nothing more is requested after it)."""
        if concurrency <= 1:
            page = 0
            while True:
                yield fetch(page)
                page += 1
        pool = ThreadPoolExecutor(concurrency, thread_name_prefix="nango-pages")
        try:
            # Page 0 alone first: most filtered listings fit in one page and then cost one request.
            ahead = deque([pool.submit(fetch, 0)])
            next_page = 1
            while True:
                rows = ahead.popleft().result()
                while (
                    len(rows) >= page_size and len(ahead) < concurrency and not (cancel and cancel.is_set())
                ):
                    ahead.append(pool.submit(fetch, next_page))
                    next_page += 1
                yield rows
        finally:
            # Requests already sent past the end (or before a cancel) finish quickly; wait for them so no
            # worker thread outlives the listing.
            pool.shutdown(wait=True, cancel_futures=True)

    def list_all_connections(self, **kwargs: Any) -> list[Connection]:
        """Every connection matching the filters of :meth:`iter_connection_pages` (same keywords, including
        ``concurrency``).

        The rows are long-lived and numerous (10^5 connections are ~10^6 GC-tracked objects), so the cyclic
        garbage collector is paused while they are parsed (refcounting still frees everything; without the
        pause, its full passes over the growing list took most of the time) and the result is then frozen
        (``gc.freeze``) so later full collections skip it, as the connections table does with its rows.
        """
        result: list[Connection] = []
        with gc_paused():
            for rows in self.iter_connection_pages(**kwargs):
                result.extend(rows)
            if len(result) >= _FREEZE_MIN_ROWS:
                # Before the collector is back: everything allocated during the pause is still in the
                # youngest generation, and the first collection would otherwise scan all of it at once.
                gc.freeze()
        return result

    def find_connection(
        self, connection_id: str, integration_id: str, *, cancel: threading.Event | None = None
    ) -> Connection:
        """The connection's row from ``GET /connections?connectionId=`` (tags, errors with log ids, metadata,
        end user), without the side effects of ``GET /connections/{id}`` (no token refresh, no refresh-failure
        webhook, no back-off). Raises NotFoundError when no connection has that id and integration."""
        rows = self.list_connections(
            connection_id=connection_id, integration_ids=[integration_id], limit=100, cancel=cancel
        )
        for row in rows:
            if row.connection_id == connection_id and row.provider_config_key == integration_id:
                return row
        raise NotFoundError(
            f"Not found: no connection {connection_id!r} for the integration {integration_id!r}",
            f"GET /connections?connectionId={connection_id} -> {len(rows)} row(s), none for {integration_id}",
            status=404,
        )

    def get_connection(
        self,
        connection_id: str,
        integration_id: str,
        *,
        force_refresh: bool = False,
        refresh_token: bool = False,
        cancel: threading.Event | None = None,
    ) -> ConnectionFull:
        params = [("provider_config_key", integration_id)]
        if force_refresh:
            params.append(("force_refresh", "true"))
        if refresh_token:
            params.append(("refresh_token", "true"))
        full = self._call(
            "GET",
            self._connection_path(connection_id),
            params=params,
            adapter=_models().CONNECTION_FULL_ADAPTER,
            cancel=cancel,
        )
        # Once read, the connection's tokens are masked in every later log line and crash report.
        for name, value in full.credentials.items():
            if name not in _models().PUBLIC_CREDENTIAL_FIELDS:
                redaction.register(value.get_secret_value())
        return full

    def patch_connection(
        self,
        connection_id: str,
        integration_id: str,
        *,
        tags: Mapping[str, str] | None = None,
        webhook_url_override: str | None = None,
    ) -> None:
        """Tags REPLACE the whole set (read, modify, write). ``webhook_url_override=""`` clears it."""
        body = _drop_none(
            tags=dict(tags) if tags is not None else None, webhook_url_override=webhook_url_override
        )
        if not body:
            raise ValueError("patch_connection needs tags and/or webhook_url_override")
        self._call(
            "PATCH",
            self._connection_path(connection_id),
            params=[("provider_config_key", integration_id)],
            json=body,
        )

    def delete_connection(self, connection_id: str, integration_id: str) -> None:
        """Unknown connections raise NotFoundError (Nango answers 400 unknown_connection)."""
        self._call(
            "DELETE", self._connection_path(connection_id), params=[("provider_config_key", integration_id)]
        )

    def set_metadata(self, connection_id: str | Sequence[str], integration_id: str, metadata: dict) -> None:
        """Replace the metadata of one or several connections (POST /connections/metadata)."""
        self._call(
            "POST", "/connections/metadata", json=self._metadata_body(connection_id, integration_id, metadata)
        )

    def update_metadata(
        self, connection_id: str | Sequence[str], integration_id: str, metadata: dict
    ) -> None:
        """Merge into the metadata of one or several connections (PATCH /connections/metadata)."""
        self._call(
            "PATCH",
            "/connections/metadata",
            json=self._metadata_body(connection_id, integration_id, metadata),
        )

    # --- connect sessions --------------------------------------------------------------------------
    def create_connect_session(
        self,
        *,
        tags: Mapping[str, str] | None = None,
        end_user: Mapping[str, Any] | None = None,
        organization: Mapping[str, Any] | None = None,
        allowed_integrations: Sequence[str] | None = None,
        integrations_config_defaults: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        webhook_url_override: str | None = None,
    ) -> ConnectSession:
        """A connect link for a new connection (Nango needs ``tags`` or ``end_user``). Valid 30 minutes."""
        body = _drop_none(
            tags=tags,
            end_user=end_user,
            organization=organization,
            allowed_integrations=list(allowed_integrations) if allowed_integrations is not None else None,
            integrations_config_defaults=integrations_config_defaults,
            overrides=overrides,
            webhook_url_override=webhook_url_override,
        )
        return self._call(
            "POST", "/connect/sessions", json=body, adapter=_models().CONNECT_SESSION_ADAPTER
        ).data

    def create_reconnect_session(
        self,
        connection_id: str,
        integration_id: str,
        *,
        tags: Mapping[str, str] | None = None,
        end_user: Mapping[str, Any] | None = None,
        organization: Mapping[str, Any] | None = None,
        integrations_config_defaults: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        webhook_url_override: str | None = None,
    ) -> ConnectSession:
        """A connect link to re-authorize an existing connection.

        Pass the connection's current ``tags``: a reconnect session without tags resets them to ``{}``
        when the customer completes it (observed on Nango 0.71).
        """
        body = _drop_none(
            connection_id=connection_id,
            integration_id=integration_id,
            tags=tags,
            end_user=end_user,
            organization=organization,
            integrations_config_defaults=integrations_config_defaults,
            overrides=overrides,
            webhook_url_override=webhook_url_override,
        )
        return self._call(
            "POST", "/connect/sessions/reconnect", json=body, adapter=_models().CONNECT_SESSION_ADAPTER
        ).data

    def get_connect_session(self, session_token: str | SecretStr) -> ConnectSessionInfo:
        """Inspect a connect link (authenticated with its session token, not the API key)."""
        return self._call(
            "GET",
            "/connect/session",
            token=_secret(session_token),
            adapter=_models().CONNECT_SESSION_INFO_ADAPTER,
        ).data

    def delete_connect_session(self, session_token: str | SecretStr) -> None:
        """Revoke a connect link."""
        self._call("DELETE", "/connect/session", token=_secret(session_token))

    # --- integrations, syncs, environment ------------------------------------------------------------
    def list_integrations(self) -> list[Integration]:
        return self._call("GET", "/integrations", adapter=_models().INTEGRATIONS_ADAPTER).data

    def sync_status(
        self, integration_id: str, connection_id: str | None, syncs: Sequence[str] | str = "*"
    ) -> list[SyncStatus]:
        params = [("provider_config_key", integration_id), ("syncs", _csv(syncs) or "*")]
        if connection_id:
            params.append(("connection_id", connection_id))
        return self._call("GET", "/sync/status", params=params, adapter=_models().SYNCS_ADAPTER).syncs

    def trigger_sync(
        self,
        integration_id: str,
        connection_id: str | None,
        syncs: Sequence[str],
        *,
        sync_mode: str | None = None,
    ) -> None:
        """``sync_mode``: None, "incremental", "full_refresh" or "full_refresh_and_clear_cache".

        Sent as ``sync_mode``: every server version accepts it (newer ones also take ``opts``, which older,
        strictly validating ones reject); the spec's body schema allows the extra property.
        """
        if sync_mode is not None and sync_mode not in SYNC_MODES:
            raise ValueError(f"unknown sync_mode {sync_mode!r}; expected one of {SYNC_MODES}")
        body = _drop_none(
            provider_config_key=integration_id,
            connection_id=connection_id,
            syncs=list(syncs),
            sync_mode=sync_mode,
        )
        self._call("POST", "/sync/trigger", json=body)

    def rotate_webhook_signing_key(self) -> SecretStr:
        """A new webhook signing key (the old one keeps signing for up to 5 minutes). 409 if >1 key."""
        key = self._call(
            "POST", "/environment/webhook-signing-key/rotate", adapter=_models().SIGNING_KEY_ADAPTER
        ).data.webhook_signing_key
        redaction.register(key.get_secret_value())
        return key

    # --- plumbing ----------------------------------------------------------------------------------
    @staticmethod
    def _connection_path(connection_id: str) -> str:
        return "/connections/" + quote(connection_id, safe="")

    @staticmethod
    def _metadata_body(connection_id: str | Sequence[str], integration_id: str, metadata: dict) -> dict:
        ids = connection_id if isinstance(connection_id, str) else list(connection_id)
        return {"connection_id": ids, "provider_config_key": integration_id, "metadata": metadata}

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Any = None,
        token: SecretStr | _Key | None = None,
        adapter: TypeAdapter | None = None,
        cancel: threading.Event | None = None,
        large: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """``large``: the body may hold thousands of objects; parse it with the cyclic GC paused (a page of
        1,000 connections would otherwise trigger some twenty collections of the young objects).
        ``headers``: extra request headers (e.g. ``Connection-Id``); never the Authorization header."""
        response = self._send(
            method, path, params=params, json=json, token=token, cancel=cancel, headers=headers
        )
        if adapter is None:
            return None
        from pydantic import ValidationError

        try:
            if large:
                with gc_paused():
                    return adapter.validate_json(response.content)
            return adapter.validate_json(response.content)
        except ValidationError as exc:
            raise MalformedResponseError(
                detail=f"{method} {path} -> HTTP {response.status_code}: {_describe(exc)}",
                status=response.status_code,
            ) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None,
        json: Any,
        token: SecretStr | _Key | None,
        cancel: threading.Event | None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        with CallScope(cancel, self.deadline) as scope:
            return self._attempts(method, path, params, json, token, headers, scope)

    def _attempts(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None,
        json: Any,
        token: SecretStr | _Key | None,
        headers: Mapping[str, str] | None,
        scope: CallScope,
    ) -> httpx.Response:
        cancel = scope.cancel
        credential = token or self._key
        secrets = (self._key.get_secret_value(),) + ((token.get_secret_value(),) if token else ())
        headers = {**(headers or {}), "Authorization": f"Bearer {credential.get_secret_value()}"}
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            self._limiter.acquire(cancel)
            self._check_scope(scope, method, path, attempt)
            started = time.monotonic()
            result = self._exchange(method, path, params, json, headers, scope, attempt, secrets)
            if isinstance(result, NangoError):
                error: NangoError = result
            else:
                response = result
                info = self._limiter.update_from_headers(response.headers)
                if info is not None:
                    with self._lock:
                        self._rate_limit = info
                if response.status_code < 300:
                    self._report(method, path, response.status_code, started, info, None)
                    return response
                if response.status_code < 400:
                    error = MalformedResponseError(
                        "The server answered with a redirect; check the API URL (http:// or https://, path)",
                        f"{method} {path} -> HTTP {response.status_code} to {_location(response)}",
                        status=response.status_code,
                    )
                    self._report(method, path, response.status_code, started, info, error)
                    raise error
                error = self._http_error(method, path, response, token is not None, secrets)
                self._report(method, path, response.status_code, started, info, error)
                if isinstance(error, RateLimitedError):
                    if attempt < self._max_retries and (
                        error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER
                    ):
                        # Everyone sharing the limiter waits; this caller sleeps it out itself. Without
                        # Retry-After the limiter waits for the X-RateLimit-Reset it has just seen.
                        hint = parse_retry_after(response.headers.get("retry-after"))
                        wait = self._limiter.note_429(hint)
                        if not self._fits(scope, wait):
                            raise error  # says when to try again; waiting would pass the call's deadline
                        self._pause(wait, cancel)
                        attempt += 1
                        continue
                    raise error
                if response.status_code < 500:
                    raise error
            # 5xx, timeout or network error
            if not idempotent or attempt >= self._max_retries:
                raise error
            backoff = min(BACKOFF_BASE * 2**attempt, BACKOFF_MAX)
            if not self._fits(scope, backoff):
                raise self._past_deadline(scope, method, path, attempt + 1, error)
            self._pause(backoff, cancel)
            attempt += 1

    def _exchange(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None,
        json: Any,
        headers: dict[str, str],
        scope: CallScope,
        attempt: int,
        secrets: tuple[str, ...],
    ) -> httpx.Response | NangoError:
        """One request: the response, or the (reported) error of a timeout or network failure to retry."""
        started = time.monotonic()
        try:
            # httpx types a list of pairs as list[tuple[str, str | int | ...]]: a list of str pairs is one
            return self._http.request(method, path, params=params, json=json, headers=headers)  # type: ignore[arg-type]
        except httpx.TimeoutException:
            self._check_scope(scope, method, path, attempt + 1)
            error: NangoError = ApiTimeoutError(
                detail=f"{method} {path}: no answer within {self._timeout:g} s (attempt {attempt + 1})"
            )
        except httpx.DecodingError as exc:
            self._check_scope(scope, method, path, attempt + 1)
            error = MalformedResponseError(detail=f"{method} {path}: undecodable body ({type(exc).__name__})")
            self._report(method, path, None, started, None, error)
            raise error from None
        except httpx.RequestError as exc:
            self._check_scope(scope, method, path, attempt + 1)
            error = NetworkError(
                detail=redact(f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}", secrets)
            )
        except httpx.InvalidURL as exc:
            raise NetworkError(detail=f"Invalid server address {self.base_url!r}: {exc}") from None
        self._report(method, path, None, started, None, error)
        return error

    def _fits(self, scope: CallScope, wait: float) -> bool:
        """Whether waiting ``wait`` seconds before a retry stays within the call's deadline (real clock)."""
        remaining = scope.remaining()
        return remaining is None or not self._real_sleep or wait < remaining

    def _check_scope(self, scope: CallScope, method: str, path: str, attempts: int) -> None:
        """Raise CancelledError / ApiTimeoutError when the call was cancelled or its deadline passed."""
        why = scope.fired or scope.due()
        if why == "cancel":
            raise CancelledError(detail=f"{method} {path}: cancelled after {scope.elapsed():.1f} s")
        if why == "deadline":
            raise self._past_deadline(scope, method, path, attempts, None)

    def _past_deadline(
        self, scope: CallScope, method: str, path: str, attempts: int, last: NangoError | None
    ) -> ApiTimeoutError:
        why = f"; last: {last.title}" if last is not None else ""
        return ApiTimeoutError(
            f"The Nango server did not answer within {self.deadline:g} s; gave up",
            f"{method} {path}: waited {scope.elapsed():.1f} s over {attempts} attempt(s), the total time "
            f"allowed per call{why}",
        )

    def _http_error(
        self, method: str, path: str, response: httpx.Response, session: bool, secrets: tuple[str, ...]
    ) -> NangoError:
        code = message = payload = None
        errors: list | None = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            err = body.get("error")
            if isinstance(err, dict):
                code = err.get("code") if isinstance(err.get("code"), str) else None
                message = err.get("message") if isinstance(err.get("message"), str) else None
                errors = err.get("errors") if isinstance(err.get("errors"), list) else None
                payload = err.get("payload")
            elif isinstance(err, str):
                message = err
                code = body.get("type") if isinstance(body.get("type"), str) else None
            elif isinstance(body.get("message"), str):
                message = body["message"]
        elif response.content:
            message = f"non-JSON body ({response.headers.get('content-type', 'no content type')})"
        retry_after = None
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is None:
                info = parse_rate_limit(response.headers)
                if info is not None and info.reset is not None:
                    retry_after = max(info.reset - time.time(), 0.0)
        error = error_for_status(
            response.status_code,
            method=method,
            path=path,
            code=code,
            message=message,
            errors=errors,
            payload=payload,
            retry_after=retry_after,
            secrets=secrets,
        )
        if session and isinstance(error, InvalidKeyError):
            error.title = "The connect session was not found; the link has expired or was revoked"
        return error

    def _pause(self, seconds: float, cancel: threading.Event | None) -> None:
        if cancel is not None and self._real_sleep:
            cancel.wait(seconds)
        else:
            self._sleep(seconds)
        if cancel is not None and cancel.is_set():
            raise CancelledError(detail="Cancelled while waiting to retry")

    def _report(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        info: RateLimitInfo | None,
        error: NangoError | None,
    ) -> None:
        elapsed = time.monotonic() - started
        log.info(
            "%s %s -> %s (%.0f ms)",
            method,
            path,
            status if status is not None else type(error).__name__,
            elapsed * 1000,
        )
        if self._on_call is None:
            return
        try:
            self._on_call(CallInfo(method, path, status, elapsed, info, error.title if error else None))
        except Exception:
            log.exception("on_call callback failed")


def _location(response: httpx.Response) -> str:
    """Where a redirect points, without its query string (it could carry a token)."""
    location = response.headers.get("location", "")
    return location.split("?", 1)[0] or "(no location)"


def _describe(exc: ValidationError) -> str:
    """A ValidationError summary without the offending values (they may be secrets)."""
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
        for e in exc.errors(include_input=False)[:5]
    ]
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (+{more} more)" if more > 0 else "")
