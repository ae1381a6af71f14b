"""What the main window's first frame shows before the app's context exists (``app.Startup``): read from the
settings file without pydantic (``settings_lite``), so the shell paints before the settings models are built."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShellProfile:
    name: str
    environment: str = "dev"
    production: bool = False


@dataclass(frozen=True)
class Shell:
    """What the first frame shows before the settings are read into their models and the context exists
    (``app`` reads it with ``settings_lite``): the theme, the profiles in the switcher, the current one."""

    theme: str = "system"
    profiles: tuple[ShellProfile, ...] = ()
    current: str | None = None
