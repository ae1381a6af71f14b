"""`syncs list|trigger|pause|start|frequency`: sync control of one connection."""

from __future__ import annotations

import argparse
import json

from nango_desktop.cli.common import EXIT_OK, CliContext, UsageError, print_table


def _workbench(ctx: CliContext):
    from nango_desktop.services.workbench import Workbench

    return Workbench(ctx.client())


def _confirm_production(args: argparse.Namespace, ctx: CliContext, what: str) -> None:
    profile = ctx.profile()
    if profile.production and not args.yes:
        raise UsageError(
            f"“{profile.name}” is a production profile",
            f"{what} changes the customer's syncs; add --yes to confirm.",
        )


def cmd_syncs_list(args: argparse.Namespace, ctx: CliContext) -> int:
    wb = _workbench(ctx)
    with wb.client:
        syncs = wb.sync_status(args.integration, args.connection)
    if args.json:
        json.dump([s.model_dump(mode="json") for s in syncs], ctx.stdout, indent=2, ensure_ascii=False)
        ctx.print()
        return EXIT_OK
    rows = []
    for s in syncs:
        counts = ", ".join(f"{m}: {n}" for m, n in (s.recordCount or {}).items())
        latest = ", ".join(
            f"{m} +{r.get('added', 0)} ~{r.get('updated', 0)} -{r.get('deleted', 0)}"
            for m, r in (s.latestResult or {}).items()
            if isinstance(r, dict)
        )
        name = s.name if (s.variant or "base") == "base" else f"{s.name}::{s.variant}"
        rows.append(
            [
                name,
                s.status or "",
                s.frequency or "",
                s.finishedAt or "",
                s.nextScheduledSyncAt or "",
                counts,
                latest,
            ]
        )
    print_table(
        ctx.stdout, ["SYNC", "STATUS", "FREQUENCY", "LAST RUN", "NEXT RUN", "RECORDS", "LATEST"], rows
    )
    return EXIT_OK


def cmd_syncs_trigger(args: argparse.Namespace, ctx: CliContext) -> int:
    mode = None
    if args.clear_cache:
        mode = "full_refresh_and_clear_cache"
    elif args.full:
        mode = "full_refresh"
    elif args.incremental:
        mode = "incremental"
    if mode == "full_refresh_and_clear_cache":
        _confirm_production(args, ctx, "Clearing the cache")
    wb = _workbench(ctx)
    with wb.client:
        wb.trigger_syncs(args.integration, args.connection, args.syncs, sync_mode=mode)
    ctx.print(f"Triggered {', '.join(args.syncs) or 'every sync'} ({mode or 'incremental'})")
    return EXIT_OK


def _cmd_schedule(action: str):
    def run(args: argparse.Namespace, ctx: CliContext) -> int:
        _confirm_production(args, ctx, action.capitalize())
        wb = _workbench(ctx)
        with wb.client:
            method = wb.pause_syncs if action == "pause" else wb.start_syncs
            method(args.integration, args.connection, args.syncs)
        done = "Paused" if action == "pause" else "Started"
        ctx.print(f"{done} {', '.join(args.syncs) or 'every sync'}")
        return EXIT_OK

    return run


def cmd_syncs_frequency(args: argparse.Namespace, ctx: CliContext) -> int:
    if (args.frequency is None) == (not args.default):
        raise UsageError("Give a frequency or --default", "e.g. `every 2 hours`, `30m`, `1d`")
    _confirm_production(args, ctx, "Changing the frequency")
    wb = _workbench(ctx)
    with wb.client:
        current = wb.update_frequency(
            args.integration, args.connection, args.sync, None if args.default else args.frequency
        )
    ctx.print(f"{args.sync}: {current or 'default frequency'}")
    return EXIT_OK


def _common(parser: argparse.ArgumentParser, *, yes: bool = True) -> None:
    parser.add_argument("--connection", metavar="ID", required=True, help="connection id")
    parser.add_argument("--integration", metavar="I", required=True, help="integration id (unique key)")
    if yes:
        parser.add_argument("--yes", action="store_true", help="confirm a change on a production profile")


def register(sub: argparse._SubParsersAction) -> None:
    syncs = sub.add_parser("syncs", help="sync status and control of a connection")
    ssub = syncs.add_subparsers(dest="syncs_command", metavar="COMMAND", required=True)

    lst = ssub.add_parser("list", help="each sync's status, frequency, runs, record counts, latest result")
    _common(lst, yes=False)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_syncs_list)

    trig = ssub.add_parser("trigger", help="run syncs now (no name: every sync)")
    _common(trig)
    trig.add_argument("syncs", nargs="*", metavar="SYNC", help="sync names (name::variant for a variant)")
    mode = trig.add_mutually_exclusive_group()
    mode.add_argument("--incremental", action="store_true", help="an incremental run (default)")
    mode.add_argument("--full", action="store_true", help="a full refresh")
    mode.add_argument(
        "--clear-cache", action="store_true", help="a full refresh that also deletes the records"
    )
    trig.set_defaults(func=cmd_syncs_trigger)

    for action, text in (("pause", "pause the schedule of syncs"), ("start", "start (resume) syncs")):
        p = ssub.add_parser(action, help=text + " (no name: every sync)")
        _common(p)
        p.add_argument("syncs", nargs="*", metavar="SYNC")
        p.set_defaults(func=_cmd_schedule(action))

    freq = ssub.add_parser("frequency", help="override a sync's frequency for this connection")
    _common(freq)
    freq.add_argument("sync", metavar="SYNC")
    freq.add_argument("frequency", nargs="?", metavar="FREQUENCY", help="e.g. 'every 2 hours', '30m'")
    freq.add_argument("--default", action="store_true", help="revert to the sync's default frequency")
    freq.set_defaults(func=cmd_syncs_frequency)
