"""Non-secret settings: profiles and their listener options, saved as JSON in config_dir().

Secrets (API keys, signing keys) never live here; see ``services/secrets.py``. The file is written
atomically (temp file in the same directory, fsync, ``os.replace``) so a crash mid-save leaves either
the old or the new file. An unreadable file is moved aside to ``profiles.invalid.json`` and reported
through ``Settings.load_problem`` (and the log) instead of being overwritten silently.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

# one rule each, pydantic-free (the CLI reads the settings file with them: settings_lite)
from nango_desktop.settings_lite import SETTINGS_FILE as SETTINGS_FILE
from nango_desktop.settings_lite import normalize_api_url as normalize_api_url
from nango_desktop.settings_lite import settings_path as settings_path
from nango_desktop.store.diskerrors import raising_disk_errors

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_API_URL = "https://api.nango.dev"
CLOUD_API_HOST = "api.nango.dev"
DEFAULT_DASHBOARD_URL = "https://app.nango.dev"  # Nango Cloud's dashboard (packages/webapp)
THEMES = ("system", "light", "dark")
Theme = Literal["system", "light", "dark"]
DEFAULT_LISTENER_PORT = 8765
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}$")


class ListenerSettings(BaseModel):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_LISTENER_PORT, ge=0, le=65535)
    path: str = "/webhooks/nango"
    reject_invalid: bool = False  # False: accept and flag events whose signature does not verify
    reject_unsigned: bool = False
    # A request signed only with the legacy X-Nango-Signature (SHA-256(key + body), open to length extension) is
    # invalid unless this is on: Nango sends X-Nango-Hmac-Sha256 with every webhook (only very old self-hosted
    # servers do not). See services/signing.verify.
    accept_legacy_signatures: bool = False
    max_body_bytes: int = Field(1_048_576, ge=1024)
    forward_to: str | None = None
    public_url: str | None = None
    notify_auth_failures: bool = False
    retention_count: int = Field(50_000, ge=0)
    retention_days: int = Field(30, ge=0)
    # invalid and unsigned events: their own budget, so a flood of them never evicts a verified event
    retention_unverified_count: int = Field(default=5_000, ge=0)
    # Listener tunables (issue 16; the server's own defaults, see services/webhook_server and listener_slots):
    # connections served at once; a quarter of them reserved for requests that arrive complete, at most three
    # quarters of the others for one (non-loopback) address; a connection that sends nothing in
    # first_byte_timeout seconds is closed; requests that do not verify are throttled per address (429).
    max_connections: int = Field(default=64, ge=4, le=1024)
    reserved_share: float = Field(default=0.25, ge=0.05, le=0.75)
    per_peer_share: float = Field(default=0.75, ge=0.05, le=1.0)
    first_byte_timeout: float = Field(default=2.0, ge=0.1, le=10.0)  # at most the idle timeout (10 s)
    unverified_rate: float = Field(default=10.0, ge=0.1, le=10_000.0)  # per second and address
    unverified_burst: int = Field(default=100, ge=1, le=100_000)

    @field_validator("path")
    @classmethod
    def _path_starts_with_slash(cls, value: str) -> str:
        value = value.strip() or "/"
        return value if value.startswith("/") else "/" + value


class Profile(BaseModel):
    name: str
    api_url: str = DEFAULT_API_URL
    environment: str = "dev"
    production: bool = False
    listener: ListenerSettings = Field(default_factory=ListenerSettings)  # type: ignore[arg-type]  # pydantic fills the defaults
    connect_ui_url: str | None = None
    # Where "Open in Nango" links point. None: Nango Cloud's dashboard for the cloud API, the API's own
    # server for a self-hosted one (a self-hosted Nango serves its dashboard next to its API).
    dashboard_url: str | None = None
    # Listings of connections stop with a clear error past this many rows (0 = no ceiling): a server whose
    # pages never end cannot take the machine's memory (services/pagination.py).
    max_connection_rows: int = Field(default=500_000, ge=0)
    # Total seconds one API call may take, all retries and waits included (services/api.py).
    request_deadline: float = Field(default=60.0, ge=1.0, le=3600.0)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        value = value.strip()
        if not PROFILE_NAME_RE.match(value):
            raise ValueError(
                "profile name must be 1-64 characters: letters, digits, spaces and . _ @ + -, "
                "starting with a letter or digit"
            )
        return value

    @field_validator("api_url")
    @classmethod
    def _valid_api_url(cls, value: str) -> str:
        return normalize_api_url(value)

    @field_validator("connect_ui_url")
    @classmethod
    def _valid_connect_ui_url(cls, value: str | None) -> str | None:
        return normalize_api_url(value) if value and value.strip() else None

    @field_validator("dashboard_url")
    @classmethod
    def _valid_dashboard_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        try:
            return normalize_api_url(value)
        except ValueError:
            raise ValueError(
                f"dashboard URL must look like https://app.nango.dev or http://host:port, not {value!r}"
            ) from None

    @property
    def dashboard_base(self) -> str:
        """The dashboard "Open in Nango" links use (see ``dashboard_url``)."""
        if self.dashboard_url:
            return self.dashboard_url
        return self.api_url if self.is_self_hosted else DEFAULT_DASHBOARD_URL

    @property
    def is_self_hosted(self) -> bool:
        return (urlsplit(self.api_url).hostname or "").lower() != CLOUD_API_HOST


class Settings(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    schema_version: int = SCHEMA_VERSION
    profiles: list[Profile] = Field(default_factory=list)
    current_profile: str | None = None
    theme: Theme = "system"  # colour scheme of the GUI: follow the system, or force light / dark
    # Set by load_settings when the file could not be used (the GUI shows it once); never saved.
    _load_problem: str | None = PrivateAttr(default=None)

    @field_validator("theme", mode="before")
    @classmethod
    def _known_theme(cls, value: object) -> object:
        """An unknown theme (a newer version's, a hand edit) falls back to "system" instead of costing the
        whole settings file."""
        if value not in THEMES:
            log.warning("Unknown theme %r in the settings; using the system's", value)
            return "system"
        return value

    @property
    def load_problem(self) -> str | None:
        return self._load_problem

    def get(self, name: str | None) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None) if name else None

    def current(self) -> Profile | None:
        return self.get(self.current_profile) or (self.profiles[0] if self.profiles else None)

    def names(self) -> list[str]:
        return [p.name for p in self.profiles]

    def upsert(self, profile: Profile) -> None:
        """Add ``profile`` or replace the one with the same name (keeping its position)."""
        for i, existing in enumerate(self.profiles):
            if existing.name == profile.name:
                self.profiles[i] = profile
                return
        self.profiles.append(profile)
        if self.current_profile is None:
            self.current_profile = profile.name

    def remove(self, name: str) -> bool:
        before = len(self.profiles)
        self.profiles = [p for p in self.profiles if p.name != name]
        if self.current_profile == name:
            self.current_profile = self.profiles[0].name if self.profiles else None
        return len(self.profiles) != before


def _migrate(data: dict) -> dict:
    """Bring an older file up to SCHEMA_VERSION (no older versions exist yet)."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"bad schema_version {version!r}")
    if version > SCHEMA_VERSION:
        log.warning(
            "Settings file has schema_version %s, newer than %s; unknown fields ignored",
            version,
            SCHEMA_VERSION,
        )
    data["schema_version"] = SCHEMA_VERSION
    return data


def load_settings(path: Path | None = None) -> Settings:
    """Load the settings; a missing file gives defaults, an invalid one is kept aside and reported."""
    path = Path(path) if path is not None else settings_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("top level is not a JSON object")
        settings = Settings.model_validate(_migrate(data))
    except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        aside = path.with_name(path.stem + ".invalid.json")
        os.replace(path, aside)
        problem = f"The settings file {path} could not be read and was moved to {aside.name}: {_short(exc)}"
        log.warning("%s", problem)
        settings = Settings()
        settings._load_problem = problem
    return settings


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{exc.error_count()} error(s), first at {where or 'top level'}: {first.get('msg')}"
    return str(exc)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a crash leaves either the old file or the new one, never a mix."""
    path = Path(path) if path is not None else settings_path()
    data = settings.model_dump_json(indent=2).encode() + b"\n"
    with raising_disk_errors(path):  # "Disk full at PATH" / "PATH is read-only", not a raw OSError
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)
    _remove_stale_temps(path)


STALE_TEMP_AGE = 60.0  # seconds: older temp files are left over from a crashed save, not a save under way


def _remove_stale_temps(path: Path) -> None:
    """Delete temp files a killed save left behind (`.<name>.*.tmp`); never a recent one of another writer."""
    now = time.time()
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > STALE_TEMP_AGE:
                tmp.unlink()
        except OSError:
            pass


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
