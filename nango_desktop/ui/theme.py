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
