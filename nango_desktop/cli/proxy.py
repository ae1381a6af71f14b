"""`proxy METHOD /path`: a request to the external API as the connection (Nango's /proxy).

The response body goes to stdout as it came; the status line to stderr. Exit 1 on a 4xx/5xx (from the
external API or from Nango itself, which is then named). Writes (anything but GET/HEAD/OPTIONS) on a
production profile need --yes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nango_desktop.cli.common import EXIT_ERROR, EXIT_OK, CliContext, UsageError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def header_arg(value: str) -> tuple[str, str]:
    name, sep, content = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"headers are 'Name: value', not {value!r}")
    return name.strip(), content.strip()


def query_arg(value: str) -> tuple[str, str]:
    name, sep, content = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"query parameters are NAME=VALUE, not {value!r}")
    return name, content


def _body(args: argparse.Namespace, ctx: CliContext) -> str | None:
    data = args.data
    if data is None:
        return None
    if data == "-":
        return ctx.stdin.read()
    if data.startswith("@"):
        try:
            return Path(data[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"Cannot read {data[1:]}", str(exc)) from None
    return data


def cmd_proxy(args: argparse.Namespace, ctx: CliContext) -> int:
    from nango_desktop.domain.workbench import ProxyRequest
    from nango_desktop.services.workbench import Workbench

    method = args.method.upper()
    if method not in METHODS:
        raise UsageError(f"Unknown method {args.method!r}", f"Use one of {', '.join(METHODS)}.")
    request = ProxyRequest(
        method=method,
        path=args.path,
        connection_id=args.connection,
        integration_id=args.integration,
        query=list(args.query or ()),
        headers=list(args.header or ()),
        body=_body(args, ctx),
        retries=args.retries,
        base_url_override=args.base_url_override,
    )
    profile = ctx.profile()
    if not request.is_read_only and profile.production and not args.yes:
        raise UsageError(
            f"“{profile.name}” is a production profile",
            f"{method} {args.path} may change the customer's data in the external API; add --yes to confirm.",
        )
    with ctx.client() as client:
        response = Workbench(client).proxy(request)
    if args.include:
        print(f"HTTP {response.status}", file=ctx.stdout)
        for name, value in response.headers:
            print(f"{name}: {value}", file=ctx.stdout)
        print(file=ctx.stdout)
    _write_body(ctx, response.content, args.pretty and "json" in response.content_type)
    timing = f"{response.elapsed * 1000:.0f} ms"
    if response.ok:
        if args.verbose_status:
            print(f"HTTP {response.status} ({timing})", file=ctx.stderr)
        return EXIT_OK
    source = f"Nango ({response.nango_error})" if response.nango_error else "the external API"
    print(f"HTTP {response.status} from {source} ({timing})", file=ctx.stderr)
    return EXIT_ERROR


def _write_body(ctx: CliContext, content: bytes, pretty: bool) -> None:
    if pretty:
        try:
            ctx.print(json.dumps(json.loads(content), indent=2, ensure_ascii=False))
            return
        except ValueError:
            pass
    stream = ctx.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None and stream is sys.stdout:
        stream.flush()
        buffer.write(content)
        buffer.flush()
    else:
        stream.write(content.decode("utf-8", "replace"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "proxy",
        help="send a request to the external API as a connection (body on stdout, exit 1 on 4xx/5xx)",
    )
    p.add_argument("method", metavar="METHOD", help=", ".join(METHODS))
    p.add_argument("path", metavar="PATH", help="the external API's path, e.g. /user")
    p.add_argument("--connection", metavar="ID", required=True)
    p.add_argument("--integration", metavar="I", required=True)
    p.add_argument("-H", "--header", action="append", type=header_arg, metavar="'NAME: VALUE'",
                   help="a header for the external API (repeatable)")  # fmt: skip
    p.add_argument("-q", "--query", action="append", type=query_arg, metavar="NAME=VALUE", help="repeatable")
    p.add_argument("-d", "--data", metavar="BODY", help="request body; @FILE reads a file, - reads stdin")
    p.add_argument("--retries", type=int, choices=range(0, 11), metavar="N", help="Nango's Retries header")
    p.add_argument("--base-url-override", metavar="URL", help="Nango's Base-Url-Override header")
    p.add_argument("-i", "--include", action="store_true", help="print the status line and headers first")
    p.add_argument("--pretty", action="store_true", help="indent a JSON body")
    p.add_argument(
        "--status", dest="verbose_status", action="store_true", help="the status on stderr, always"
    )
    p.add_argument("--yes", action="store_true", help="confirm a write on a production profile")
    p.set_defaults(func=cmd_proxy)
