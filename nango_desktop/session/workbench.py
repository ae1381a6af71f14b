"""Named workbench operations (in the spirit of Anki's aqt/operations): widgets call these, never build
clients or tasks themselves. Each runs its work on the pool through the current
:class:`~nango_desktop.session.profile.ProfileSession` (``session.run``) with a
:class:`~nango_desktop.services.workbench.Workbench` over the profile's shared client, and calls back on the
GUI thread (never after the session closed). Pages of records are carried to the GUI thread by an
:class:`EventBridge` as they arrive. Without a profile (``session`` None) the error callback gets
"No profile is configured".
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nango_desktop.domain.records import write_csv, write_jsonl
from nango_desktop.domain.workbench import ActionOutcome, ProxyRequest, ProxyResponse
from nango_desktop.qtutil.bridge import EventBridge
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import InvalidKeyError
from nango_desktop.services.workbench import Workbench

if TYPE_CHECKING:
    from nango_desktop.session.profile import ProfileSession

FREEZE_FROM = 10_000  # records loaded from which each page is frozen out of the cyclic GC
Callback = Callable[[Any], None] | None
ErrorCallback = Callable[[BaseException], None] | None


def _wb(session: ProfileSession | None) -> Workbench:
    if session is None:
        _no_profile()
    assert session is not None
    return Workbench(session.client())


def _no_profile() -> None:
    raise InvalidKeyError("No profile is configured", "Create a profile with File → New profile.")


def _run(session: ProfileSession | None, fn: Callable[..., Any], **kw: Any) -> Task:
    if session is None:
        return Task(_no_profile, on_error=kw.get("on_error") or _ignore).start()
    return session.run(fn, **kw)


def _ignore(_exc: BaseException) -> None:
    return None


def load_records(
    session: ProfileSession | None,
    connection_id: str,
    integration_id: str,
    model: str,
    *,
    bridge: EventBridge,
    filters: dict[str, Any] | None = None,
    page_size: int = 1000,
    on_done: Callback = None,
    on_error: ErrorCallback = None,
) -> Task:
    """Every page of ``model``; each page's records are posted to ``bridge`` as soon as it is parsed (the
    first rows show at once). ``on_done(count)`` after the last page; cancel with ``task.cancel()``."""

    def work(cancel: threading.Event) -> int:
        count = 0
        for page in _wb(session).iter_records(
            connection_id, integration_id, model, page_size=page_size, cancel=cancel, **(filters or {})
        ):
            count += len(page.records)
            if count >= FREEZE_FROM:
                # Tens of thousands of long-lived record dicts: keep them out of the cyclic GC's full passes
                # (one over 10^6 objects blocks whichever thread triggers it, often the GUI thread).
                # Refcounting still frees them when the tab is cleared.
                gc.freeze()
            bridge.post((page.records, page.next_cursor is not None))
        return count

    return _run(session, work, on_done=on_done, on_error=on_error)


def load_syncs(
    session: ProfileSession | None, connection_id: str, integration_id: str, *, on_done: Callback, on_error: ErrorCallback = None
) -> Task:
    return _run(session,
        lambda: _wb(session).sync_status(integration_id, connection_id), on_done=on_done, on_error=on_error
    )


def sync_command(
    session: ProfileSession | None,
    command: str,
    connection_id: str,
    integration_id: str,
    syncs: list[str],
    *,
    on_done: Callback,
    on_error: ErrorCallback = None,
) -> Task:
    """``command``: "incremental", "full_refresh", "pause" or "start"; then the fresh sync status."""

    def work() -> Any:
        wb = _wb(session)
        if command in ("incremental", "full_refresh"):
            wb.trigger_syncs(integration_id, connection_id, syncs, sync_mode=command)
        elif command == "pause":
            wb.pause_syncs(integration_id, connection_id, syncs)
        elif command == "start":
            wb.start_syncs(integration_id, connection_id, syncs)
        else:
            raise ValueError(f"unknown sync command {command!r}")
        return wb.sync_status(integration_id, connection_id)

    return _run(session, work, on_done=on_done, on_error=on_error)


def set_frequency(
    session: ProfileSession | None,
    connection_id: str,
    integration_id: str,
    sync: str,
    frequency: str | None,
    *,
    on_done: Callback,
    on_error: ErrorCallback = None,
) -> Task:
    def work() -> Any:
        wb = _wb(session)
        wb.update_frequency(integration_id, connection_id, sync, frequency)
        return wb.sync_status(integration_id, connection_id)

    return _run(session, work, on_done=on_done, on_error=on_error)


def load_scripts(session: ProfileSession | None, integration_id: str, *, on_done: Callback, on_error: ErrorCallback = None) -> Task:
    return _run(session, lambda: _wb(session).integration_scripts(integration_id), on_done=on_done, on_error=on_error)


def run_action(
    session: ProfileSession | None,
    connection_id: str,
    integration_id: str,
    action: str,
    payload: Any,
    *,
    run_async: bool,
    on_done: Callback,
    on_error: ErrorCallback = None,
    on_progress: Callable[[int, int | None, str], None] | None = None,
    poll_interval: float = 1.0,
    max_retries: int | None = None,
) -> Task:
    def work(cancel: threading.Event, progress: Callable[..., None]) -> ActionOutcome:
        return _wb(session).run_action(
            connection_id,
            integration_id,
            action,
            payload,
            run_async=run_async,
            max_retries=max_retries,
            cancel=cancel,
            poll_interval=poll_interval,
            on_poll=lambda n: progress(n, None, f"Waiting for the result (poll {n})…"),
        )

    return _run(session, work, on_done=on_done, on_error=on_error, on_progress=on_progress)


def send_proxy(session: ProfileSession | None, request: ProxyRequest, *, on_done: Callback, on_error: ErrorCallback = None) -> Task:
    def work(cancel: threading.Event) -> ProxyResponse:
        return _wb(session).proxy(request, cancel=cancel)

    return _run(session, work, on_done=on_done, on_error=on_error)


def load_integrations(session: ProfileSession | None, *, on_done: Callback, on_error: ErrorCallback = None) -> Task:
    """The integrations and, per distinct provider, its auth mode ({provider: auth_mode}, best effort)."""

    def work() -> tuple[list[Any], dict[str, str]]:
        wb = _wb(session)
        integrations = wb.list_integrations()
        modes: dict[str, str] = {}
        for provider in sorted({i.provider for i in integrations})[:60]:
            try:
                modes[provider] = wb.provider(provider).auth_mode or ""
            except Exception:  # noqa: BLE001 - the auth mode is a detail; the list still shows
                modes[provider] = ""
        return integrations, modes

    return _run(session, work, on_done=on_done, on_error=on_error)


def load_logos(ctx: Any, urls: list[str], *, on_done: Callback) -> Task:
    """``{url: bytes}`` of the provider logos that could be had (disk cache, else downloaded); failures are
    quiet (the page keeps its initials badges)."""
    from nango_desktop import paths
    from nango_desktop.services.logos import LogoCache

    cache = getattr(ctx, "logo_cache", None)
    if cache is None:
        cache = ctx.logo_cache = LogoCache(paths.cache_dir() / "logos")

    def work(cancel: threading.Event) -> dict[str, bytes]:
        return cache.get_many(urls, cancel)

    return ctx.run(work, on_done=on_done, on_error=lambda _exc: None)


def load_integration_detail(
    session: ProfileSession | None, unique_key: str, *, on_done: Callback, on_error: ErrorCallback = None
) -> Task:
    """The integration and its functions (``/integrations/{key}/functions``, else the scripts config when the
    key lacks the functions scope)."""

    def work() -> tuple[Any, list[Any]]:
        wb = _wb(session)
        detail = wb.get_integration(unique_key)
        try:
            functions = wb.integration_functions(unique_key)
        except Exception:  # noqa: BLE001 - fall back to the scripts config
            scripts = wb.integration_scripts(unique_key)
            functions = [*scripts.syncs, *scripts.actions]
        return detail, functions

    return _run(session, work, on_done=on_done, on_error=on_error)


def export_records(
    session: ProfileSession | None,
    records: list[dict],
    keys: list[str],
    path: Path,
    *,
    on_done: Callback,
    on_error: ErrorCallback = None,
) -> Task:
    """Write the loaded records (a snapshot list) to ``path`` as CSV or JSONL (by suffix), atomically."""

    def work() -> int:
        tmp = path.with_name(path.name + ".part")
        with tmp.open("w", encoding="utf-8", newline="") as out:
            count = (
                write_jsonl(out, records)
                if path.suffix.lower() == ".jsonl"
                else write_csv(out, records, keys)
            )
        tmp.replace(path)
        return count

    return _run(session, work, on_done=on_done, on_error=on_error)


def history(session: ProfileSession | None) -> Any:
    """The run history store (one file; rows carry the profile name), opened once per app."""
    return session.history if session is not None else None


def record_run(session: ProfileSession | None, kind: str, **fields: Any) -> Task:
    """Append a run to the profile's history off the GUI thread."""
    store = history(session)
    if session is None or store is None:
        return _run(None, _ignore)
    name = session.name
    return _run(session, lambda: store.add(name, kind, **fields), on_error=_ignore)


def recent_runs(session: ProfileSession | None, kind: str, *, on_done: Callback) -> Task:
    store = history(session)
    if session is None or store is None:
        return _run(None, _ignore)
    name = session.name
    return _run(session, lambda: store.recent(name, kind), on_done=on_done, on_error=_ignore)


def now() -> float:
    return time.monotonic()
