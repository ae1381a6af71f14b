"""Command line interface (Qt-free): profiles, connections, connect links, and the webhook commands.

``nango-desktop`` without a subcommand starts the GUI. Global options come before the subcommand:
``nango-desktop --api-url http://127.0.0.1:3003 connections list``. Exit codes: 0 ok, 2 usage, 1 API or
other error with "Error: <title>" and the detail on stderr. Keys are read from a hidden prompt or from
stdin, never from arguments (they would end up in shell history and ``ps``).

One module per command group (``profiles``, ``connections``, ``links``, ``webhooks``), each with a
``register(subparsers)``; ``common`` holds what they share. A new group is a module plus one line in
``COMMAND_GROUPS``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import IO

from nango_desktop import __version__
from nango_desktop.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    PROFILE_ENV,
    PROG,
    CliContext,
    CliError,
    UsageError,
    api_url_arg,
    deadline_arg,
    report,
)
from nango_desktop.cli.connections import CSV_COLUMNS, TABLE_COLUMNS
from nango_desktop.services.errors import NangoError
from nango_desktop.services.secrets import SecretStoreUnavailable
from nango_desktop.store.diskerrors import classify

__all__ = [
    "CSV_COLUMNS",
    "PROFILE_ENV",
    "TABLE_COLUMNS",
    "CliContext",
    "CliError",
    "UsageError",
    "build_parser",
    "main",
]

log = logging.getLogger(__name__)

# Command groups, in --help order. Optional ones (their import may fail) are skipped with a debug log.
COMMAND_GROUPS: tuple[tuple[str, bool], ...] = (
    ("nango_desktop.cli.profiles", False),
    ("nango_desktop.cli.connections", False),
    ("nango_desktop.cli.links", False),
    ("nango_desktop.cli.webhooks", True),
    ("nango_desktop.cli.records", False),
    ("nango_desktop.cli.syncs", False),
    ("nango_desktop.cli.actions", False),
    ("nango_desktop.cli.proxy", False),
)


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
        type=api_url_arg,
        help="Nango API base URL (alone: an ad-hoc profile, key from NANGO_SECRET_KEY)",
    )
    parser.add_argument(
        "--deadline",
        type=deadline_arg,
        metavar="SECONDS",
        help="total time one API call may take, retries included (default: the profile's, 60 s)",
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


# The top-level commands each group registers, so that a command imports only its own group (the
# others pull in pydantic models, SQLite stores...: ~50 ms on the way to a listing's first byte or the
# GUI's first paint). A group missing here is always imported (safe default).
GROUP_COMMANDS: dict[str, tuple[str, ...]] = {
    "nango_desktop.cli.profiles": ("profile",),
    "nango_desktop.cli.connections": ("connections",),
    "nango_desktop.cli.links": ("link",),
    "nango_desktop.cli.webhooks": ("listen", "events"),
    "nango_desktop.cli.records": ("records",),
    "nango_desktop.cli.syncs": ("syncs",),
    "nango_desktop.cli.actions": ("action",),
    "nango_desktop.cli.proxy": ("proxy",),
}
_VALUED_GLOBALS = frozenset({"--profile", "--api-url"})  # global options that take a value


def _wanted_groups(argv: Sequence[str] | None) -> set[str] | None:
    """The group modules ``argv`` needs: None (all) for help, an unknown command or no argv; only the
    command's group; none when no command is given (the GUI, --smoke-test, --version)."""
    if argv is None:
        return None
    args = list(argv)
    skip = False
    command = None
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("-h", "--help"):
            return None
        if arg in _VALUED_GLOBALS:
            skip = True
            continue
        if arg == "--":
            return None
        if not arg.startswith("-"):
            command = arg
            break
    if command is None:
        return set()
    modules = {module for module, names in GROUP_COMMANDS.items() if command in names}
    if not modules:
        return None  # a typo or a group not listed: every group, so argparse names the choices
    return modules


def _register_groups(sub: argparse._SubParsersAction, wanted: set[str] | None = None) -> None:
    for module_name, optional in COMMAND_GROUPS:
        if wanted is not None and module_name in GROUP_COMMANDS and module_name not in wanted:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if not optional:
                raise
            # e.g. the webhook commands: the rest of the CLI must still work without them
            log.debug("Commands of %s unavailable: %s", module_name, exc)
            continue
        module.register(sub)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, only with the command group(s) it needs (``_wanted_groups``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Nango Desktop: without a command, start the GUI. Global options go before the command.",
        epilog="Environment: NANGO_SECRET_KEY, NANGO_WEBHOOK_SIGNING_KEY override stored keys; "
        "NANGO_DESKTOP_PROFILE selects a profile; NANGO_DESKTOP_HOME moves all files.",
    )
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_groups(sub, _wanted_groups(argv))
    return parser


# -- main ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
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
            report(sys.stderr, exc.title, exc.detail)
            return exc.exit_code

    from nango_desktop.logsetup import setup_logging

    setup_logging(logging.DEBUG if args.verbose else logging.INFO, console=args.verbose)
    stdout, stderr = sys.stdout, sys.stderr
    try:
        ctx = CliContext(args, stdin=stdin)
        load_problem = ctx.load_problem()
        if load_problem:
            ctx.warn(load_problem)
        return args.func(args, ctx)
    except CliError as exc:
        report(stderr, exc.title, exc.detail)
        return exc.exit_code
    except (NangoError, SecretStoreUnavailable) as exc:
        log.warning("%s failed: %s", args.command, exc)
        report(stderr, exc.title, exc.detail)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted", file=stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader is gone; stop quietly
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        problem = classify(exc)  # full disk, read-only or locked file: say which file and why
        if problem is not None:
            log.warning("%s failed: %s", args.command, problem)
            report(stderr, problem.title, problem.detail)
            return EXIT_ERROR
        log.exception("Unexpected error in %s", args.command)
        report(stderr, "Unexpected error", f"{type(exc).__name__}: {exc}")
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
