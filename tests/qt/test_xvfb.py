"""On a real X server (tests/run.sh runs the tests marked xvfb under xvfb-run with QT_QPA_PLATFORM=xcb): the xcb
platform plugin loads, the main window maps, focus and the system clipboard work as a user meets them."""

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

pytestmark = pytest.mark.xvfb


@pytest.fixture
def xcb(qapp):
    if QGuiApplication.platformName() != "xcb":
        pytest.skip(f"needs the xcb platform under Xvfb (running on {QGuiApplication.platformName()!r})")


def test_main_window_maps_and_search_takes_focus(xcb, qtbot, main_window):
    qtbot.waitExposed(main_window)
    main_window.activateWindow()
    main_window.show_page("connections")
    main_window.actions_by_name["actionSearch"].trigger()  # Ctrl+F
    search = main_window.pages["connections"].findChild(QWidget, "connectionsSearch")
    qtbot.waitUntil(search.hasFocus)


def test_system_clipboard_round_trip(xcb, qtbot):
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("nango-desktop xvfb clipboard check")
    qtbot.waitUntil(lambda: clipboard.text() == "nango-desktop xvfb clipboard check")
