"""Can the GUI open a window here? Checked before the QApplication exists (issue 12).

Without a display Qt's xcb plugin aborts the process (exit 134) and says only "Could not load the Qt platform
plugin", often with a guess about ``libxcb-cursor0`` even when it is installed. ``display_problem()`` says
what is actually missing instead: the display (``DISPLAY`` / ``WAYLAND_DISPLAY`` unset, or nothing listening
there) or the shared libraries the xcb plugin cannot load (from ``ldd``). It only reports a problem when
every platform Qt could pick is unusable; platforms it does not know (offscreen, vnc, eglfs, ...) pass.

``explain(problem)`` is the text the user sees on stderr, with the README's fix.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

README_SECTION = 'README.md, "Install and run" → "If the GUI does not start"'

# Debian/Ubuntu package of each library Qt's xcb plugin (and Qt itself) loads, for the message.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libXrender.so.1": "libxrender1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
}

# Platforms that need a display server, and how to reach it. Others (offscreen, minimal, vnc, eglfs, linuxfb,
# a custom plugin) are not checked.
_CHECKED = ("xcb", "wayland")


@dataclass
class PlatformProblem:
    platform: str  # "xcb" or "wayland"
    display: str | None = None  # what is wrong with the display, or None
    missing_libraries: list[str] = field(default_factory=list)  # sonames ldd could not find


@dataclass
class DisplayProblem:
    """Every platform Qt could use here is unusable; one entry per platform."""

    requested: str  # QT_QPA_PLATFORM as set ("" when unset)
    platforms: list[PlatformProblem]


def candidate_platforms(env: Mapping[str, str]) -> list[str] | None:
    """The display platforms Qt may pick, or None when it may pick one we do not check."""
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if not requested:
        return ["wayland", "xcb"] if env.get("XDG_SESSION_TYPE") == "wayland" else ["xcb", "wayland"]
    names = [part.split(":", 1)[0].strip() for part in requested.split(";") if part.strip()]
    if not names or any(name not in _CHECKED for name in names):
        return None
    return names


def _connects(family: int, address: object, timeout: float = 1.0) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(address)  # type: ignore[arg-type]
        except OSError:
            return False
    return True


_X_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?$")


def x11_problem(env: Mapping[str, str]) -> str | None:
    display = env.get("DISPLAY", "").strip()
    if not display:
        return "DISPLAY is not set: there is no X server to open the window on"
    match = _X_DISPLAY.match(display)
    if match is None:  # a form we do not parse (launchd path, IPv6, ...): let Qt try
        return None
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"  # noqa: S108 - the X server socket, not a temporary file
        if _connects(socket.AF_UNIX, "\0" + path) or _connects(socket.AF_UNIX, path):
            return None
        return f"DISPLAY={display}, but no X server listens there (nothing answers on {path})"
    if _connects(socket.AF_INET, (host, 6000 + number)) or _connects(socket.AF_INET6, (host, 6000 + number)):
        return None
    return f"DISPLAY={display}, but no X server answers at {host}:{6000 + number}"


def wayland_problem(env: Mapping[str, str]) -> str | None:
    name = env.get("WAYLAND_DISPLAY", "").strip()
    if not name:
        return "WAYLAND_DISPLAY is not set: no Wayland compositor to open the window on"
    if name.startswith("/"):
        path = name
    else:
        runtime = env.get("XDG_RUNTIME_DIR", "").strip()
        if not runtime:
            return f"WAYLAND_DISPLAY={name}, but XDG_RUNTIME_DIR is not set, so its socket cannot be found"
        path = os.path.join(runtime, name)
    if _connects(socket.AF_UNIX, path):
        return None
    return f"WAYLAND_DISPLAY={name}, but no Wayland compositor listens on {path}"


def plugin_path(platform: str) -> Path | None:
    """The platform plugin of the installed Qt (``libqxcb.so``), if present."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    path = plugins / "platforms" / f"libq{platform}.so"
    return path if path.is_file() else None


def parse_ldd(output: str) -> list[str]:
    """Sonames ``ldd`` reports as ``not found`` (each once, in order)."""
    missing: list[str] = []
    for line in output.splitlines():
        name, sep, rest = line.strip().partition("=>")
        if sep and rest.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def missing_libraries(platform: str) -> list[str]:
    """Libraries the plugin (and what it links) cannot load here; [] when none or when ldd is absent."""
    plugin = plugin_path(platform)
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_ldd(done.stdout)


def display_problem(env: Mapping[str, str] | None = None) -> DisplayProblem | None:
    """None when a window can probably open (or we cannot tell); else what is missing for each platform."""
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    candidates = candidate_platforms(env)
    if candidates is None:
        return None
    problems: list[PlatformProblem] = []
    for platform in candidates:
        display = x11_problem(env) if platform == "xcb" else wayland_problem(env)
        libraries = missing_libraries(platform) if display is None or platform == "xcb" else []
        if display is None and not libraries:
            return None  # this one works: Qt can start with it
        problems.append(PlatformProblem(platform, display, libraries))
    return DisplayProblem(env.get("QT_QPA_PLATFORM", "").strip(), problems)


def explain(problem: DisplayProblem) -> str:
    """The message on stderr: what is missing, and what to do."""
    names = {"xcb": "X11 (xcb)", "wayland": "Wayland"}
    chosen = f'QT_QPA_PLATFORM="{problem.requested}"' if problem.requested else "no QT_QPA_PLATFORM"
    lines = [f"nango-desktop: cannot start the GUI: no usable display ({chosen})."]
    packages: list[str] = []
    for item in problem.platforms:
        if item.display:
            lines.append(f"  {names[item.platform]}: {item.display}.")
        if item.missing_libraries:
            lines.append(
                f"  {names[item.platform]}: Qt's {item.platform} platform plugin cannot load "
                + ", ".join(item.missing_libraries)
                + "."
            )
            packages += [DEBIAN_PACKAGES[lib] for lib in item.missing_libraries if lib in DEBIAN_PACKAGES]
    lines.append("What to do:")
    if any(item.display for item in problem.platforms):
        lines.append(
            "  - start it from a desktop session (or over `ssh -X`), or give it a virtual display: "
            "`xvfb-run nango-desktop`;"
        )
    if packages:
        unique = " ".join(dict.fromkeys(packages))
        lines.append(f"  - install the missing libraries (Debian/Ubuntu): sudo apt-get install {unique};")
    elif any(item.missing_libraries for item in problem.platforms):
        lines.append("  - install the missing libraries (your distribution's package search names them);")
    lines.append("  - the command line works without a display: `nango-desktop --help`.")
    lines.append(f"See {README_SECTION}.")
    return "\n".join(lines)


def explain_fatal(message: str) -> str:
    """Qt stopped anyway (a case the check above did not foresee): its reason, and where to look."""
    first = message.strip().splitlines()[0] if message.strip() else "a fatal error"
    return (
        f"nango-desktop: Qt could not start the GUI: {first}\n"
        "Check that a display is available (DISPLAY or WAYLAND_DISPLAY) and that QT_QPA_PLATFORM, if set, "
        "names an installed platform plugin.\n"
        f"See {README_SECTION}."
    )
