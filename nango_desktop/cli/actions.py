"""`action run|list`: run an action of an integration for a connection (POST /action/trigger)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nango_desktop.cli.common import EXIT_ERROR, EXIT_OK, CliContext, CliError, UsageError, print_table


def _read_input(args: argparse.Namespace, ctx: CliContext) -> Any:
    if args.input is None:
        return None
    if args.input == "-":
        text = ctx.stdin.read()
        source = "stdin"
    else:
        try:
            text = Path(args.input).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"Cannot read {args.input}", str(exc)) from None
        source = args.input
    try:
        return json.loads(text) if text.strip() else None
    except ValueError as exc:
        raise UsageError(f"The input in {source} is not valid JSON", str(exc)) from None


def cmd_action_run(args: argparse.Namespace, ctx: CliContext) -> int:
    from nango_desktop.domain.jsonschema_lite import validate
    from nango_desktop.services.workbench import Workbench

    payload = _read_input(args, ctx)
    with ctx.client() as client:
        wb = Workbench(client)
        if not args.no_validate:
            action = next(
                (a for a in wb.integration_scripts(args.integration).actions if a.name == args.name), None
            )
            if action is None:
                ctx.warn(f"no deployed action named “{args.name}” in {args.integration}'s scripts config")
            else:
                problems = validate(payload, action.input_schema())
                if problems:
                    raise UsageError(
                        "The input does not match the action's input schema", "\n".join(problems)
                    )
        outcome = wb.run_action(
            args.connection,
            args.integration,
            args.name,
            payload,
            run_async=args.run_async,
            max_retries=args.max_retries,
            poll_interval=args.poll_interval,
        )
    if outcome.ok:
        json.dump(outcome.result, ctx.stdout, indent=2, ensure_ascii=False)
        ctx.print()
        return EXIT_OK
    detail = [f"HTTP {outcome.status}" + (f", code {outcome.error_code}" if outcome.error_code else "")]
    if outcome.log_id:
        detail.append(f"log id: {outcome.log_id}")
    if outcome.error_payload:
        detail.append(json.dumps(outcome.error_payload, ensure_ascii=False))
    if outcome.error_detail:
        detail.append(outcome.error_detail)
    raise CliError(f"The action failed: {outcome.error_title}", "\n".join(detail))


def cmd_action_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from nango_desktop.services.workbench import Workbench

    with ctx.client() as client:
        scripts = Workbench(client).integration_scripts(args.integration)
    rows = [
        [a.name, a.input_name or ("schema" if a.input_schema() else ""), (a.description or "").split("\n")[0]]
        for a in scripts.actions
    ]
    print_table(ctx.stdout, ["ACTION", "INPUT", "DESCRIPTION"], rows)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    action = sub.add_parser("action", help="run an integration's actions")
    asub = action.add_subparsers(dest="action_command", metavar="COMMAND", required=True)

    run = asub.add_parser("run", help="run an action; its JSON result on stdout, exit 1 when it fails")
    run.add_argument("name", metavar="NAME")
    run.add_argument("--connection", metavar="ID", required=True)
    run.add_argument("--integration", metavar="I", required=True)
    run.add_argument("--input", metavar="FILE", help="JSON input from a file, or - for stdin")
    run.add_argument("--async", dest="run_async", action="store_true", help="X-Async: trigger, then poll")
    run.add_argument("--max-retries", type=int, choices=range(0, 6), metavar="0-5", help="with --async")
    run.add_argument("--poll-interval", type=float, default=1.0, metavar="S", help=argparse.SUPPRESS)
    run.add_argument("--no-validate", action="store_true", help="skip the local input schema check")
    run.set_defaults(func=cmd_action_run)

    lst = asub.add_parser("list", help="the integration's deployed actions")
    lst.add_argument("--integration", metavar="I", required=True)
    lst.set_defaults(func=cmd_action_list)


__all__ = ["EXIT_ERROR", "register"]
