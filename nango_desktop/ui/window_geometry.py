"""The main window's geometry and state between runs (window.ini via QSettings: never secrets, never settings):
the first window fitted to the screen, the last size, position, maximised state and sidebar width restored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QMargins, QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QWidget

from nango_desktop import paths

WINDOW_STATE_FILE = "window.ini"
DESIGN_SIZE = QSize(1280, 800)  # the first window, when the screen has room for it
FRAME_ALLOWANCE = QMargins(8, 40, 8, 8)  # title bar and borders, before the window manager tells us
COLLAPSE_SIDEBAR_BELOW = 1200  # first start on a narrower screen: icons-only sidebar


def window_settings() -> QSettings:
    """QSettings for window geometry/state only, in our config dir (never secrets, never app settings)."""
    return QSettings(str(paths.config_dir() / WINDOW_STATE_FILE), QSettings.Format.IniFormat)


def first_start_geometry(available: QRect, frame: QMargins = FRAME_ALLOWANCE) -> QRect:
    """The client area of the first window: DESIGN_SIZE or less so that the whole frame (title bar, borders)
    fits in ``available`` (the screen minus panels and docks), centred."""
    width = min(DESIGN_SIZE.width(), available.width() - frame.left() - frame.right())
    height = min(DESIGN_SIZE.height(), available.height() - frame.top() - frame.bottom())
    outer_w = width + frame.left() + frame.right()
    outer_h = height + frame.top() + frame.bottom()
    x = available.x() + (available.width() - outer_w) // 2 + frame.left()
    y = available.y() + (available.height() - outer_h) // 2 + frame.top()
    return QRect(x, y, width, height)


def _available_geometry(widget: QWidget) -> QRect:
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)


_Base = QMainWindow if TYPE_CHECKING else object


class WindowGeometry(_Base):  # type: ignore[misc,valid-type]
    """A mixin of ``MainWindow`` (a QMainWindow with ``set_sidebar_compact`` / ``sidebar_compact``)."""

    restore_maximized = False
    if TYPE_CHECKING:

        def set_sidebar_compact(self, compact: bool) -> None: ...

        def sidebar_compact(self) -> bool: ...

    def restore_window_state(self) -> bool:
        store = window_settings()
        geometry = store.value("geometry")
        state = store.value("windowState")
        restored = isinstance(geometry, QByteArray | bytes) and self.restoreGeometry(geometry)
        if isinstance(state, QByteArray | bytes):
            self.restoreState(state)
        self.restore_maximized = restored and _as_bool(store.value("maximized"))
        available = _available_geometry(self)
        if not restored:
            self.setGeometry(first_start_geometry(available))
        compact = store.value("sidebarCompact")
        self.set_sidebar_compact(
            _as_bool(compact) if compact is not None else available.width() < COLLAPSE_SIDEBAR_BELOW
        )
        return bool(restored)

    def show_restored(self) -> None:
        """Show as last time: maximised if it was (restoreGeometry alone does not survive every window
        manager), else at the restored or first-start geometry."""
        if self.restore_maximized:
            self.showMaximized()
        else:
            self.show()

    def save_window_state(self) -> None:
        store = window_settings()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("windowState", self.saveState())
        store.setValue("maximized", self.isMaximized())
        store.setValue("sidebarCompact", self.sidebar_compact())
        store.sync()


def _as_bool(value: object) -> bool:
    """QSettings (INI) gives booleans back as "true"/"false" strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
