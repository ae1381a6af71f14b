"""Window layout rules (issue 17): first start fits the screen, maximised state and compact sidebar are
restored, the theme choice applies live and is saved, the toolbar does not re-flow, a fixed listener error
leaves the banner."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMargins, QRect
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from nango_desktop.settings import load_settings
from nango_desktop.ui import main_window as mw
from nango_desktop.ui import theme, window_geometry
from tests.qt.test_shell import FakePage  # noqa: F401 - the fake pages' module is test_shell


@pytest.fixture
def fake_pages(monkeypatch):
    specs = tuple(
        mw.PageSpec(s.key, s.title, s.icon, "tests.qt.test_shell", "FakePage") for s in mw.PAGE_SPECS
    )
    monkeypatch.setattr(mw, "PAGE_SPECS", specs)
    return specs


@pytest.fixture
def screen_1280x800(monkeypatch):
    available = QRect(0, 0, 1280, 800 - 32)  # a 32 px panel at the bottom, as on a laptop
    monkeypatch.setattr(window_geometry, "_available_geometry", lambda _w: available)
    return available


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        (QRect(0, 0, 1280, 768), QRect(8, 40, 1264, 720)),  # 1280x800 minus a panel: everything on screen
        (QRect(0, 0, 1024, 700), QRect(8, 40, 1008, 652)),
        (QRect(0, 0, 1920, 1050), QRect(320, 141, 1280, 800)),  # room to spare: design size, centred
        (QRect(1920, 24, 1440, 876), QRect(1920 + 72 + 8, 24 + 14 + 40, 1280, 800)),  # second screen
    ],
)
def test_first_start_geometry_keeps_the_frame_on_screen(available, expected):
    got = mw.first_start_geometry(available)
    assert got == expected
    outer = got.marginsAdded(mw.FRAME_ALLOWANCE)
    assert available.contains(outer)


def test_first_window_fits_a_1280x800_screen_with_its_status_bar(
    qtbot, fake_pages, profile_ctx, screen_1280x800
):
    window = mw.MainWindow(profile_ctx)
    qtbot.addWidget(window)
    window.show_restored()
    qtbot.waitExposed(window)
    assert screen_1280x800.contains(window.geometry().marginsAdded(QMargins(0, 1, 0, 0)))
    status = window.statusBar()
    assert status.isVisible()
    bottom_left = status.mapTo(window, status.rect().bottomLeft())
    assert window.rect().contains(bottom_left)
    assert window.sidebar_compact() is False  # 1280 wide: room for the names


def test_narrow_first_start_gets_a_compact_sidebar_and_the_choice_is_kept(
    qtbot, fake_pages, profile_ctx, monkeypatch
):
    monkeypatch.setattr(window_geometry, "_available_geometry", lambda _w: QRect(0, 0, 1024, 700))
    first = mw.MainWindow(profile_ctx)
    qtbot.addWidget(first)
    assert first.sidebar_compact() is True
    assert first.nav_list.width() == mw.SIDEBAR_COLLAPSED_WIDTH
    assert first.nav_list.item(1).text() == "" and "Connections" in first.nav_list.item(1).toolTip()
    first.action_toggle_sidebar.trigger()  # the user wants the names back
    assert first.nav_list.width() == mw.SIDEBAR_WIDTH and first.nav_list.item(1).text() == "Connections"
    first.close()
    second = mw.MainWindow(profile_ctx)
    qtbot.addWidget(second)
    assert second.sidebar_compact() is False  # remembered, not recomputed from the screen


def test_maximised_window_is_restored_maximised(qtbot, fake_pages, profile_ctx, screen_1280x800):
    first = mw.MainWindow(profile_ctx)
    qtbot.addWidget(first)
    first.showMaximized()
    qtbot.waitUntil(first.isMaximized)
    first.close()
    second = mw.MainWindow(profile_ctx)
    qtbot.addWidget(second)
    assert second.restore_maximized
    second.show_restored()
    qtbot.waitUntil(second.isMaximized)
    second.showNormal()
    qtbot.waitUntil(lambda: not second.isMaximized())
    second.close()
    third = mw.MainWindow(profile_ctx)
    qtbot.addWidget(third)
    assert not third.restore_maximized


@pytest.fixture
def restore_theme(qapp):
    yield
    theme.set_theme(qapp, "light")


def test_theme_choice_applies_live_and_is_saved(qtbot, fake_pages, profile_ctx, restore_theme):
    window = mw.MainWindow(profile_ctx)
    qtbot.addWidget(window)
    app = QApplication.instance()
    window.theme_actions["dark"].trigger()
    assert theme.is_dark() and theme.theme_choice(app) == "dark"
    assert app.palette().color(QPalette.ColorRole.Window).name() == "#1f2126"
    window.show()
    # the sidebar's style sheet follows the live switch (palette(...) in a sheet is resolved when set)
    qtbot.waitUntil(
        lambda: (
            window.nav_list.grab().toImage().pixelColor(10, window.nav_list.height() - 10).lightness() < 80
        )
    )
    qtbot.waitUntil(lambda: load_settings(profile_ctx.settings_path).theme == "dark")
    window.theme_actions["light"].trigger()
    assert not theme.is_dark()
    qtbot.waitUntil(lambda: load_settings(profile_ctx.settings_path).theme == "light")
    assert window.theme_actions["light"].isChecked() and not window.theme_actions["dark"].isChecked()


def test_toolbar_does_not_reflow_when_labels_change(qtbot, fake_pages, profile_ctx):
    window = mw.MainWindow(profile_ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    toggle = window.toolbar.widgetForAction(window.action_toggle_listener)
    edit = window.toolbar.widgetForAction(window.action_edit_profile)
    before = (toggle.geometry(), edit.geometry(), window.profile_combo.width())
    window._on_listener_state("listening", "http://127.0.0.1:9/webhooks/nango")
    assert window.action_toggle_listener.text().startswith("Stop")
    profile_ctx.upsert_profile(
        profile_ctx.profile.model_copy(update={"name": "a much longer profile name than before"}),
        old_name=profile_ctx.profile.name,
    )
    QApplication.processEvents()
    assert (toggle.geometry(), edit.geometry(), window.profile_combo.width()) == before
    window._on_listener_state("stopped", "")
    QApplication.processEvents()
    assert toggle.geometry() == before[0]


def test_listener_error_leaves_the_banner_once_the_listener_runs(qtbot, fake_pages, profile_ctx):
    window = mw.MainWindow(profile_ctx)
    qtbot.addWidget(window)
    window.show()
    profile_ctx.show_message_error("Something else failed", "keep me")
    window._on_listener_state("error", "Port 8765 is in use")
    assert window.error_banner.current() == (mw.LISTENER_ERROR_TITLE, "Port 8765 is in use")
    window._on_listener_state("listening", "http://127.0.0.1:8766/webhooks/nango")
    assert window.error_banner.current() == ("Something else failed", "keep me")
    assert window.error_banner.count() == 1
