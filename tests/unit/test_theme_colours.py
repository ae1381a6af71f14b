"""Colours and status labels live in ui/theme.py (issue 13): no hex colour is spelled anywhere else in ui/."""

from __future__ import annotations

import re
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "nango_desktop" / "ui"
HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def test_no_hex_colour_outside_the_theme():
    found = {
        f"{path.relative_to(UI).as_posix()}:{n}": line.strip()
        for path in sorted(UI.rglob("*.py"))
        if path.name not in ("theme.py", "resources_rc.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if HEX.search(line)
    }
    assert found == {}, "take colours from nango_desktop.ui.theme"


def test_the_theme_names_every_connection_and_link_status():
    from nango_desktop.domain.links import LinkStatus
    from nango_desktop.ui import theme

    assert set(theme.STATUS_LABELS) == set(theme.STATUS_COLORS) == {"ok", "auth_error", "sync_error"}
    assert set(theme.LINK_STATUS_TEXT) == {s.value for s in LinkStatus}
