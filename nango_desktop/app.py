"""Composition root of the GUI: ``run(argv) -> int``.

QApplication (name, organisation, icon, desktop file name) -> logging -> settings -> AppContext ->
MainWindow -> exec -> clean shutdown (stop the listener, wait for tasks, close clients).
``build_main_window(ctx)`` is reused by the smoke test.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QWidget

from nango_desktop import APP_ID, APP_NAME, __version__
from nango_desktop.qtutil.collector import collect_on_gui_thread
from nango_desktop.qtutil.display import display_problem, explain
from nango_desktop.qtutil.errors import CrashHandler, install_crash_hooks
from nango_desktop.ui import icons, theme
from nango_desktop.ui.main_window import MainWindow, Shell, ShellProfile, schedule_first_run

if TYPE_CHECKING:
    from nango_desktop.services.secrets import SecretStore
    from nango_desktop.ui.context import AppContext

log = logging.getLogger("nango_desktop")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message_handler(mode: QtMsgType, context: object, message: str) -> None:
    logging.getLogger("qt").log(_QT_LEVELS.get(mode, logging.WARNING), "%s", message)
    if mode == QtMsgType.QtFatalMsg:
        # Qt aborts right after this (exit 134, a core dump, nothing on the terminal): say why, exit 1.
        from nango_desktop.qtutil.display import explain_fatal

        print(explain_fatal(message), file=sys.stderr, flush=True)
        logging.shutdown()
        os._exit(1)


def create_application(argv: Sequence[str] | None = None, *, scheme: str | None = None) -> QApplication:
    """The QApplication (or the existing one) with our names, icon and theme."""
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName("Nango Desktop")
    QCoreApplication.setOrganizationDomain("nango.dev")
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication(list(argv) if argv else [sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setDesktopFileName(APP_ID)
    collect_on_gui_thread(app)  # Qt objects in reference cycles must not be destroyed on a worker thread
    app.setWindowIcon(icons.app_icon())
    theme.apply_theme(app, scheme)
    return app


def build_context(secrets: SecretStore | None = None, *, start_background: bool = True) -> AppContext:
    from nango_desktop.settings import load_settings  # pydantic: after the first paint when the shell allows
    from nango_desktop.ui.context import AppContext

    settings = load_settings()
    chosen = os.environ.get("NANGO_DESKTOP_PROFILE")  # `nango-desktop --profile NAME` sets it
    if chosen and settings.get(chosen) is not None:
        settings.current_profile = chosen
    ctx = AppContext(settings, secrets, start_background=start_background)
    if settings.load_problem:
        ctx.show_message_error("Your settings could not be read", settings.load_problem)
    return ctx


def build_main_window(ctx: AppContext, *, defer_start_page: bool = False) -> MainWindow:
    """The main window for ``ctx`` (not shown). Used by run() and by the smoke test. ``defer_start_page``: the
    shell paints first, then ``after_painted`` builds the start page and starts the keyring work."""
    return MainWindow(ctx, defer_start_page=defer_start_page)


def read_shell() -> Shell | None:
    """What the first frame needs from the settings file, read without pydantic (``settings_lite``): the theme
    and the profiles; None when only ``load_settings`` can read the file (it then reads it before the window)."""
    from nango_desktop.settings_lite import read_settings, settings_path

    lite = read_settings(settings_path())
    if lite is None:
        return None
    chosen = os.environ.get("NANGO_DESKTOP_PROFILE")  # `nango-desktop --profile NAME`, as build_context
    current = chosen if chosen and lite.get(chosen) is not None else lite.current_profile
    if lite.get(current) is None:  # as Settings.current(): the first profile when none (or an unknown) is set
        current = lite.profiles[0].name if lite.profiles else None
    profiles = tuple(ShellProfile(p.name, p.environment, p.production) for p in lite.profiles)
    return Shell(lite.theme, profiles, current)


class Startup:
    """The main window, painted before the settings are read with pydantic when the file allows it.

    ``open()`` shows the window: its shell only (``MainWindow(None, shell=...)``) when ``read_shell`` could read
    the file, else the whole window over a context built first (a file that needs ``load_settings``: it is moved
    aside and reported). ``finish()`` builds the context if not yet, attaches it, then runs ``after_painted``
    (the start page, the keyring work, the listeners); ``run()`` calls it after the first paint.
    """

    def __init__(self, app: QApplication, secrets: SecretStore | None = None) -> None:
        self.app = app
        self.secrets = secrets  # None: the OS keyring (tests pass an in-memory one)
        self.ctx: AppContext | None = None
        self.window: MainWindow | None = None

    def open(self) -> MainWindow:
        shell = read_shell()
        if shell is None:
            self.ctx = build_context(self.secrets, start_background=False)  # the keyring: after the first paint
            theme.set_theme(self.app, self.ctx.settings.theme)  # the user's choice, before the first paint
            self.window = build_main_window(self.ctx, defer_start_page=True)
        else:
            theme.set_theme(self.app, shell.theme)
            self.window = MainWindow(None, defer_start_page=True, shell=shell)
        return self.window

    def finish(self) -> AppContext:
        assert self.window is not None, "open() first"
        if self.ctx is None:
            self.ctx = build_context(self.secrets, start_background=False)
            if self.ctx.settings.theme != theme.theme_choice(self.app):  # the file changed since read_shell
                theme.set_theme(self.app, self.ctx.settings.theme)
        if not self.window.attached:
            self.window.attach(self.ctx)
        after_painted(self.ctx, self.window)
        return self.ctx


def after_painted(ctx: AppContext, window: MainWindow) -> None:
    """What the first frame need not wait for: the start page, the key and the keyring backend, the listeners."""
    window.build_current_page()
    ctx.start_background()
    window.start_listeners()


def setup_app_logging(verbose: bool = False) -> object:
    """File logging (redacted) plus Qt's messages routed into it; returns the previous Qt message handler."""
    try:
        from nango_desktop.logsetup import setup_logging
    except ImportError:  # pragma: no cover - logsetup is part of the app
        logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    else:
        setup_logging(logging.DEBUG if verbose else logging.INFO)
    return qInstallMessageHandler(_qt_message_handler)


def run(argv: Sequence[str] | None = None, *, verbose: bool = False) -> int:
    """Start the GUI and return its exit code."""
    previous_handler = setup_app_logging(verbose)
    problem = display_problem()
    if problem is not None:  # checked before the QApplication, which would abort the process
        message = explain(problem)
        log.error("%s", message)
        print(message, file=sys.stderr, flush=True)
        qInstallMessageHandler(previous_handler)  # type: ignore[arg-type]
        return 1
    # Workers parse large pages while holding the GIL; a shorter switch interval hands it back to the GUI thread
    # sooner (the longest stall while loading 100,000 rows fell from 190-250 ms to ~80 ms when tried).
    sys.setswitchinterval(0.001)
    app = create_application(argv)
    log.info("%s %s starting", APP_NAME, __version__)
    startup = Startup(app)
    window = startup.open()  # the shell paints first; the settings models and the context follow
    crash: CrashHandler = install_crash_hooks(lambda: window)

    def finish() -> None:
        startup.finish()
        schedule_first_run(window)  # no profile yet: the profile dialog, once the context exists

    after_first_paint(window, finish)
    window.show_restored()
    try:
        code = app.exec()
    finally:
        if startup.ctx is None:  # closed before the first paint
            window.save_window_state()
            crash.uninstall()
        else:
            shutdown(startup.ctx, window, crash)
        qInstallMessageHandler(previous_handler)  # type: ignore[arg-type]
    log.info("%s exiting with %s", APP_NAME, code)
    return code


class _FirstPaint(QObject):
    """Calls ``fn`` once, from the event loop, after ``window`` painted for the first time (or after
    ``FALLBACK_MS`` if no paint comes, e.g. a minimised start)."""

    FALLBACK_MS = 2000

    def __init__(self, window: QWidget, fn: Callable[[], None]) -> None:
        super().__init__(window)
        self._fn: Callable[[], None] | None = fn
        window.installEventFilter(self)
        QTimer.singleShot(self.FALLBACK_MS, self._fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and self._fn is not None:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._fire)
        return False

    def _fire(self) -> None:
        fn, self._fn = self._fn, None
        if fn is not None:
            fn()


def after_first_paint(window: QWidget, fn: Callable[[], None]) -> QObject:
    """Run ``fn`` once the window has painted: start-up work that the first frame need not wait for."""
    return _FirstPaint(window, fn)


def shutdown(ctx: AppContext, window: MainWindow | None = None, crash: CrashHandler | None = None) -> None:
    """Stop the listener, wait for background tasks (bounded), close clients and stores."""
    if window is not None:
        window.save_window_state()
    if not ctx.shutdown(timeout=5.0):
        log.warning("Some background tasks were still running at exit")
    if crash is not None:
        crash.uninstall()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv))
