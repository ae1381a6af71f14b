"""Where Nango Desktop keeps its files.

``NANGO_DESKTOP_HOME`` overrides the base directory (tests, portable installs):
``<home>/config``, ``<home>/data``, ``<home>/logs``, ``<home>/cache``. Otherwise the platform's
directories (platformdirs) are used. Every function creates its directory before returning it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_DIR_NAME = "nango-desktop"
HOME_ENV = "NANGO_DESKTOP_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        # Our files are not secret, but they are nobody else's business either.
        try:
            path.chmod(0o700)
        except OSError:
            pass
    return path


def _resolve(sub: str, platform_path) -> Path:
    home = _home()
    return _ensure(home / sub if home else platform_path(APP_DIR_NAME, appauthor=False))


def config_dir() -> Path:
    return _resolve("config", platformdirs.user_config_path)


def data_dir() -> Path:
    return _resolve("data", platformdirs.user_data_path)


def log_dir() -> Path:
    return _resolve("logs", platformdirs.user_log_path)


def cache_dir() -> Path:
    return _resolve("cache", platformdirs.user_cache_path)
