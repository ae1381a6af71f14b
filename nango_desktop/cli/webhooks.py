"""CLI commands for webhooks: ``listen`` and ``events list|show|export`` (Qt-free).

Registered by ``cli.build_parser`` through :func:`register`. Events are kept per profile in
``paths.data_dir() / "events-<profile>.sqlite3"`` (the same store the GUI's inspector reads).
Signing keys come from ``ctx.signing_keys()``: ``NANGO_WEBHOOK_SIGNING_KEY`` or the keyring (current and
previous key); they are never accepted as arguments.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from nango_desktop.cli.common import PROFILE_ENV, CliContext, CliError, print_table
from nango_desktop.domain.events import EventFilter, ForwardResult, StoredEvent
from nango_desktop.settings import ListenerSettings, Profile
from nango_desktop.store.events import EventStore, event_store_path

log = logging.getLogger(__name__)

VERIFICATIONS = ("verified", "invalid", "unsigned", "no_key")


def register(subparsers: argparse._SubParsersAction) -> None:
    listen = subparsers.add_parser(
        "listen",
        help="receive Nango webhooks, verify, store and print them until Ctrl+C",
        description="Listen for Nango webhooks on this machine (defaults from the profile's listener settings). "
        "Nango cannot deliver to 127.0.0.1: expose the URL with a tunnel (ngrok, cloudflared).",
    )
    listen.add_argument("--host", help="address to bind (default: profile setting, 127.0.0.1)")
    listen.add_argument("--port", type=_port, help="port (default: profile setting, 8765; 0 = any free port)")
    listen.add_argument("--path", help="URL path (default: profile setting, /webhooks/nango)")
    listen.add_argument("--forward-to", metavar="URL", help="also post every event to this local URL")
    listen.add_argument("--reject-invalid", action="store_true", help="answer 401 to invalid signatures")
    listen.add_argument("--reject-unsigned", action="store_true", help="answer 401 to unsigned requests")
    listen.add_argument(
        "--accept-legacy-signatures",
        action="store_true",
        help="verify requests signed only with the legacy X-Nango-Signature (weaker; for old self-hosted Nango)",
    )
    tuning = listen.add_argument_group(
        "limits", "default: the profile's listener settings (shown when listening starts)"
    )
    for flag, kind, text in _TUNABLE_FLAGS:
        tuning.add_argument(flag, type=kind, metavar="N", help=text)
    listen.set_defaults(func=cmd_listen)

    events = subparsers.add_parser("events", help="read the stored webhook events")
    events_sub = events.add_subparsers(dest="events_command", metavar="{list,show,export}", required=True)

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--search", help="text contained in the body")
        p.add_argument("--type", help="webhook type: auth, sync, async_action, forward, raw, unknown")
        p.add_argument("--connection", help="connection id")
        p.add_argument("--integration", help="integration id (providerConfigKey)")
        p.add_argument("--verification", choices=VERIFICATIONS)

    p = events_sub.add_parser("list", help="newest events first")
    p.add_argument("--limit", type=_positive, default=50)
    p.add_argument("--format", choices=("table", "json"), default="table")
    filters(p)
    p.set_defaults(func=cmd_events_list)

    p = events_sub.add_parser("show", help="one event with headers, body and signature check")
    p.add_argument("id", type=int)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_events_show)

    p = events_sub.add_parser("export", help="matching events as a JSON array")
    p.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    filters(p)
    p.set_defaults(func=cmd_events_export)


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 0..65535")
    return port


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


# flag, type, help: each sets the ListenerSettings field of the same name for this run (validated the same way)
_TUNABLE_FLAGS = (
    ("--max-connections", int, "connections served at once (4-1024; default 64)"),
    ("--reserved-share", float, "share of them kept for requests that arrive complete (0.05-0.75; 0.25)"),
    ("--per-peer-share", float, "share of the others one non-loopback address may hold (0.05-1; 0.75)"),
    ("--first-byte-timeout", float, "seconds a connection may stay silent before it is closed (0.1-10; 2)"),
    ("--unverified-rate", float, "unverified requests per second per address before 429 (0.1-10000; 10)"),
    ("--unverified-burst", int, "burst of unverified requests per address (1-100000; 100)"),
)


def _tuned(args: argparse.Namespace, settings: ListenerSettings) -> ListenerSettings:
    """The profile's listener settings with this run's limit flags applied, validated like saved ones."""
    from pydantic import ValidationError

    changes = {
        name: value
        for flag, _, _ in _TUNABLE_FLAGS
        if (value := getattr(args, (name := flag[2:].replace("-", "_")), None)) is not None
    }
    try:
        return ListenerSettings.model_validate({**settings.model_dump(), **changes})
    except ValidationError as exc:
        problems = "; ".join(
            f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise CliError("Invalid listener limit", problems) from exc


def limits_line(settings: ListenerSettings) -> str:
    """The listener's limits in words (``listen`` prints it when it starts)."""
    from nango_desktop.services.listener_slots import slot_counts

    reserved, _, per_peer = slot_counts(
        settings.max_connections, settings.reserved_share, settings.per_peer_share
    )
    return (
        f"Limits: {settings.max_connections} connections ({reserved} reserved for complete requests, "
        f"{per_peer} per remote address), first byte within {settings.first_byte_timeout:g} s, unverified "
        f"requests {settings.unverified_rate:g}/s per address (burst {settings.unverified_burst})"
    )


# -- helpers -----------------------------------------------------------------------------------------------


def _profile(args: argparse.Namespace, ctx: CliContext) -> Profile:
    """The selected profile; without any profile set up, ``listen`` and ``events`` still work ("default").

    Event stores belong to profile NAMES (one store per profile): ``--api-url`` changes where API calls go,
    never which store ``listen`` writes and ``events`` reads (it used to switch to the ad-hoc profile's
    empty store without a word). With ``--api-url`` and no ``--profile``, the current profile's store is used.
    """
    if getattr(args, "api_url", None) and not getattr(args, "profile", None):
        name = os.environ.get(PROFILE_ENV) or ctx.settings.current_profile
        named = ctx.settings.get(name) if name else None
        return named if named is not None else Profile(name=name or "default")
    try:
        return ctx.profile()
    except CliError:
        if getattr(args, "profile", None) or ctx.settings.profiles:
            raise
        return Profile(name="default")


@contextmanager
def _open_store(args: argparse.Namespace, ctx: CliContext) -> Iterator[EventStore]:
    profile = _profile(args, ctx)
    store = EventStore(event_store_path(profile.name), profile=profile.name)
    if getattr(args, "api_url", None) or not store.count():
        # say which store is read: an empty list must not look like "no webhooks arrived"
        print(
            f"Events of profile “{profile.name}” ({store.path}): {_plural(store.count(), 'event')}",
            file=ctx.stderr,
        )
    try:
        yield store
    finally:
        store.close()


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _filter(args: argparse.Namespace) -> EventFilter:
    return EventFilter(
        search=args.search,
        type=args.type,
        connection_id=args.connection,
        integration=args.integration,
        verification=args.verification,
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _clean(text: object, *, newlines: bool = False) -> str:
    """Event fields come from the network: never let them drive the terminal (escape sequences, fake lines)."""
    value = str(text) if newlines else " ".join(str(text).splitlines())
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _row(event: StoredEvent) -> list[str]:
    s = event.summary
    success = "" if s is None or s.success is None else ("ok" if s.success else "failed")
    cells = [
        str(event.id),
        _iso(event.received_at),
        str(event.verification.status),
        "malformed" if event.malformed else (s.type or str(s.kind)) if s else "",
        (s.operation or "") if s else "",
        success,
        (s.integration or "") if s else "",
        (s.connection_id or "") if s else "",
        str(event.duplicates) if event.duplicates else "",
    ]
    return [_clean(c) for c in cells]


def event_line(event: StoredEvent, duplicate: bool = False) -> str:
    """One line per received event for ``listen``: time, verification, type, operation, connection."""
    s = event.summary
    parts = [
        time.strftime("%H:%M:%S", time.localtime(event.received_at)),
        str(event.verification.status).ljust(8),
        ("malformed" if event.malformed else (s.type or str(s.kind)) if s else "?").ljust(12),
        ((s.operation or "-") if s else "-").ljust(11),
        (s.connection_id or "-") if s else "-",
    ]
    if s and s.success is False:
        parts.append(f"FAILED{': ' + s.error if s.error else ''}")
    if event.malformed:
        parts.append(event.malformed)
    parts.append(f"#{event.id}" + (f" (duplicate, seen {event.duplicates + 1}x)" if duplicate else ""))
    return _clean("  ".join(parts))


# -- listen ------------------------------------------------------------------------------------------------


def _listen_keys(
    args: argparse.Namespace, ctx: CliContext, profile: str, settings: ListenerSettings
) -> list[str]:
    """The signing keys ``listen`` starts with; refuses (fails closed) when a reject policy has none."""
    from nango_desktop.services.secrets import SecretStoreUnavailable

    try:
        try:
            keys = list(ctx.signing_keys())
        except CliError:  # no profile set up: keys stored under the fallback profile name, if any
            keys = list(ctx.secrets.signing_keys(profile))
    except SecretStoreUnavailable as exc:
        ctx.warn(f"{exc.title}; events will not be verified ({exc.detail})")
        keys = []
    rejecting = [
        flag
        for flag, on in (
            ("--reject-invalid", args.reject_invalid or settings.reject_invalid),
            ("--reject-unsigned", args.reject_unsigned or settings.reject_unsigned),
        )
        if on
    ]
    if not keys and rejecting:
        # Fail closed: without a key nothing can be verified, and accepting everything would defeat the policy.
        raise CliError(
            f"Cannot reject unverified webhooks without a signing key ({' and '.join(rejecting)})",
            f"No webhook signing key is stored for profile {profile!r} (or the keyring cannot be read). "
            "Store it with `nango-desktop profile add NAME --with-signing-key` or set NANGO_WEBHOOK_SIGNING_KEY; "
            "or listen without the reject policy (events are then stored as not checked).",
        )
    if not keys:
        ctx.warn(
            "no webhook signing key (set NANGO_WEBHOOK_SIGNING_KEY or store one): events are marked no_key"
        )
    return keys


def cmd_listen(args: argparse.Namespace, ctx: CliContext) -> int:
    from nango_desktop.services.webhook_server import ListenerError, WebhookServer, tunables

    profile = _profile(args, ctx)
    settings: ListenerSettings = _tuned(args, profile.listener)
    keys = _listen_keys(args, ctx, profile.name, settings)
    if os.environ.get("NANGO_WEBHOOK_SIGNING_KEY"):
        keys_source: Callable[[], list[str]] = lambda: keys  # noqa: E731
    else:
        from nango_desktop.services.rotation import KeyCache, active_signing_keys, without_expired_previous

        # re-read (every few seconds): a rotation (profile rotate-signing-key, the GUI) reaches this
        # running listener without a restart; the previous key verifies until it expires
        keys_source = KeyCache(
            lambda: active_signing_keys(ctx.secrets, profile.name),
            prune=partial(without_expired_previous, profile.name),
        )
    out_lock = threading.Lock()

    def emit(text: str) -> None:
        with out_lock:
            print(text, file=ctx.stdout, flush=True)

    def on_forward(result: ForwardResult) -> None:
        if result.error:
            emit(f"  -> #{result.event_id} forward to {result.url} failed: {result.error}")
        else:
            emit(
                f"  -> #{result.event_id} forwarded: {result.status} in {(result.latency or 0) * 1000:.0f} ms"
            )

    store = EventStore(
        event_store_path(profile.name),
        profile=profile.name,
        retention_count=settings.retention_count,
        retention_days=settings.retention_days,
        retention_unverified=settings.retention_unverified_count,
    )
    server = WebhookServer(
        store,
        profile=profile.name,
        host=args.host or settings.host,
        port=settings.port if args.port is None else args.port,
        path=args.path or settings.path,
        keys=keys_source,
        reject_invalid=args.reject_invalid or settings.reject_invalid,
        reject_unsigned=args.reject_unsigned or settings.reject_unsigned,
        accept_legacy_only=args.accept_legacy_signatures or settings.accept_legacy_signatures,
        max_body_bytes=settings.max_body_bytes,
        on_event=lambda event, duplicate: emit(event_line(event, duplicate)),
        forward_to=args.forward_to or settings.forward_to,
        on_forward=on_forward,
        on_state=partial(_report_storage, ctx),
        **tunables(settings),
    )
    stop = getattr(args, "stop_event", None) or threading.Event()
    # Signals only set `stop`, also while stopping: a second Ctrl+C does not cut the clean shutdown short.
    with _stop_on_signals(stop):
        try:
            try:
                server.start()
            except ListenerError as exc:
                raise CliError(exc.title, exc.detail) from exc
            if server.warning:
                ctx.warn(server.warning)
            emit(
                f"Listening on {server.url} (profile {profile.name}, {len(keys)} signing key(s)); Ctrl+C to stop"
            )
            emit(limits_line(settings))
            if server.forwarder is not None:
                emit(f"Forwarding to {server.forwarder.url}")
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            store.close()
    stats = server.stats
    emit(f"Stopped. {stats.accepted} stored, {stats.duplicates} duplicates, {stats.rejected} rejected.")
    return 0


def _report_storage(ctx: CliContext, state: str, message: str) -> None:
    """Listener threads: a storage problem (disk full, read-only, locked) and its end, on stderr."""
    if state == "storage":
        ctx.warn(
            message + "; answering 503 so Nango retries" if message else "the event store is writable again"
        )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (main thread only; elsewhere the caller owns ``stop``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ["SIGINT", "SIGTERM"] + (["SIGBREAK"] if sys.platform == "win32" else [])
    previous = {}
    for name in names:
        signum = getattr(signal, name)
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- events ------------------------------------------------------------------------------------------------


def cmd_events_list(args: argparse.Namespace, ctx: CliContext) -> int:

    with _open_store(args, ctx) as store:
        events = store.list(args.limit, 0, _filter(args))
        if args.format == "json":
            json.dump([e.to_dict() for e in events], ctx.stdout, indent=2, ensure_ascii=False)
            print(file=ctx.stdout)
        else:
            header = [
                "ID",
                "RECEIVED",
                "VERIFICATION",
                "TYPE",
                "OPERATION",
                "SUCCESS",
                "INTEGRATION",
                "CONNECTION",
                "DUPS",
            ]
            print_table(ctx.stdout, header, [_row(e) for e in events])
    return 0


def cmd_events_show(args: argparse.Namespace, ctx: CliContext) -> int:

    with _open_store(args, ctx) as store:
        event = store.get(args.id)
        if event is None:
            raise CliError(f"No event #{args.id}", f"The store {store.path} has {store.count()} events.")
        forwards = store.forwards(event.id)
    data = event.to_dict()
    data["forwards"] = [f.__dict__ for f in forwards]
    if args.format == "json":
        json.dump(data, ctx.stdout, indent=2, ensure_ascii=False)
        print(file=ctx.stdout)
        return 0
    v = event.verification
    out = ctx.stdout
    print(
        _clean(
            f"Event #{event.id}  {_iso(event.received_at)}  from {event.peer}  {event.method} {event.path}"
        ),
        file=out,
    )
    if event.summary:
        print(f"Summary:       {_clean(event.summary.describe())}", file=out)
    print(f"Verification:  {v.status}  ({v.describe()})", file=out)
    for label, result, received in (
        ("X-Nango-Hmac-Sha256", v.hmac_result, v.received_hmac),
        ("X-Nango-Signature", v.legacy_result, v.received_legacy),
    ):
        verdict = f"  ({result})" if result and received is not None else ""
        print(_clean(f"  {label}: received {received or '-'}{verdict}"), file=out)
    if v.key_fingerprint:
        which = "matched" if v.ok else "checked against"
        print(f"  Key {which}: fingerprint {v.key_fingerprint}", file=out)
    if event.duplicates:
        print(
            f"Duplicates:    {event.duplicates} (last {_iso(event.last_seen_at or event.received_at)})",
            file=out,
        )
    if event.replay_of is not None:
        print(f"Replay of:     #{event.replay_of}", file=out)
    if event.malformed:
        print(f"Malformed:     {event.malformed}", file=out)
    print("Headers:", file=out)
    for name, value in event.headers.items():
        print(_clean(f"  {name}: {value}"), file=out)
    print("Body:", file=out)
    body = data.get("body_json")
    text = json.dumps(body, indent=2, ensure_ascii=False) if body is not None else event.body_text
    print(_clean(text, newlines=True), file=out)
    for f in forwards:
        outcome = f.error or f"{f.status} in {(f.latency or 0) * 1000:.0f} ms"
        print(_clean(f"{'Replayed' if f.replay else 'Forwarded'} to {f.url}: {outcome}"), file=out)
    return 0


def cmd_events_export(args: argparse.Namespace, ctx: CliContext) -> int:
    with _open_store(args, ctx) as store:
        if args.output is None:
            count = store.export_json(ctx.stdout, _filter(args))
        else:
            tmp = args.output.with_name(args.output.name + ".part")
            with open(tmp, "w", encoding="utf-8") as out:
                count = store.export_json(out, _filter(args))
            tmp.replace(args.output)
            print(f"Exported {_plural(count, 'event')} to {args.output}", file=ctx.stderr)
    return 0
