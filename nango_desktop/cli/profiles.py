"""`profile add|list|remove|use`: profiles in the settings file, their keys in the OS keyring."""

from __future__ import annotations

import argparse
import json

from nango_desktop.cli.common import (
    EXIT_OK,
    PROG,
    CliContext,
    CliError,
    UsageError,
    api_url_arg,
    print_table,
    read_secret,
    unknown_profile,
    validation_text,
)
from nango_desktop.services.secrets import SecretKind, SecretStoreUnavailable
from nango_desktop.settings import DEFAULT_API_URL, Profile


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
            dashboard_url=args.dashboard_url,
            **_limits(args, ctx.settings.get(args.name)),
        )
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        raise UsageError("Invalid profile", validation_text(exc)) from None
    key = None if args.no_key else read_secret(ctx, f"Nango secret key for “{profile.name}”: ")
    signing_key = read_secret(ctx, "Webhook signing key: ") if args.with_signing_key else None
    if args.check:
        from nango_desktop.services.api import NangoClient

        with NangoClient(profile.api_url, key or ctx.secret_key(profile)) as client:
            client.list_connections(limit=1)
    if key:
        ctx.secrets.set(profile.name, SecretKind.API_KEY, key)
    if signing_key:
        from nango_desktop.services.rotation import store_signing_key

        # a replaced key stays as the previous one for a while (queued or retried webhooks still carry it)
        store_signing_key(ctx.secrets, profile.name, signing_key)
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


MAX_ROWS_HELP = "connection listings stop with an error past N rows (default 500,000; 0 = no ceiling)"
DEADLINE_HELP = "total time one API call may take, retries included (default 60)"


def _limits(args: argparse.Namespace, previous: Profile | None) -> dict:
    """--max-connection-rows / --request-deadline, else the replaced profile's values, else the defaults."""
    out = {}
    for name in ("max_connection_rows", "request_deadline"):
        value = getattr(args, name, None)
        if value is None and previous is not None:
            value = getattr(previous, name)
        if value is not None:
            out[name] = value
    return out


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
            [str(v) for v in ("*" if r["current"] else "", r["name"], r["api_url"], r["environment"], "yes" if r["production"] else "", r["key"])]
            for r in rows
        ]  # fmt: skip
        print_table(ctx.stdout, ["", "NAME", "API URL", "ENVIRONMENT", "PRODUCTION", "KEY"], table)
    return EXIT_OK


def _key_state(ctx: CliContext, name: str) -> str:
    try:
        return "stored" if ctx.secrets.get(name, SecretKind.API_KEY) else "missing"
    except SecretStoreUnavailable:
        return "keyring unavailable"


def cmd_profile_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    if not ctx.settings.remove(args.name):
        raise unknown_profile(ctx, args.name)
    ctx.save()
    try:
        ctx.secrets.delete_profile(args.name)
    except SecretStoreUnavailable as exc:
        ctx.warn(f"the profile was removed but its keys could not be deleted from the keyring: {exc}")
    ctx.print(f"Profile “{args.name}” removed.")
    return EXIT_OK


def cmd_profile_use(args: argparse.Namespace, ctx: CliContext) -> int:
    if ctx.settings.get(args.name) is None:
        raise unknown_profile(ctx, args.name)
    ctx.settings.current_profile = args.name
    ctx.save()
    ctx.print(f"Current profile: {args.name}")
    return EXIT_OK


def cmd_profile_rotate_signing_key(args: argparse.Namespace, ctx: CliContext) -> int:
    """POST /environment/webhook-signing-key/rotate, then the new key as current and the old as previous."""
    from nango_desktop.services.api import NangoClient
    from nango_desktop.services.rotation import previous_key_expiry, rotate_signing_key

    profile = ctx.settings.get(args.name)
    if profile is None:
        raise unknown_profile(ctx, args.name)
    if args.minutes < 0:
        raise UsageError("Invalid --minutes", "The previous key's overlap must be 0 minutes or more.")
    if profile.production and not args.yes:
        ctx.print(
            f"“{profile.name}” is a production profile: Nango signs the next webhooks with the new key at once."
        )
        print(f"Type the profile name ({profile.name}) to rotate: ", end="", file=ctx.stderr, flush=True)
        answer = ctx.stdin.readline().strip()
        if answer != profile.name:
            raise CliError("Not rotated", "The confirmation did not match the profile name (or use --yes).")
    with NangoClient(profile.api_url, ctx.secret_key(profile)) as client:
        result = rotate_signing_key(client, ctx.secrets, profile.name, minutes=args.minutes)
    ctx.print(result.describe())
    if result.previous_kept:
        expires = previous_key_expiry(profile.name)
        ctx.print(f"Previous key expires in {args.minutes} min" + (" (already stored)." if expires else "."))
    ctx.print("Running listeners verify with the new key from the next webhook on, without a restart.")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
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
        "--url", type=api_url_arg, help="API base URL (default: --api-url or https://api.nango.dev)"
    )
    add.add_argument("--environment", default="dev", help="environment label (default: dev)")
    add.add_argument("--production", action="store_true", help="mark as a production environment")
    add.add_argument("--connect-ui-url", type=api_url_arg, help="Connect UI URL of a self-hosted Nango")
    add.add_argument(
        "--dashboard-url",
        type=api_url_arg,
        help="dashboard for 'Open in Nango' links (default: https://app.nango.dev, or the self-hosted server)",
    )
    add.add_argument("--with-signing-key", action="store_true", help="also read the webhook signing key")
    add.add_argument("--max-connection-rows", type=int, metavar="N", help=MAX_ROWS_HELP)
    add.add_argument("--request-deadline", type=float, metavar="SECONDS", help=DEADLINE_HELP)
    add.add_argument("--no-key", action="store_true", help="store no API key (use NANGO_SECRET_KEY)")
    add.add_argument("--check", action="store_true", help="verify the key against the API before saving")
    add.add_argument("--use", action="store_true", help="make it the current profile")
    add.add_argument("--force", action="store_true", help="replace an existing profile of that name")
    add.set_defaults(func=cmd_profile_add)

    rot = psub.add_parser(
        "rotate-signing-key",
        help="rotate the environment's webhook signing key on Nango and store the new one",
        description="Calls POST /environment/webhook-signing-key/rotate. Nango signs with the new key at "
        "once; the old key is kept as the previous key (OS keyring) for --minutes so webhooks already "
        "queued or being retried still verify (and say they were verified by the previous key).",
    )
    rot.add_argument("name")
    rot.add_argument(
        "--minutes",
        type=int,
        default=60,
        metavar="N",
        help="how long the previous key still verifies (default: 60)",
    )
    rot.add_argument("--yes", action="store_true", help="confirm on a production profile")
    rot.set_defaults(func=cmd_profile_rotate_signing_key)

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
