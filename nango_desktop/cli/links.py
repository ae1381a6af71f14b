"""`link new|reconnect`: connect and reconnect links, recorded in the link history the GUI shows."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from nango_desktop.cli.common import EXIT_OK, CliContext, UsageError, tag_arg, tags_arg


@contextmanager
def _issuer(ctx: CliContext) -> Iterator[Any]:
    """A LinkIssuer recording CLI-issued links in the history the GUI shows (session tokens stay in memory)."""
    from nango_desktop.services.links import LinkIssuer
    from nango_desktop.store.links import LinkStore
    from nango_desktop.store.tokens import SessionTokens

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
        segno.make(issued.url, error="m").terminal(out=ctx.stdout, compact=True)  # type: ignore[arg-type]
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
        extra_tags=tags_arg(args.tag, validate=False),
        allowed_integrations=list(args.integration or ()),
    )
    if not request.end_user_id.strip():
        raise UsageError("Invalid end user", "--end-user-id must not be empty.")
    tags_arg(list(request.tags().items()), validate=True)
    with _issuer(ctx) as issuer:
        issued = issuer.new_link(request)
    return _print_link(ctx, args, issued)


def cmd_link_reconnect(args: argparse.Namespace, ctx: CliContext) -> int:
    target = SimpleNamespace(connection_id=args.connection_id, provider_config_key=args.integration)
    with _issuer(ctx) as issuer:
        # refresh_tags: read the connection's current tags and send them, else Nango resets them (NOTES.md).
        issued = issuer.reconnect_link(target, refresh_tags=True)
    return _print_link(ctx, args, issued)


def register(sub: argparse._SubParsersAction) -> None:
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
    new.add_argument("--tag", metavar="K=V", action="append", type=tag_arg, help="extra tag (repeatable)")
    new.add_argument("--integration", metavar="I", action="append", help="allowed integration (repeatable)")
    output_options(new)
    new.set_defaults(func=cmd_link_new)

    rec = lsub.add_parser("reconnect", help="a reconnect link for an existing connection (keeps its tags)")
    rec.add_argument("connection_id", metavar="CONNECTION_ID")
    rec.add_argument("--integration", metavar="I", required=True)
    output_options(rec)
    rec.set_defaults(func=cmd_link_reconnect)
