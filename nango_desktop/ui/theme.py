"""Fusion style with a palette that follows the system light/dark scheme (QStyleHints.colorScheme).

``apply_theme(app)`` sets the style and palette and re-applies them when the system scheme changes.
``is_dark()`` tells widgets which scheme is active (e.g. to pick banner colours).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

PRODUCTION_RED = "#c62828"
PRODUCTION_TEXT = "#ffffff"

_DARK = {
    QPalette.ColorRole.Window: "#1f2126",
    QPalette.ColorRole.WindowText: "#e6e7ea",
    QPalette.ColorRole.Base: "#16181c",
    QPalette.ColorRole.AlternateBase: "#1c1f24",
    QPalette.ColorRole.ToolTipBase: "#2b2e35",
    QPalette.ColorRole.ToolTipText: "#e6e7ea",
    QPalette.ColorRole.PlaceholderText: "#8b8f98",
    QPalette.ColorRole.Text: "#e6e7ea",
    QPalette.ColorRole.Button: "#2a2d33",
    QPalette.ColorRole.ButtonText: "#e6e7ea",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Light: "#3a3d44",
    QPalette.ColorRole.Midlight: "#32353b",
    QPalette.ColorRole.Mid: "#26292e",
    QPalette.ColorRole.Dark: "#121316",
    QPalette.ColorRole.Shadow: "#000000",
    QPalette.ColorRole.Highlight: "#3d6fd9",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#7aa7ff",
    QPalette.ColorRole.LinkVisited: "#b48cff",
}
_DARK_DISABLED = {
    QPalette.ColorRole.WindowText: "#6c7079",
    QPalette.ColorRole.Text: "#6c7079",
    QPalette.ColorRole.ButtonText: "#6c7079",
    QPalette.ColorRole.Highlight: "#3a3d44",
    QPalette.ColorRole.HighlightedText: "#9a9ea6",
}
_LIGHT_OVERRIDES = {
    QPalette.ColorRole.Highlight: "#2f62d0",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#2456c2",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in _DARK.items():
        palette.setColor(role, QColor(color))
    for role, color in _DARK_DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))
    return palette


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    palette = style.standardPalette() if style is not None else QPalette()
    for role, color in _LIGHT_OVERRIDES.items():
        palette.setColor(role, QColor(color))
    return palette


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def is_dark() -> bool:
    """True when the active palette is dark (window colour darker than its text)."""
    palette = QGuiApplication.palette()
    return (
        palette.color(QPalette.ColorRole.Window).lightness()
        < palette.color(QPalette.ColorRole.WindowText).lightness()
    )


class _SchemeWatcher(QObject):
    """Follows the system scheme while the user's choice is "system" (QStyleHints.colorSchemeChanged)."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self.choice = "system"
        app.styleHints().colorSchemeChanged.connect(self.reapply)

    @Slot()
    def reapply(self, *_args: object) -> None:
        dark = system_is_dark() if self.choice == "system" else self.choice == "dark"
        self._app.setPalette(dark_palette() if dark else light_palette())


def apply_theme(app: QApplication, scheme: str | None = None) -> None:
    """Fusion + palette for the system scheme (``scheme``: "dark"/"light" forces one, for screenshots)."""
    app.setStyle("Fusion")
    dark = system_is_dark() if scheme is None else scheme == "dark"
    app.setPalette(dark_palette() if dark else light_palette())
    if scheme is None and app.findChild(_SchemeWatcher) is None:
        _SchemeWatcher(app)


def set_theme(app: QApplication, choice: str) -> None:
    """The user's choice, applied now and kept: "system" follows the system scheme live, "light"/"dark"
    force one. Widgets that use palette roles follow at once (QEvent.ApplicationPaletteChange)."""
    choice = choice if choice in ("system", "light", "dark") else "system"
    watcher = app.findChild(_SchemeWatcher)
    if watcher is None:
        watcher = _SchemeWatcher(app)
    watcher.choice = choice
    watcher.reapply()


def theme_choice(app: QApplication) -> str:
    watcher = app.findChild(_SchemeWatcher)
    return watcher.choice if watcher is not None else "system"


# -- named colours and status labels: the one place widgets take them from (no hex colour elsewhere in ui/) ----
ERROR = "#e5484d"
WARNING = "#e59a1a"
OK = "#30a46c"
SUCCESS_GREEN = "#1a7f37"  # verified signatures, a listening listener, a delivered forward
FAILURE_RED = "#cf222e"  # invalid signatures, failed webhooks, a listener error
CAUTION_ORANGE = "#bc4c00"  # unsigned webhooks, a non-loopback bind address
MUTED_GREY = "#6e7781"  # no key, not applicable, unchanged
MALFORMED_PURPLE = "#8250df"  # a webhook body that is not what Nango sends
MATCH_HIGHLIGHT = "#ffb3b8"  # background of a search match in the webhook detail
MATCH_TEXT = "#000000"
FALLBACK_TEXT = "#000000"

# connection status: label and colour (Connections table, detail header, Overview)
STATUS_LABELS = {"auth_error": "Auth error", "sync_error": "Sync error", "ok": "OK"}
STATUS_COLORS = {"auth_error": ERROR, "sync_error": WARNING, "ok": OK}
# status icons of the shell (status bar, banners)
ICON_STATUS_COLORS = {"error": ERROR, "warning": WARNING, "ok": OK, "production": ERROR}
ICON_DEFAULT_COLOR = "#d92d20"

# issued link status (value of LinkStatus) -> (label, colour)
LINK_STATUS_TEXT = {
    "pending": ("Waiting for the customer", "#b7791f"),
    "completed": ("Completed", "#2f855a"),
    "failed": ("Failed", "#c53030"),
    "expired": ("Expired", "#718096"),
    "revoked": ("Revoked", "#718096"),
}

# chart series key -> (light scheme colour, dark scheme colour)
SERIES_COLORS: dict[str, tuple[str, str]] = {
    "ok": ("#2e7d32", "#66bb6a"),
    "auth_error": ("#c62828", "#ef5350"),
    "sync_error": ("#ef8f00", "#ffb74d"),
    "auth": ("#1e63c6", "#64a0ff"),
    "sync": ("#00897b", "#4dd0c4"),
    "async_action": ("#7b4fc9", "#b39ddb"),
    "forward": ("#8d6e63", "#bcaaa4"),
    "other": ("#78909c", "#a7b6bf"),
    "failed": ("#d50000", "#ff5252"),
    "pending": ("#1e63c6", "#64a0ff"),
    "completed": ("#2e7d32", "#66bb6a"),
    "expired": ("#8a8f98", "#9ea3ab"),
    "revoked": ("#7b4fc9", "#b39ddb"),
    "created": ("#2f62d0", "#6f9bff"),
}
SERIES_FALLBACK = ("#607d8b", "#90a4ae")

# initials badges of integrations without a logo
BADGE_PALETTE = ("#3e63dd", "#30a46c", "#e5484d", "#8e4ec6", "#f76b15", "#0090ff", "#d6409f", "#12a594")
