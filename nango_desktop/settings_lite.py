"""Reading the settings file without pydantic, for CLI commands that only need a profile's address and limits.

Importing pydantic and building the settings models costs ~100 ms, most of a short command's start (e.g.
``connections list``). :func:`read_settings` returns the same profiles :func:`nango_desktop.settings.load_settings`
would, or ``None`` whenever it is not certain of that: a value of another JSON type than the field's plain
one, out of its range, a name or URL a validator would change or reject, a newer schema, an unknown theme.
The caller then uses ``load_settings`` itself, which also moves an invalid file aside and reports it: so a
file either reads the same both ways or goes through pydantic (tests compare both on sample files, and the
field table below with the models' own fields).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from nango_desktop import paths

SCHEMA_VERSION = 1
SETTINGS_FILE = "profiles.json"
DEFAULT_API_URL = "https://api.nango.dev"
THEMES = ("system", "light", "dark")
DEFAULT_LISTENER_PORT = 8765
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}$")
DEFAULT_MAX_CONNECTION_ROWS = 500_000
DEFAULT_REQUEST_DEADLINE = 60.0


def normalize_api_url(value: str) -> str:
    """Return ``value`` without trailing slashes; raise ValueError unless it is an http(s) URL with a host."""
    url = (value or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"API URL must look like https://api.nango.dev or http://host:port, not {value!r}")
    if parts.query or parts.fragment:
        raise ValueError("API URL must not contain a query string or fragment")
    return url


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


# Field tables: name -> (kind, low, high). Kinds: "str", "str?" (str or null), "bool", "int", "float".
# Checked against the pydantic models by tests/unit/test_settings_lite.py.
LISTENER_FIELDS: dict[str, tuple[str, float | None, float | None]] = {
    "enabled": ("bool", None, None),
    "host": ("str", None, None),
    "port": ("int", 0, 65535),
    "path": ("str", None, None),
    "reject_invalid": ("bool", None, None),
    "reject_unsigned": ("bool", None, None),
    "accept_legacy_signatures": ("bool", None, None),
    "max_body_bytes": ("int", 1024, None),
    "forward_to": ("str?", None, None),
    "public_url": ("str?", None, None),
    "notify_auth_failures": ("bool", None, None),
    "retention_count": ("int", 0, None),
    "retention_days": ("int", 0, None),
    "retention_unverified_count": ("int", 0, None),
    "max_connections": ("int", 4, 1024),
    "reserved_share": ("float", 0.05, 0.75),
    "per_peer_share": ("float", 0.05, 1.0),
    "first_byte_timeout": ("float", 0.1, 10.0),
    "unverified_rate": ("float", 0.1, 10_000.0),
    "unverified_burst": ("int", 1, 100_000),
}
PROFILE_FIELDS: dict[str, tuple[str, float | None, float | None]] = {
    "name": ("str", None, None),
    "api_url": ("str", None, None),
    "environment": ("str", None, None),
    "production": ("bool", None, None),
    "listener": ("listener", None, None),
    "connect_ui_url": ("str?", None, None),
    "dashboard_url": ("str?", None, None),
    "max_connection_rows": ("int", 0, None),
    "request_deadline": ("float", 1.0, 3600.0),
}
SETTINGS_FIELDS = ("schema_version", "profiles", "current_profile", "theme")


@dataclass(frozen=True)
class LiteProfile:
    """What a command needs to call the API: the profile's name (its key in the keyring), address, limits."""

    name: str
    api_url: str = DEFAULT_API_URL
    max_connection_rows: int = DEFAULT_MAX_CONNECTION_ROWS
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    environment: str = "dev"  # the GUI's first frame shows "name (environment)" and marks production
    production: bool = False

    def with_api_url(self, api_url: str) -> LiteProfile:
        return replace(self, api_url=api_url)


@dataclass(frozen=True)
class LiteSettings:
    profiles: tuple[LiteProfile, ...] = ()
    current_profile: str | None = None
    theme: str = "system"
    load_problem: None = None  # a file with a problem is never read here (load_settings reports it)

    def get(self, name: str | None) -> LiteProfile | None:
        return next((p for p in self.profiles if p.name == name), None) if name else None


class _Unsure(Exception):
    """This file needs pydantic's reading (to be read the same way, or to report its problem)."""


def read_settings(path: Path) -> LiteSettings | None:
    """The profiles of the settings file at ``path`` (none when it does not exist), or None when
    ``load_settings`` must read it (see the module docstring)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LiteSettings()
    except OSError:
        return None  # load_settings raises or reports the same error
    try:
        data = json.loads(raw)
        return _settings(data)
    except (ValueError, _Unsure, RecursionError):
        return None


def _settings(data: object) -> LiteSettings:
    if not isinstance(data, dict):
        raise _Unsure
    version = data.get("schema_version", 1)
    if type(version) is not int or not 1 <= version <= SCHEMA_VERSION:
        raise _Unsure  # bad, or newer (load_settings logs that)
    if data.get("theme", "system") not in THEMES:
        raise _Unsure  # load_settings logs the unknown theme
    current = data.get("current_profile")
    if current is not None and type(current) is not str:
        raise _Unsure
    profiles = data.get("profiles", [])
    if type(profiles) is not list:
        raise _Unsure
    return LiteSettings(tuple(_profile(p) for p in profiles), current, data.get("theme", "system"))


def _profile(data: object) -> LiteProfile:
    if type(data) is not dict:
        raise _Unsure
    if "name" not in data:
        raise _Unsure
    for field, (kind, low, high) in PROFILE_FIELDS.items():
        if field in data:
            if kind == "listener":
                _listener(data[field])
            else:
                _check(data[field], kind, low, high)
    name = data["name"]
    if name != name.strip() or not PROFILE_NAME_RE.match(name):
        raise _Unsure  # the validator would change or reject it
    api_url = data.get("api_url", DEFAULT_API_URL)
    for field in ("api_url", "connect_ui_url", "dashboard_url"):
        value = data.get(field)
        if value is None or (field != "api_url" and not value.strip()):
            if field != "api_url" and value is not None:
                raise _Unsure  # blank: the validator turns it into None
            continue
        try:
            if normalize_api_url(value) != value:
                raise _Unsure
        except ValueError:
            raise _Unsure from None
    return LiteProfile(
        name=name,
        api_url=api_url,
        max_connection_rows=data.get("max_connection_rows", DEFAULT_MAX_CONNECTION_ROWS),
        request_deadline=float(data.get("request_deadline", DEFAULT_REQUEST_DEADLINE)),
        environment=data.get("environment", "dev"),
        production=data.get("production", False),
    )


def _listener(data: object) -> None:
    if type(data) is not dict:
        raise _Unsure
    for field, (kind, low, high) in LISTENER_FIELDS.items():
        if field in data:
            _check(data[field], kind, low, high)
    path = data.get("path")
    if path is not None and (path != path.strip() or not path.startswith("/")):
        raise _Unsure


def _check(value: object, kind: str, low: float | None, high: float | None) -> None:
    if kind == "str?":
        if value is not None and type(value) is not str:
            raise _Unsure
        return
    if kind == "str":
        ok = type(value) is str
    elif kind == "bool":
        ok = type(value) is bool
    elif kind == "int":
        ok = type(value) is int
    else:  # float: a JSON number (an int is accepted as the same float)
        ok = type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]
    if not ok:
        raise _Unsure
    if (low is not None and value < low) or (high is not None and value > high):  # type: ignore[operator]
        raise _Unsure
