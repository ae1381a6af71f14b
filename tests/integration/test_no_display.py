"""Starting the GUI where no window can open: a reason on stderr and exit 1, never Qt's abort (issue 12)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from nango_desktop.qtutil import display
from nango_desktop.qtutil.display import (
    DisplayProblem,
    PlatformProblem,
    candidate_platforms,
    display_problem,
    explain,
    parse_ldd,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="X11/Wayland checks are Linux-only"
)


def start_gui(tmp_path, **env_changes: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["NANGO_DESKTOP_HOME"] = str(tmp_path / "home")
    for key, value in env_changes.items():
        if value is not None:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-m", "nango_desktop"], env=env, capture_output=True, text=True, timeout=120
    )


def free_display_number() -> int:
    """An X display number nothing listens on (no socket file, no abstract socket)."""
    for number in range(200, 400):
        path = f"/tmp/.X11-unix/X{number}"
        if os.path.exists(path):
            continue
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect("\0" + path)
            except OSError:
                return number
    pytest.fail("no free X display number")


def test_xcb_without_display_exits_1_with_the_reason(tmp_path):
    done = start_gui(tmp_path, QT_QPA_PLATFORM="xcb")
    assert done.returncode == 1, done.stderr
    assert "cannot start the GUI: no usable display" in done.stderr
    assert "DISPLAY is not set" in done.stderr
    assert "xvfb-run nango-desktop" in done.stderr and display.README_SECTION in done.stderr
    if not display.missing_libraries("xcb"):  # Qt's libxcb-cursor0 guess is not repeated when it is installed
        assert "libxcb-cursor0" not in done.stderr and "apt-get install" not in done.stderr
    assert "Aborted" not in done.stderr and "core dumped" not in done.stderr
    log = (tmp_path / "home" / "logs" / "nango-desktop.log").read_text(encoding="utf-8")
    assert "DISPLAY is not set" in log  # the log says it too


def test_default_platform_without_any_display_names_both(tmp_path):
    done = start_gui(tmp_path, XDG_SESSION_TYPE="tty")
    assert done.returncode == 1, done.stderr
    assert "DISPLAY is not set" in done.stderr and "WAYLAND_DISPLAY is not set" in done.stderr


def test_display_set_but_no_x_server_there(tmp_path):
    number = free_display_number()
    done = start_gui(tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=f":{number}")
    assert done.returncode == 1, done.stderr
    assert f"DISPLAY=:{number}, but no X server listens there" in done.stderr


def test_a_fatal_qt_error_the_check_does_not_foresee_still_exits_1_with_qt_reason(tmp_path):
    done = start_gui(tmp_path, QT_QPA_PLATFORM="no-such-platform")
    assert done.returncode == 1, done.stderr
    assert "nango-desktop: Qt could not start the GUI:" in done.stderr
    assert "no Qt platform plugin could be initialized" in done.stderr
    assert display.README_SECTION in done.stderr


# -- the check itself --------------------------------------------------------------------------------------


LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd6b5f5000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f5d2c9b0000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5d2c600000)
"""


def test_parse_ldd_lists_each_missing_library_once():
    assert parse_ldd(LDD_OUTPUT) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    assert parse_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_missing_libraries_are_named_with_their_packages(monkeypatch):
    monkeypatch.setattr(display, "missing_libraries", lambda platform: parse_ldd(LDD_OUTPUT))
    problem = display_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ""})
    assert problem == DisplayProblem(
        "xcb",
        [PlatformProblem("xcb", "DISPLAY is not set: there is no X server to open the window on",
                         ["libxcb-cursor.so.0", "libxcb-icccm.so.4"])],
    )  # fmt: skip
    text = explain(problem)
    assert "cannot load libxcb-cursor.so.0, libxcb-icccm.so.4" in text
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in text


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["xcb", "wayland"]),
        ({"XDG_SESSION_TYPE": "wayland"}, ["wayland", "xcb"]),
        ({"QT_QPA_PLATFORM": "xcb"}, ["xcb"]),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, ["wayland", "xcb"]),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, ["xcb"]),
        ({"QT_QPA_PLATFORM": "offscreen"}, None),  # not checked: it needs no display
        ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, None),
        ({"QT_QPA_PLATFORM": "wayland;offscreen"}, None),
    ],
)
def test_candidate_platforms(env, expected):
    assert candidate_platforms(env) == expected


def test_offscreen_is_never_a_problem():
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_a_listening_x_socket_is_a_display(tmp_path, monkeypatch):
    """DISPLAY=:N is usable when something accepts connections on the abstract X socket."""
    number = free_display_number()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(f"\0/tmp/.X11-unix/X{number}")
        server.listen(1)
        assert display.x11_problem({"DISPLAY": f":{number}.0"}) is None
    assert "no X server listens there" in display.x11_problem({"DISPLAY": f":{number}"})


def test_wayland_socket_is_looked_up_in_the_runtime_dir(tmp_path):
    env = {"WAYLAND_DISPLAY": "wayland-test", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert "no Wayland compositor listens on" in display.wayland_problem(env)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "wayland-test"))
        server.listen(1)
        assert display.wayland_problem(env) is None
    assert "XDG_RUNTIME_DIR is not set" in display.wayland_problem({"WAYLAND_DISPLAY": "wayland-0"})
