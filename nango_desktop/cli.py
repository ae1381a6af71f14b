"""Command line interface (Qt-free): profiles, connections, connect links, and the webhook commands.

``nango-desktop`` without a subcommand starts the GUI. Global options come before the subcommand:
``nango-desktop --api-url http://127.0.0.1:3003 connections list``. Exit codes: 0 ok, 2 usage, 1 API or
other error with "Error: <title>" and the detail on stderr. Keys are read from a hidden prompt or from
stdin, never from arguments (they would end up in shell history and ``ps``).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import IO, TYPE_CHECKING, Any

from nango_desktop import __version__
from nango_desktop.services.errors import NangoError
from nango_desktop.services.secrets import SecretKind, SecretStore, SecretStoreUnavailable
from nango_desktop.settings import (
    DEFAULT_API_URL,
    Profile,
    Settings,
    load_settings,
    normalize_api_url,
    save_settings,
)

if TYPE_CHECKING:
    from nango_desktop.domain.models import Connection
    from nango_desktop.services.api import NangoClient

log = logging.getLogger(__name__)

PROG = "nango-desktop"
PROFILE_ENV = "NANGO_DESKTOP_PROFILE"
ADHOC_PROFILE = "adhoc"
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
MAX_PAGE_SIZE = 2000  # Nango's limit for GET /connections


class CliError(Exception):
    """A user-facing failure: printed as "Error: <title>" and the detail; exit code 1 (or 2 for usage)."""

    exit_code = EXIT_ERROR

    def __init__(self, title: str, detail: str = "") -> None:
        super().__init__(title, detail)
        self.title, self.detail = title, detail


class UsageError(CliError):
    exit_code = EXIT_USAGE


# -- context ----------------------------------------------------------------------------------------


class CliContext:
    """What every subcommand handler gets: settings, secrets, streams, and the selected profile."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        settings: Settings | None = None,
        secrets: SecretStore | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        stdin: IO[str] | None = None,
    ) -> None:
        self.args = args
        self.settings = settings if settings is not None else load_settings()
        self.secrets = secrets if secrets is not None else SecretStore()
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.stdin = stdin or sys.stdin

    def save(self) -> None:
        save_settings(self.settings)

    def profile(self) -> Profile:
        """--profile, else $NANGO_DESKTOP_PROFILE, else the current profile.

        With --api-url and no --profile: an ad-hoc profile whose key comes only from NANGO_SECRET_KEY (a
        stored key is never sent to a URL given on the command line unless its profile is named).
        """
        name = getattr(self.args, "profile", None)
        api_url = getattr(self.args, "api_url", None)
        if api_url and not name:
            return Profile(name=ADHOC_PROFILE, api_url=api_url)
        name = name or os.environ.get(PROFILE_ENV) or self.settings.current_profile
        profile = self.settings.get(name)
        if profile is None:
            if name:
                raise _unknown_profile(self, name)
            raise CliError(
                "No profile is set up",
                f"Add one with `{PROG} profile add NAME`, or pass --api-url URL with NANGO_SECRET_KEY set.",
            )
        return profile.model_copy(update={"api_url": api_url}) if api_url else profile

    def secret_key(self, profile: Profile) -> str:
        env = os.environ.get("NANGO_SECRET_KEY")
        if env:
            return env
        if profile.name == ADHOC_PROFILE and not getattr(self.args, "profile", None):
            raise CliError(
                "No API key", "Set NANGO_SECRET_KEY in the environment when using --api-url alone."
            )
        key = self.secrets.get(profile.name, SecretKind.API_KEY)
        if not key:
            raise CliError(
                f"No API key stored for profile “{profile.name}”",
                f"Store one with `{PROG} profile add {profile.name} --force`, or set NANGO_SECRET_KEY.",
            )
        return key

    def client(self) -> NangoClient:
        from nango_desktop.services.api import NangoClient

        profile = self.profile()
        return NangoClient(profile.api_url, self.secret_key(profile))

    def signing_keys(self) -> list[str]:
        """NANGO_WEBHOOK_SIGNING_KEY or the keyring's current and previous keys (may be empty)."""
        env = os.environ.get("NANGO_WEBHOOK_SIGNING_KEY")
        if env:
            return [env]
        return self.secrets.signing_keys(self.profile().name)

    def print(self, *parts: Any) -> None:
        print(*parts, file=self.stdout)

    def warn(self, message: str) -> None:
        print(f"Warning: {message}", file=self.stderr)


# -- argument types -----------------------------------------------------------------------------------


def _api_url(value: str) -> str:
    try:
        return normalize_api_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tag(value: str) -> tuple[str, str]:
    key, sep, tag_value = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"tags are KEY=VALUE, not {value!r}")
    return key.strip().lower(), tag_value.strip()


def _page_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"page size must be 1..{MAX_PAGE_SIZE}, not {value!r}")
    return size


def _tags_arg(pairs: Sequence[tuple[str, str]] | None, *, validate: bool) -> dict[str, str]:
    tags = dict(pairs or ())
    if validate and tags:
        from nango_desktop.domain.tags import validate_tags

        problems = validate_tags(tags)
        if problems:
            raise UsageError("Invalid tags", "\n".join(problems))
    return tags


# -- profile ------------------------------------------------------------------------------------------


def _read_secret(ctx: CliContext, prompt: str) -> str:
    """A hidden prompt on a terminal; otherwise one line of stdin. Never an argument."""
    if ctx.stdin.isatty():
        value = getpass.getpass(prompt, stream=ctx.stderr)
    else:
        value = ctx.stdin.readline()
    value = value.strip()
    if not value:
        raise UsageError("No key given", "Type the key at the prompt or pipe it on stdin (one line per key).")
    return value


def cmd_profile_add(args: argparse.Namespace, ctx: CliContext) -> int:
    if ctx.settings.get(args.name) and not args.force:
        raise CliError(f"Profile “{args.name}” already exists", "Use --force to replace it and its keys.")
    try:
        profile = Profile(
            name=args.name,
            api_url=args.url or args.api_url or DEFAULT_API_URL,
            environment=args.environment,
            production=args.production,
            connect_ui_url=args.connect_ui_url,
        )
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        raise UsageError("Invalid profile", _validation_text(exc)) from None
    key = None if args.no_key else _read_secret(ctx, f"Nango secret key for “{profile.name}”: ")
    signing_key = _read_secret(ctx, "Webhook signing key: ") if args.with_signing_key else None
    if args.check:
        from nango_desktop.services.api import NangoClient

        with NangoClient(profile.api_url, key or ctx.secret_key(profile)) as client:
            client.list_connections(limit=1)
    if key:
        ctx.secrets.set(profile.name, SecretKind.API_KEY, key)
    if signing_key:
        ctx.secrets.set(profile.name, SecretKind.SIGNING_KEY, signing_key)
    previous = ctx.settings.get(profile.name)
    if previous is not None:
        profile = profile.model_copy(update={"listener": previous.listener})
    ctx.settings.upsert(profile)
    if args.use:
        ctx.settings.current_profile = profile.name
    ctx.save()
    where = ctx.secrets.backend_name if key else "not stored (use NANGO_SECRET_KEY)"
    ctx.print(f"Profile “{profile.name}” saved ({profile.api_url}); key: {where}.")
    return EXIT_OK


def cmd_profile_list(args: argparse.Namespace, ctx: CliContext) -> int:
    rows = [
        {
            "name": p.name,
            "current": p.name == ctx.settings.current_profile,
            "api_url": p.api_url,
            "environment": p.environment,
            "production": p.production,
            "key": _key_state(ctx, p.name),
        }
        for p in ctx.settings.profiles
    ]
    if args.format == "json":
        json.dump(rows, ctx.stdout, indent=2)
        ctx.print()
    elif not rows:
        ctx.print(f"No profiles. Add one with `{PROG} profile add NAME`.")
    else:
        table = [
            ["*" if r["current"] else "", r["name"], r["api_url"], r["environment"], "yes" if r["production"] else "", r["key"]]
            for r in rows
        ]  # fmt: skip
        _print_table(ctx.stdout, ["", "NAME", "API URL", "ENVIRONMENT", "PRODUCTION", "KEY"], table)
    return EXIT_OK


def _unknown_profile(ctx: CliContext, name: str) -> CliError:
    return CliError(
        f"No profile named “{name}”", f"Known profiles: {', '.join(ctx.settings.names()) or 'none'}."
    )


def _key_state(ctx: CliContext, name: str) -> str:
    try:
        return "stored" if ctx.secrets.get(name, SecretKind.API_KEY) else "missing"
    except SecretStoreUnavailable:
        return "keyring unavailable"


def cmd_profile_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    if not ctx.settings.remove(args.name):
        raise _unknown_profile(ctx, args.name)
    ctx.save()
    try:
        ctx.secrets.delete_profile(args.name)
    except SecretStoreUnavailable as exc:
        ctx.warn(f"the profile was removed but its keys could not be deleted from the keyring: {exc}")
    ctx.print(f"Profile “{args.name}” removed.")
    return EXIT_OK


def cmd_profile_use(args: argparse.Namespace, ctx: CliContext) -> int:
    if ctx.settings.get(args.name) is None:
        raise _unknown_profile(ctx, args.name)
    ctx.settings.current_profile = args.name
    ctx.save()
    ctx.print(f"Current profile: {args.name}")
    return EXIT_OK


# -- connections --------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "connection_id", "integration", "provider", "end_user_id", "email", "display_name",
    "organization_id", "organization_name", "status", "errors", "created", "tags",
)  # fmt: skip
TABLE_COLUMNS = (
    "CONNECTION ID",
    "INTEGRATION",
    "PROVIDER",
    "END USER",
    "EMAIL",
    "ORGANIZATION",
    "STATUS",
    "CREATED",
)


def _row(conn: Connection) -> dict[str, str]:
    customer = conn.customer
    return {
        "connection_id": conn.connection_id,
        "integration": conn.provider_config_key,
        "provider": conn.provider,
        "end_user_id": customer.end_user_id or "",
        "email": customer.email or "",
        "display_name": customer.display_name or "",
        "organization_id": customer.organization_id or "",
        "organization_name": customer.organization_name or "",
        "status": conn.status,
        "errors": ",".join(sorted({e.type for e in conn.errors})),
        "created": conn.created,
        "tags": json.dumps(conn.tags, sort_keys=True, ensure_ascii=False) if conn.tags else "",
    }


def _error_filter(kind: str | None) -> Callable[[Connection], bool]:
    if kind == "auth":
        return lambda c: c.has_auth_error
    if kind == "sync":
        return lambda c: c.has_sync_error
    if kind == "any":
        return lambda c: bool(c.errors)
    return lambda c: True


def cmd_connections_list(args: argparse.Namespace, ctx: CliContext) -> int:
    tags = _tags_arg(args.tag, validate=False)
    keep = _error_filter(args.errors)
    with ctx.client() as client:
        pages = client.iter_connection_pages(
            search=args.search or None,
            integration_ids=args.integration or None,
            tags=tags or None,
            page_size=args.page_size,
        )
        rows = (c for page in pages for c in page if keep(c))
        count = _WRITERS[args.format](ctx.stdout, rows)
    log.info("Listed %d connections", count)
    return EXIT_OK


def _write_json(out: IO[str], conns: Iterable[Connection]) -> int:
    """Stream a JSON array, one connection per line, without holding every connection in memory."""
    count = 0
    out.write("[")
    for conn in conns:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(conn.model_dump(mode="json"), ensure_ascii=False, sort_keys=True))
        count += 1
    out.write("\n]\n" if count else "]\n")
    out.flush()
    return count


def _write_csv(out: IO[str], conns: Iterable[Connection]) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for conn in conns:
        writer.writerow(_row(conn))
        count += 1
    out.flush()
    return count


def _write_table(out: IO[str], conns: Iterable[Connection]) -> int:
    """Aligned columns need every width first, so the table (unlike JSON and CSV) is built in memory."""
    table = []
    for conn in conns:
        r = _row(conn)
        end_user, organization = (
            r["display_name"] or r["end_user_id"],
            r["organization_name"] or r["organization_id"],
        )
        status = r["status"].replace("_", " ")
        table.append([r["connection_id"], r["integration"], r["provider"], end_user, r["email"], organization, status, r["created"]])  # fmt: skip
    _print_table(out, TABLE_COLUMNS, table)
    print(f"\n{len(table)} connection(s)", file=out)
    return len(table)


_WRITERS: dict[str, Callable[[IO[str], Iterable[Connection]], int]] = {
    "json": _write_json,
    "csv": _write_csv,
    "table": _write_table,
}


def _print_table(out: IO[str], header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(_cell(r[i])) for r in rows)]) for i, h in enumerate(header)]
    for line in (header, *rows):
        print("  ".join(_cell(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip(), file=out)


def _cell(value: Any) -> str:
    return " ".join(str(value).split())  # no newlines/tabs inside a cell


def cmd_connections_show(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.client() as client:
        conn = client.get_connection(args.connection_id, args.integration, force_refresh=args.refresh)
    data = conn.model_dump(mode="json", exclude={"credentials"})
    if args.credentials:
        data["credentials"] = {k: v.get_secret_value() for k, v in conn.credentials.items()}
    else:
        data["credentials"] = conn.credentials_masked()
    if args.json:
        json.dump(data, ctx.stdout, indent=2, ensure_ascii=False, sort_keys=True)
        ctx.print()
        return EXIT_OK
    customer = conn.customer
    fields = [
        ("Connection", conn.connection_id),
        ("Integration", conn.provider_config_key),
        ("Provider", conn.provider),
        ("Status", conn.status.replace("_", " ")),
        ("End user", customer.end_user_id or ""),
        ("Email", customer.email or ""),
        ("Name", customer.display_name or ""),
        ("Organization", customer.organization or ""),
        ("Created", conn.created),
        ("Updated", conn.updated_at or ""),
        ("Webhook URL", conn.webhook_url_override or ""),
        ("Errors", ", ".join(f"{e.type} (log {e.log_id})" if e.log_id else e.type for e in conn.errors)),
    ]
    _print_pairs(ctx.stdout, [(k, v) for k, v in fields if v])
    for title, mapping in (
        ("Tags", conn.tags),
        ("Metadata", conn.metadata or {}),
        ("Connection config", conn.connection_config),
        ("Credentials", data["credentials"]),
    ):
        if mapping:
            ctx.print(f"\n{title}:")
            _print_pairs(ctx.stdout, [(f"  {k}", _scalar(v)) for k, v in mapping.items()])
    if conn.credentials and not args.credentials:
        ctx.print("\n(credentials hidden; add --credentials to print them)")
    return EXIT_OK


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _print_pairs(out: IO[str], pairs: Sequence[tuple[str, str]]) -> None:
    width = max((len(k) for k, _ in pairs), default=0) + 1
    for key, value in pairs:
        print(f"{(key + ':').ljust(width)} {value}", file=out)


# -- links --------------------------------------------------------------------------------------------


@contextmanager
def _issuer(ctx: CliContext) -> Iterator[Any]:
    """A LinkIssuer recording CLI-issued links in the history the GUI shows (session tokens stay in memory)."""
    from nango_desktop.services.links import LinkIssuer, LinkStore
    from nango_desktop.services.session_tokens import SessionTokens

    with ctx.client() as client, closing(LinkStore()) as store:
        yield LinkIssuer(client, store, SessionTokens(), ctx.profile())


def _print_link(ctx: CliContext, args: argparse.Namespace, issued: Any) -> int:
    expires = datetime.fromtimestamp(issued.record.expires_at, UTC)
    if args.json:
        json.dump({"link": issued.url, "expires_at": expires.isoformat().replace("+00:00", "Z")}, ctx.stdout)
        ctx.print()
    else:
        minutes = max(0, round(issued.record.remaining() / 60))
        ctx.print(f"Link:    {issued.url}")
        ctx.print(f"Expires: {expires:%Y-%m-%d %H:%M:%S} UTC (in {minutes} min)")
    if args.qr:
        import segno

        ctx.print()
        segno.make(issued.url, error="m").terminal(out=ctx.stdout, compact=True)
    ctx.stdout.flush()
    return EXIT_OK


def cmd_link_new(args: argparse.Namespace, ctx: CliContext) -> int:
    from nango_desktop.services.links import LinkRequest

    request = LinkRequest(
        end_user_id=args.end_user_id,
        email=args.email or "",
        display_name=args.display_name or "",
        organization_id=args.org or "",
        organization_name=args.org_name or "",
        extra_tags=_tags_arg(args.tag, validate=False),
        allowed_integrations=list(args.integration or ()),
    )
    if not request.end_user_id.strip():
        raise UsageError("Invalid end user", "--end-user-id must not be empty.")
    _tags_arg(list(request.tags().items()), validate=True)
    with _issuer(ctx) as issuer:
        issued = issuer.new_link(request)
    return _print_link(ctx, args, issued)


def cmd_link_reconnect(args: argparse.Namespace, ctx: CliContext) -> int:
    target = SimpleNamespace(connection_id=args.connection_id, provider_config_key=args.integration)
    with _issuer(ctx) as issuer:
        # refresh_tags: read the connection's current tags and send them, else Nango resets them (NOTES.md).
        issued = issuer.reconnect_link(target, refresh_tags=True)
    return _print_link(ctx, args, issued)


# -- GUI ----------------------------------------------------------------------------------------------


def run_gui(args: argparse.Namespace) -> int:
    """No subcommand: start the GUI (imported lazily so the CLI never loads Qt)."""
    if args.profile:
        os.environ[PROFILE_ENV] = args.profile  # the GUI selects the profile the way the CLI does
    if args.api_url:
        raise UsageError(
            "--api-url needs a command", "The GUI uses saved profiles; add one with `profile add`."
        )
    # importlib keeps the GUI out of the CLI's static import graph (import-linter: the CLI stays Qt-free).
    app = importlib.import_module("nango_desktop.app")
    return app.run([sys.argv[0]], verbose=args.verbose)


# -- parser -------------------------------------------------------------------------------------------


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    """Options that go before the subcommand. Top-level flags (e.g. --smoke-test) are added here too."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--profile", metavar="NAME", help="profile to use (default: the current profile)")
    parser.add_argument(
        "--api-url",
        metavar="URL",
        type=_api_url,
        help="Nango API base URL (alone: an ad-hoc profile, key from NANGO_SECRET_KEY)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    smoke = parser.add_argument_group("installation check")
    smoke.add_argument(
        "--smoke-test",
        action="store_true",
        help="check an installation: build the main window offscreen, post a signed and a wrongly signed "
        "webhook to a loopback webhook server, report the keyring backend; exit 0 when all checks pass",
    )
    smoke.add_argument("--startup-only", action="store_true", help=argparse.SUPPRESS)
    smoke.add_argument(
        "--require-secure-keyring",
        action="store_true",
        help="with --smoke-test: fail when no secure OS keyring backend is usable",
    )


def _add_profile_commands(sub: argparse._SubParsersAction) -> None:
    profile = sub.add_parser("profile", help="manage profiles (API URL, environment; keys in the OS keyring)")
    psub = profile.add_subparsers(dest="profile_command", metavar="COMMAND", required=True)

    add = psub.add_parser(
        "add",
        help="add or replace a profile; the key is read from a hidden prompt or stdin",
        description="The secret key is read from a hidden prompt, or from the first line of stdin when stdin "
        "is not a terminal (the signing key from the next line). Keys go to the OS keyring only.",
    )
    add.add_argument("name")
    add.add_argument(
        "--url", type=_api_url, help="API base URL (default: --api-url or https://api.nango.dev)"
    )
    add.add_argument("--environment", default="dev", help="environment label (default: dev)")
    add.add_argument("--production", action="store_true", help="mark as a production environment")
    add.add_argument("--connect-ui-url", type=_api_url, help="Connect UI URL of a self-hosted Nango")
    add.add_argument("--with-signing-key", action="store_true", help="also read the webhook signing key")
    add.add_argument("--no-key", action="store_true", help="store no API key (use NANGO_SECRET_KEY)")
    add.add_argument("--check", action="store_true", help="verify the key against the API before saving")
    add.add_argument("--use", action="store_true", help="make it the current profile")
    add.add_argument("--force", action="store_true", help="replace an existing profile of that name")
    add.set_defaults(func=cmd_profile_add)

    lst = psub.add_parser("list", help="list profiles")
    lst.add_argument("--format", choices=("table", "json"), default="table")
    lst.set_defaults(func=cmd_profile_list)

    for name, func, help_text in (
        ("remove", cmd_profile_remove, "remove a profile and its keys"),
        ("use", cmd_profile_use, "make a profile the current one"),
    ):
        p = psub.add_parser(name, help=help_text)
        p.add_argument("name")
        p.set_defaults(func=func)


def _add_connection_commands(sub: argparse._SubParsersAction) -> None:
    conns = sub.add_parser("connections", help="list and inspect connections")
    csub = conns.add_subparsers(dest="connections_command", metavar="COMMAND", required=True)

    lst = csub.add_parser("list", help="list ALL matching connections (every page)")
    lst.add_argument("--search", metavar="S", help="Nango's search (connection id, end user...)")
    lst.add_argument("--integration", metavar="I", action="append", help="integration id (repeatable)")
    lst.add_argument("--tag", metavar="K=V", action="append", type=_tag, help="tag filter (repeatable)")
    lst.add_argument(
        "--errors",
        nargs="?",
        const="any",
        choices=("any", "auth", "sync"),
        help="only connections with errors (of a kind: auth, sync)",
    )
    lst.add_argument("--format", choices=tuple(_WRITERS), default="table")
    lst.add_argument(
        "--page-size", type=_page_size, default=1000, metavar="N", help="connections per request"
    )
    lst.set_defaults(func=cmd_connections_list)

    show = csub.add_parser("show", help="show one connection (credentials masked unless --credentials)")
    show.add_argument("connection_id", metavar="ID")
    show.add_argument("--integration", metavar="I", required=True)
    show.add_argument("--json", action="store_true")
    show.add_argument("--credentials", action="store_true", help="print the credentials in clear")
    show.add_argument("--refresh", action="store_true", help="force a token refresh (force_refresh=true)")
    show.set_defaults(func=cmd_connections_show)


def _add_link_commands(sub: argparse._SubParsersAction) -> None:
    link = sub.add_parser("link", help="create connect and reconnect links")
    lsub = link.add_subparsers(dest="link_command", metavar="COMMAND", required=True)

    def output_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--qr", action="store_true", help="also print a QR code of the link")
        p.add_argument("--json", action="store_true", help="print {link, expires_at} as JSON")

    new = lsub.add_parser("new", help="a connect link for a new connection")
    new.add_argument("--end-user-id", required=True)
    new.add_argument("--email")
    new.add_argument("--display-name")
    new.add_argument("--org", metavar="ID", help="organization id")
    new.add_argument("--org-name")
    new.add_argument("--tag", metavar="K=V", action="append", type=_tag, help="extra tag (repeatable)")
    new.add_argument("--integration", metavar="I", action="append", help="allowed integration (repeatable)")
    output_options(new)
    new.set_defaults(func=cmd_link_new)

    rec = lsub.add_parser("reconnect", help="a reconnect link for an existing connection (keeps its tags)")
    rec.add_argument("connection_id", metavar="CONNECTION_ID")
    rec.add_argument("--integration", metavar="I", required=True)
    output_options(rec)
    rec.set_defaults(func=cmd_link_reconnect)


def _register_plugins(sub: argparse._SubParsersAction) -> None:
    try:
        from nango_desktop import cli_webhooks
    except ImportError as exc:  # the webhook commands are optional: the rest of the CLI must still work
        log.debug("Webhook commands unavailable: %s", exc)
        return
    cli_webhooks.register(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Nango Desktop: without a command, start the GUI. Global options go before the command.",
        epilog="Environment: NANGO_SECRET_KEY, NANGO_WEBHOOK_SIGNING_KEY override stored keys; "
        "NANGO_DESKTOP_PROFILE selects a profile; NANGO_DESKTOP_HOME moves all files.",
    )
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_profile_commands(sub)
    _add_connection_commands(sub)
    _add_link_commands(sub)
    _register_plugins(sub)
    return parser


# -- main ---------------------------------------------------------------------------------------------


def _validation_text(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
    return str(exc)


def _report(stderr: IO[str], title: str, detail: str) -> None:
    from nango_desktop.logsetup import redact

    print(f"Error: {redact(title)}", file=stderr)
    if detail:
        print(redact(detail), file=stderr)


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    # Top-level flags that run instead of a command (e.g. --smoke-test) are declared in _add_global_options
    # and dispatched here, before the GUI / command dispatch.
    if args.smoke_test:
        smoke = importlib.import_module("nango_desktop.smoke")  # Qt: kept out of the CLI's import graph
        return smoke.run(startup_only=args.startup_only, require_secure_keyring=args.require_secure_keyring)
    if getattr(args, "func", None) is None:
        try:
            return run_gui(args)
        except CliError as exc:
            _report(sys.stderr, exc.title, exc.detail)
            return exc.exit_code

    from nango_desktop.logsetup import setup_logging

    setup_logging(logging.DEBUG if args.verbose else logging.INFO, console=args.verbose)
    stdout, stderr = sys.stdout, sys.stderr
    try:
        ctx = CliContext(args, stdin=stdin)
        if ctx.settings.load_problem:
            ctx.warn(ctx.settings.load_problem)
        return args.func(args, ctx)
    except CliError as exc:
        _report(stderr, exc.title, exc.detail)
        return exc.exit_code
    except (NangoError, SecretStoreUnavailable) as exc:
        log.warning("%s failed: %s", args.command, exc)
        _report(stderr, exc.title, exc.detail)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted", file=stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader is gone; stop quietly
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        log.exception("Unexpected error in %s", args.command)
        _report(stderr, "Unexpected error", f"{type(exc).__name__}: {exc}")
        return EXIT_ERROR
    finally:
        _flush(stdout)


def _flush(stream: IO[str]) -> None:
    try:
        stream.flush()
    except (BrokenPipeError, ValueError):
        _silence_stdout()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests)
        pass
