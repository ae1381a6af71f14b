"""What every CLI command module shares: errors, the context (settings, secrets, profile, client), argument
types and plain-text output helpers. Qt-free."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from nango_desktop.services.secrets import SecretKind, SecretStore
from nango_desktop.settings_lite import (
    LiteProfile,
    LiteSettings,
    normalize_api_url,
    read_settings,
    settings_path,
)

if TYPE_CHECKING:
    from nango_desktop.services.api import NangoClient
    from nango_desktop.settings import Profile, Settings

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
        self._settings = settings
        self._lite: LiteSettings | None = None
        self.secrets = secrets if secrets is not None else SecretStore()
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.stdin = stdin or sys.stdin

    @property
    def settings(self) -> Settings:
        """The settings file read through the pydantic models (loaded when first used)."""
        if self._settings is None:
            from nango_desktop.settings import load_settings

            self._settings = load_settings()
            self._lite = None
        return self._settings

    def load_problem(self) -> str | None:
        """Why the settings file could not be used (it was moved aside), or None. Reads the file without
        pydantic when it can (``settings_lite``); a file it is unsure of goes through ``load_settings``."""
        if self._settings is None and self._lite_settings() is not None:
            return None
        return self.settings.load_problem

    def save(self) -> None:
        from nango_desktop.settings import save_settings

        save_settings(self.settings)

    def _lite_settings(self) -> LiteSettings | None:
        if self._lite is None and self._settings is None:
            self._lite = read_settings(settings_path())
        return self._lite

    def profile(self) -> Profile:
        """--profile, else $NANGO_DESKTOP_PROFILE, else the current profile.

        With --api-url and no --profile: an ad-hoc profile whose key comes only from NANGO_SECRET_KEY (a
        stored key is never sent to a URL given on the command line unless its profile is named).
        """
        from nango_desktop.settings import Profile

        return self._select(
            self.settings,
            lambda url: Profile(name=ADHOC_PROFILE, api_url=url),
            lambda profile, url: profile.model_copy(update={"api_url": url}),
        )

    def api_profile(self) -> Profile | LiteProfile:
        """The profile to call the API with (``profile()``'s choice), read without pydantic when possible."""
        lite = self._lite_settings() if self._settings is None else None
        if lite is None:
            return self.profile()
        return self._select(lite, lambda url: LiteProfile(ADHOC_PROFILE, url), LiteProfile.with_api_url)

    def _select(self, settings: Any, adhoc: Any, with_url: Any) -> Any:
        name = getattr(self.args, "profile", None)
        api_url = getattr(self.args, "api_url", None)
        if api_url and not name:
            return adhoc(api_url)
        name = name or os.environ.get(PROFILE_ENV) or settings.current_profile
        profile = settings.get(name)
        if profile is None:
            if name:
                raise unknown_profile(self, name)
            raise CliError(
                "No profile is set up",
                f"Add one with `{PROG} profile add NAME`, or pass --api-url URL with NANGO_SECRET_KEY set.",
            )
        return with_url(profile, api_url) if api_url else profile

    def secret_key(self, profile: Profile | LiteProfile) -> str:
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

        profile = self.api_profile()
        deadline = getattr(self.args, "deadline", None) or profile.request_deadline
        return NangoClient(
            profile.api_url,
            self.secret_key(profile),
            deadline=deadline,
            max_rows=profile.max_connection_rows,
        )

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


def api_url_arg(value: str) -> str:
    try:
        return normalize_api_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def deadline_arg(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"the deadline must be between 1 and 3600 seconds, not {value!r}")
    return seconds


def tag_arg(value: str) -> tuple[str, str]:
    key, sep, tag_value = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"tags are KEY=VALUE, not {value!r}")
    return key.strip().lower(), tag_value.strip()


def page_size_arg(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"page size must be 1..{MAX_PAGE_SIZE}, not {value!r}")
    return size


def tags_arg(pairs: Sequence[tuple[str, str]] | None, *, validate: bool) -> dict[str, str]:
    tags = dict(pairs or ())
    if validate and tags:
        from nango_desktop.domain.tags import validate_tags

        problems = validate_tags(tags)
        if problems:
            raise UsageError("Invalid tags", "\n".join(problems))
    return tags


def read_secret(ctx: CliContext, prompt: str) -> str:
    """A hidden prompt on a terminal; otherwise one line of stdin. Never an argument."""
    if ctx.stdin.isatty():
        value = getpass.getpass(prompt, stream=ctx.stderr)  # type: ignore[arg-type]  # a text stream
    else:
        value = ctx.stdin.readline()
    value = value.strip()
    if not value:
        raise UsageError("No key given", "Type the key at the prompt or pipe it on stdin (one line per key).")
    return value


def unknown_profile(ctx: CliContext, name: str) -> CliError:
    return CliError(
        f"No profile named “{name}”", f"Known profiles: {', '.join(ctx.settings.names()) or 'none'}."
    )


def print_table(out: IO[str], header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(cell(r[i])) for r in rows)]) for i, h in enumerate(header)]
    for line in (header, *rows):
        print("  ".join(cell(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip(), file=out)


def cell(value: Any) -> str:
    return " ".join(str(value).split())  # no newlines/tabs inside a cell


def scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def print_pairs(out: IO[str], pairs: Sequence[tuple[str, str]]) -> None:
    width = max((len(k) for k, _ in pairs), default=0) + 1
    for key, value in pairs:
        print(f"{(key + ':').ljust(width)} {value}", file=out)


def validation_text(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
    return str(exc)


def report(stderr: IO[str], title: str, detail: str) -> None:
    from nango_desktop.logsetup import redact

    print(f"Error: {redact(title)}", file=stderr)
    if detail:
        print(redact(detail), file=stderr)
