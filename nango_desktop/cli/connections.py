"""`connections list|show`: every page of GET /connections streamed as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import json
import logging
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING

from nango_desktop.cli.common import (
    EXIT_OK,
    CliContext,
    page_size_arg,
    print_pairs,
    print_table,
    scalar,
    tag_arg,
    tags_arg,
)
from nango_desktop.services.errors import RefreshFailedError, RefreshState
from nango_desktop.services.pagination import DEFAULT_MAX_ROWS

if TYPE_CHECKING:
    from nango_desktop.domain.models import Connection

log = logging.getLogger(__name__)

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


# Pages requested ahead while one is written (through the client's shared rate limiter): the listing
# waits for the slowest of a few requests instead of the sum of all of them. 2 measured best for the whole
# process (benchmarks/README.md: 1, 2, 3, 4, 6, 8 at 20,000 and 100,000): more pages in flight only add
# requests past the end and threads parsing at once for the same GIL.
LIST_CONCURRENCY = 2


def _max_rows_arg(value: str) -> int:
    try:
        rows = int(value)
    except ValueError:
        rows = -1
    if rows < 0:
        raise argparse.ArgumentTypeError(f"the row ceiling must be a whole number >= 0, not {value!r}")
    return rows


def cmd_connections_list(args: argparse.Namespace, ctx: CliContext) -> int:
    tags = tags_arg(args.tag, validate=False)
    raw = args.format == "json"  # JSON re-serialises the server's objects: no model needed
    with ctx.client() as client:
        pages = client.iter_connection_pages(
            search=args.search or None,
            integration_ids=args.integration or None,
            tags=tags or None,
            page_size=args.page_size,
            concurrency=LIST_CONCURRENCY,
            raw=raw,
            max_rows=... if args.max_rows is None else args.max_rows,  # ...: the profile's setting
        )
        if raw:
            count = _write_json(ctx.stdout, pages, _raw_error_filter(args.errors))  # type: ignore[arg-type]
        else:
            keep = _error_filter(args.errors)
            rows = (c for page in pages for c in page if keep(c))
            count = _WRITERS[args.format](ctx.stdout, rows)
    log.info("Listed %d connections", count)
    return EXIT_OK


def _raw_error_filter(kind: str | None) -> Callable[[dict], bool] | None:
    if kind is None:
        return None
    if kind == "any":
        return lambda c: bool(c.get("errors"))
    return lambda c: any(isinstance(e, dict) and e.get("type") == kind for e in c.get("errors") or ())


def _write_json(out: IO[str], pages: Iterable[list[dict]], keep: Callable[[dict], bool] | None = None) -> int:
    """Stream a JSON array of Nango's connection objects as the server sent them, page by page, without
    holding every connection in memory and without building models: a whole page's array text is copied
    from the response (one line per page with Nango's compact JSON); only pages narrowed by a filter or by
    the removal of rows repeated between pages are encoded again (one object per line).

    Nothing reaches stdout before the first page arrived: when it fails, stdout stays empty (the error goes
    to stderr, exit 1). A later page failing closes the array first, so stdout is always one valid array
    (what arrived before the failure) and the exit code and stderr say it is incomplete.
    """
    count = 0
    started = False
    try:
        for page in pages:
            if not started:
                out.write("[")
                started = True
            text = getattr(page, "text", None)
            if keep is None and text:
                rows: list[dict] = page
            else:
                rows = page if keep is None else [row for row in page if keep(row)]
                text = ",\n".join([json.dumps(row, ensure_ascii=False) for row in rows])
            if not rows:
                continue
            out.write(",\n" if count else "\n")
            out.write(text)
            count += len(rows)
    finally:
        if started:
            out.write("\n]\n" if count else "]\n")
            out.flush()
    if not started:
        out.write("[]\n")
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
    print_table(out, TABLE_COLUMNS, table)
    print(f"\n{len(table)} connection(s)", file=out)
    return len(table)


_WRITERS: dict[str, Callable[[IO[str], Iterable[Connection]], int]] = {
    "csv": _write_csv,
    "table": _write_table,
}
FORMATS = ("json", "csv", "table")


def _state_line(conn: Connection, refresh: RefreshFailedError | None) -> tuple[str, str]:
    """(state, what to do) for the connection: Nango's 424 when credentials were read, else its errors."""
    if refresh is not None:
        label = {
            RefreshState.BACKING_OFF: "backing off: a recent refresh of the credentials failed",
            RefreshState.EXHAUSTED: "refresh exhausted: the customer must reconnect",
        }.get(refresh.state, f"credentials not refreshed: Nango said “{refresh.nango_message or 'nothing'}”")
        return label, refresh.advice
    if conn.has_auth_error:
        return (
            "auth error: Nango's last refresh of the credentials failed",
            "Read the error's log in Nango; send the customer a reconnect link if it keeps failing.",
        )
    if conn.has_sync_error:
        return "sync error: the last sync run failed", "Read the error's log in Nango."
    return "ok", ""


def cmd_connections_show(args: argparse.Namespace, ctx: CliContext) -> int:
    """The connection from the list endpoint (``GET /connections?connectionId=``: no refresh, no side effect).

    Credentials only with ``--credentials`` (or ``--refresh``), through ``GET /connections/{id}``; a 424
    there (back-off, exhausted or another refresh failure) still shows the connection, from the 424's
    ``error.payload.connection``, with a state line saying what to do, and exits 0.
    """
    from nango_desktop.domain.models import ConnectionFull

    want_credentials = bool(args.credentials or args.refresh)
    refresh_error: RefreshFailedError | None = None
    full: ConnectionFull | None = None
    with ctx.client() as client:
        conn: Connection = client.find_connection(args.connection_id, args.integration)
        if want_credentials:
            try:
                full = client.get_connection(args.connection_id, args.integration, force_refresh=args.refresh)
            except RefreshFailedError as exc:
                refresh_error = exc
                if exc.connection:
                    try:
                        conn = ConnectionFull.model_validate(exc.connection)
                    except ValueError:
                        log.info("The 424 payload's connection did not parse; showing the list row")
    if full is not None:
        conn = full
    state, advice = _state_line(conn, refresh_error)
    data = conn.model_dump(mode="json", exclude={"credentials"})
    data["state"] = state
    if advice:
        data["advice"] = advice
    credentials: dict[str, str] = {}
    no_scope = False
    if full is not None:
        if full.credentials:
            credentials = (
                {k: v.get_secret_value() for k, v in full.credentials.items()}
                if args.credentials
                else full.credentials_masked()
            )
        else:
            no_scope = True  # Nango answers credentials: {} to a key without read_credentials
    if refresh_error is not None:
        data["credentials_error"] = {
            "state": str(refresh_error.state),
            "nango_message": refresh_error.nango_message,
        }
    elif want_credentials:
        data["credentials"] = credentials
    if args.json:
        json.dump(data, ctx.stdout, indent=2, ensure_ascii=False, sort_keys=True)
        ctx.print()
        _explain_credentials(ctx, no_scope, refresh_error, to_stderr=True)
        return EXIT_OK
    customer = conn.customer
    fields = [
        ("Connection", conn.connection_id),
        ("Integration", conn.provider_config_key),
        ("Provider", conn.provider),
        ("State", state),
        ("What to do", advice),
        ("End user", customer.end_user_id or ""),
        ("Email", customer.email or ""),
        ("Name", customer.display_name or ""),
        ("Organization", customer.organization or ""),
        ("Created", conn.created),
        ("Updated", getattr(conn, "updated_at", None) or ""),
        ("Webhook URL", getattr(conn, "webhook_url_override", None) or ""),
        ("Errors", ", ".join(f"{e.type} (log {e.log_id})" if e.log_id else e.type for e in conn.errors)),
    ]
    print_pairs(ctx.stdout, [(k, v) for k, v in fields if v])
    for title, mapping in (
        ("Tags", conn.tags),
        ("Metadata", conn.metadata or {}),
        ("Connection config", getattr(conn, "connection_config", None) or {}),
        ("Credentials", credentials),
    ):
        if mapping:
            ctx.print(f"\n{title}:")
            print_pairs(ctx.stdout, [(f"  {k}", scalar(v)) for k, v in mapping.items()])
    _explain_credentials(ctx, no_scope, refresh_error, to_stderr=False)
    if full is not None and full.credentials and not args.credentials:
        ctx.print("\n(credentials hidden; add --credentials to print them)")
    elif not want_credentials:
        ctx.print(
            "\n(read from the connection list: no token refresh. Add --credentials to read the credentials; "
            "that makes Nango refresh an expired token)"
        )
    return EXIT_OK


def _explain_credentials(
    ctx: CliContext, no_scope: bool, refresh_error: RefreshFailedError | None, *, to_stderr: bool
) -> None:
    out = ctx.stderr if to_stderr else ctx.stdout
    if refresh_error is not None:
        print(
            f"\nCredentials: Nango could not refresh them ({refresh_error.nango_message or refresh_error.title}). "
            f"{refresh_error.advice}",
            file=out,
        )
    elif no_scope:
        print(
            "\nCredentials: none returned. The API key lacks the environment:connections:read_credentials "
            "scope (Nango answers credentials: {} then); use a key with that scope.",
            file=out if not to_stderr else ctx.stderr,
        )


def register(sub: argparse._SubParsersAction) -> None:
    conns = sub.add_parser("connections", help="list and inspect connections")
    csub = conns.add_subparsers(dest="connections_command", metavar="COMMAND", required=True)

    lst = csub.add_parser("list", help="list ALL matching connections (every page)")
    lst.add_argument("--search", metavar="S", help="Nango's search (connection id, end user...)")
    lst.add_argument("--integration", metavar="I", action="append", help="integration id (repeatable)")
    lst.add_argument("--tag", metavar="K=V", action="append", type=tag_arg, help="tag filter (repeatable)")
    lst.add_argument(
        "--errors",
        nargs="?",
        const="any",
        choices=("any", "auth", "sync"),
        help="only connections with errors (of a kind: auth, sync)",
    )
    lst.add_argument("--format", choices=FORMATS, default="table")
    lst.add_argument(
        "--page-size", type=page_size_arg, default=1000, metavar="N", help="connections per request"
    )
    lst.add_argument(
        "--max-rows",
        type=_max_rows_arg,
        default=None,
        metavar="N",
        help="stop with an error after N connections (default: the profile's max_connection_rows, "
        f"{DEFAULT_MAX_ROWS:,}; 0 = no ceiling)",
    )
    lst.set_defaults(func=cmd_connections_list)

    show = csub.add_parser("show", help="show one connection (credentials masked unless --credentials)")
    show.add_argument("connection_id", metavar="ID")
    show.add_argument("--integration", metavar="I", required=True)
    show.add_argument("--json", action="store_true")
    show.add_argument(
        "--credentials",
        action="store_true",
        help="also read the credentials and print them in clear (makes Nango refresh an expired token)",
    )
    show.add_argument("--refresh", action="store_true", help="force a token refresh (force_refresh=true)")
    show.set_defaults(func=cmd_connections_show)
