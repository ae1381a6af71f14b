"""The main window shell: pages, profile switching, production banner, status bar, shortcuts, geometry,
errors (banner + crash dialog), against FakeNango over real HTTP on loopback."""

from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QWidget

from nango_desktop import __version__
from nango_desktop.qtutil.errors import CrashDialog, install_crash_hooks, register_secret
from nango_desktop.services.errors import InvalidKeyError
from nango_desktop.settings import Profile, Settings
from nango_desktop.ui import main_window as mw
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.widgets import PlaceholderPage


class FakePage(QWidget):
    """Stands in for the real pages so the shell is tested on its own."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.calls: list[tuple[str, dict]] = []

    def refresh(self):
        self.calls.append(("refresh", {}))

    def focus_search(self):
        self.calls.append(("focus_search", {}))

    def on_navigate(self, **kw):
        self.calls.append(("on_navigate", kw))


class BrokenPage(QWidget):
    def __init__(self, ctx, parent=None):
        raise RuntimeError("page constructor failed")


@pytest.fixture
def fake_pages(monkeypatch):
    specs = tuple(
        mw.PageSpec(s.key, s.title, s.icon, __name__, "BrokenPage" if s.key == "links" else "FakePage")
        for s in mw.PAGE_SPECS
    )
    monkeypatch.setattr(mw, "PAGE_SPECS", specs)
    return specs


@pytest.fixture
def shell(qtbot, fake_pages, main_window):
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    return main_window


def test_object_names_and_pages(shell):
    for name in (
        "profileCombo", "navList", "pageStack", "statusApi", "statusRateLimit", "statusListener",
        "errorBanner", "productionBanner", "mainToolbar",
    ):  # fmt: skip
        assert shell.findChild(QWidget, name) is not None, name
    for name in ("actionRefresh", "actionSearch", "actionNewLink", "actionQuit", "actionPageWebhooks"):
        assert name in shell.actions_by_name
    assert shell.objectName() == "mainWindow"
    assert shell.nav_list.count() == len(mw.PAGE_SPECS) == 6  # ... webhooks, integrations
    assert isinstance(shell.pages["connections"], FakePage)
    assert isinstance(shell.pages["links"], PlaceholderPage)  # constructor raised: placeholder, app runs
    reason = shell.pages["links"].findChild(QLabel, "placeholderReason")
    assert "page constructor failed" in reason.text()
    assert shell.current_page_key() == "overview"


def test_missing_page_module_gives_placeholder(qtbot, monkeypatch, profile_ctx):
    spec = mw.PageSpec("overview", "Overview", "overview", "nango_desktop.ui.no_such_page", "X")
    page = mw.build_page(spec, profile_ctx)
    qtbot.addWidget(page)
    assert isinstance(page, PlaceholderPage) and page.objectName() == "overviewPage"


def test_shortcuts(qtbot, shell, profile_ctx, monkeypatch):
    for n, key in enumerate(("overview", "connections", "endusers", "links", "webhooks"), start=1):
        qtbot.keyClick(shell, Qt.Key(Qt.Key.Key_0 + n), Qt.KeyboardModifier.ControlModifier)
        assert shell.current_page_key() == key
        assert shell.page_stack.currentWidget() is shell.pages[key]
    qtbot.keyClick(shell, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    page = shell.pages["connections"]
    qtbot.keyClick(shell, Qt.Key.Key_F5)
    qtbot.keyClick(shell, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.calls == [("refresh", {}), ("focus_search", {})]
    requested = []
    monkeypatch.setattr(profile_ctx, "request_new_link", lambda prefill=None: requested.append(prefill))
    qtbot.keyClick(shell, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert requested == [None]


def test_navigate_passes_arguments_to_page(shell, profile_ctx):
    profile_ctx.navigate("webhooks", connection_id="c-1")
    assert shell.current_page_key() == "webhooks"
    assert shell.pages["webhooks"].calls == [("on_navigate", {"connection_id": "c-1"})]
    with pytest.raises(ValueError):
        profile_ctx.navigate("nowhere")


def test_status_bar_shows_last_call_and_rate_limit(qtbot, shell, profile_ctx, nango_server):
    nango_server.rate_limit_per_minute = 200
    assert shell.status_api.text() == "API: no calls yet"
    profile_ctx.run(lambda: profile_ctx.client().list_connections(limit=3))
    qtbot.waitUntil(lambda: "GET /connections 200" in shell.status_api.text(), timeout=5000)
    assert shell.status_api.text().endswith(" ms")
    qtbot.waitUntil(lambda: shell.status_rate.text() == "Rate limit: 199/200 left", timeout=5000)
    # a failing call is shown too, and its error reaches the banner
    nango_server.revoke_key()
    profile_ctx.run(lambda: profile_ctx.client().list_connections(limit=3))
    qtbot.waitUntil(lambda: "401" in shell.status_api.text(), timeout=5000)
    qtbot.waitUntil(lambda: shell.error_banner.isVisible(), timeout=5000)
    assert shell.error_banner.title_label.text() == InvalidKeyError.default_title
    assert nango_server.secret_key not in shell.error_banner.detail_text.toPlainText()


def _two_profiles_ctx(secret_store, url: str) -> AppContext:
    settings = Settings(
        profiles=[
            Profile(name="dev", api_url=url, environment="dev"),
            Profile(name="live", api_url=url, environment="prod", production=True),
        ],
        current_profile="dev",
    )
    return AppContext(settings, secret_store)


def test_profile_switch_and_production_banner(qtbot, fake_pages, secret_store, nango_server, tmp_home):
    ctx = _two_profiles_ctx(secret_store, nango_server.url)
    try:
        window = mw.MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        assert window.production_banner.isHidden()
        assert "PRODUCTION" not in window.windowTitle() and "dev" in window.windowTitle()
        changed = []
        ctx.profileChanged.connect(changed.append)
        combo = window.profile_combo
        assert [combo.itemData(i) for i in range(combo.count())] == ["dev", "live"]
        combo.setCurrentIndex(1)
        combo.activated.emit(1)  # what a user selection emits
        assert [p.name for p in changed] == ["live"] and ctx.profile.name == "live"
        assert window.production_banner.isVisible()
        assert window.production_banner.text() == "PRODUCTION — live"
        assert window.windowTitle().startswith("PRODUCTION — live")
        ctx.set_profile("dev")
        assert window.production_banner.isHidden() and combo.currentData() == "dev"
        # the current profile is saved (settings file), never a key
        qtbot.waitUntil(lambda: (tmp_home / "config" / "profiles.json").is_file(), timeout=5000)
    finally:
        ctx.shutdown(timeout=10)


def test_errors_before_window_are_buffered(qtbot, fake_pages, profile_ctx):
    profile_ctx.show_error(InvalidKeyError(None, "GET /connections -> HTTP 401"))
    assert profile_ctx.pending_errors()
    window = mw.MainWindow(profile_ctx)
    qtbot.addWidget(window)
    window.show()
    assert window.error_banner.isVisible()
    assert window.error_banner.current() == ("The API key was rejected", "GET /connections -> HTTP 401")
    assert profile_ctx.pending_errors() == []


def test_geometry_restored_from_config_dir(qtbot, fake_pages, profile_ctx, tmp_home):
    first = mw.MainWindow(profile_ctx)
    qtbot.addWidget(first)
    first.show()
    first.resize(777, 555)
    qtbot.waitUntil(lambda: first.size().width() == 777)
    first.close()
    ini = tmp_home / "config" / mw.WINDOW_STATE_FILE
    assert ini.is_file()
    text = ini.read_text()
    assert "geometry" in text and "test-secret-key" not in text
    second = mw.MainWindow(profile_ctx)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (777, 555)


def test_about_names_version_keyring_and_paths(shell, profile_ctx, tmp_home):
    text = shell.about_text()
    assert __version__ in text
    assert profile_ctx.secrets.backend_name in text
    assert str(tmp_home / "config") in text and str(tmp_home / "logs") in text


def test_listener_state_in_status_bar(qtbot, shell, profile_ctx):
    listener = profile_ctx.listener
    assert listener is not None, "the profile has no webhook listener controller"
    listener.stateChanged.emit("listening", "http://127.0.0.1:9/webhooks/nango")
    assert shell.status_listener.text() == "Listener: listening on http://127.0.0.1:9/webhooks/nango"
    assert shell.action_toggle_listener.text().startswith("Stop")
    listener.stateChanged.emit("stopped", "")
    assert shell.status_listener.text() == "Listener: stopped"


# -- crash dialog -----------------------------------------------------------------------------------


@pytest.fixture
def crash_handler(qapp):
    handler = install_crash_hooks()
    yield handler
    handler.uninstall()
    for dialog in list(handler.dialogs):
        dialog.close()


def _raise_with_secrets(api_key: str):
    try:
        raise RuntimeError(
            f"request failed: Authorization: Bearer {api_key} token=nango_connect_session_abc123"
        )
    except RuntimeError:
        return sys.exc_info()


def test_crash_dialog_report_is_redacted_and_copyable(qtbot, crash_handler):
    api_key = "sk-live-0123456789abcdef"
    register_secret(api_key)
    sys.excepthook(*_raise_with_secrets(api_key))
    qtbot.waitUntil(lambda: len(crash_handler.dialogs) == 1, timeout=5000)
    dialog: CrashDialog = crash_handler.dialogs[0]
    report = dialog.text.toPlainText()
    assert (
        "Traceback" in report and "RuntimeError" in report and __version__ in report and "PySide6" in report
    )
    assert api_key not in report and "nango_connect_session_abc123" not in report
    assert api_key not in dialog.summary_label.text()
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == report


def test_crash_in_worker_thread_opens_dialog_on_gui_thread(qtbot, crash_handler):
    def explode():
        raise ValueError("boom in a thread")

    thread = threading.Thread(target=explode, name="worker-x")
    thread.start()
    thread.join(5)
    qtbot.waitUntil(lambda: len(crash_handler.dialogs) == 1, timeout=5000)
    report = crash_handler.reports[0]
    assert "Thread: worker-x" in report and "boom in a thread" in report
    assert crash_handler.dialogs[0].thread() is QGuiApplication.instance().thread()


def test_run_starts_and_shuts_down_cleanly(
    qtbot, monkeypatch, fake_pages, nango_server, secret_store, tmp_home
):
    from PySide6.QtCore import QTimer

    from nango_desktop import app as app_module
    from nango_desktop.services.secrets import SecretKind
    from nango_desktop.settings import save_settings

    save_settings(Settings(profiles=[Profile(name="p", api_url=nango_server.url)], current_profile="p"))
    secret_store.set("p", SecretKind.API_KEY, nango_server.secret_key)
    monkeypatch.setattr(app_module, "setup_app_logging", lambda verbose=False: None)
    built: list[mw.MainWindow] = []
    original = app_module.after_painted

    def painted(ctx, window):  # the window painted its shell, then got its context: call the API, close
        original(ctx, window)
        built.append(window)
        qtbot.addWidget(window)
        ctx.run(lambda: ctx.client().list_integrations(), on_done=lambda _: window.close())

    monkeypatch.setattr(app_module, "after_painted", painted)
    safety = QTimer()  # ends the event loop if the window never closes; stopped before the next test
    safety.setSingleShot(True)
    safety.timeout.connect(app_module.QApplication.quit)
    safety.start(10_000)
    previous_hook = sys.excepthook
    try:
        assert app_module.run([]) == 0
    finally:
        safety.stop()
    assert safety.remainingTime() == -1
    window = built[0]
    assert (
        window.windowTitle().startswith("p (dev)")
        and "API: GET /integrations 200" in window.status_api.text()
    )
    assert sys.excepthook is previous_hook  # crash hooks uninstalled
    assert (tmp_home / "config" / mw.WINDOW_STATE_FILE).is_file()


def test_icons_are_packaged_and_render_hidpi(qapp):
    from PySide6.QtCore import QSize

    from nango_desktop.ui import icons

    names = icons.available()
    for required in ("refresh", "search", "link", "webhook", "users", "connections", "overview", "copy", "qr",
                     "delete", "warning", "error", "ok", "play", "stop", "settings"):  # fmt: skip
        assert required in names
    for name in names:
        pixmap = icons.icon(name).pixmap(QSize(24, 24), 2.0)
        assert pixmap.devicePixelRatio() == 2.0 and pixmap.width() == 48
        image = pixmap.toImage()
        assert any(image.pixelColor(x, y).alpha() for x in range(48) for y in range(48)), name
    assert not icons.app_icon().isNull()


def test_theme_follows_scheme(qapp):
    from PySide6.QtGui import QPalette

    from nango_desktop.ui import theme

    previous = qapp.palette()
    try:
        theme.apply_theme(qapp, "dark")
        assert theme.is_dark() and qapp.style().name().lower() == "fusion"
        theme.apply_theme(qapp, "light")
        assert not theme.is_dark()
        assert qapp.palette().color(QPalette.ColorRole.Highlight).name() == "#2f62d0"
    finally:
        qapp.setPalette(previous)


def test_remove_profile_deletes_keys_and_switches(
    qtbot, fake_pages, secret_store, memory_keyring, nango_server
):
    from nango_desktop.services.secrets import SecretKind

    ctx = _two_profiles_ctx(secret_store, nango_server.url)
    try:
        secret_store.set("live", SecretKind.API_KEY, "live-key-123456")
        ctx.set_profile("live")
        window = mw.MainWindow(ctx)
        qtbot.addWidget(window)
        assert window.production_banner.isVisibleTo(window)
        with qtbot.waitSignal(ctx.profileChanged):
            ctx.remove_profile("live")
        assert ctx.profile.name == "dev" and ctx.settings.names() == ["dev"]
        assert not window.production_banner.isVisibleTo(window)
        assert window.profile_combo.count() == 1
        qtbot.waitUntil(lambda: ("nango-desktop", "live:api-key") not in memory_keyring.store, timeout=5000)
    finally:
        ctx.shutdown(timeout=10)


def test_profile_chosen_on_the_command_line_is_the_current_one(qtbot, monkeypatch, memory_keyring):
    from nango_desktop import app
    from nango_desktop.settings import Profile, Settings, save_settings

    save_settings(Settings(profiles=[Profile(name="dev"), Profile(name="prod")], current_profile="dev"))
    monkeypatch.setenv("NANGO_DESKTOP_PROFILE", "prod")
    ctx = app.build_context()
    try:
        assert ctx.profile is not None and ctx.profile.name == "prod"
    finally:
        ctx.shutdown(timeout=5.0)


def test_pages_are_built_when_first_shown_and_keep_their_shortcuts(qtbot, monkeypatch, profile_ctx):
    """Issue 16 (start-up): only the start page is built with the window; the others on first show, by the
    navigation, their Ctrl+N shortcut or a lookup; each once."""
    built: list[str] = []
    specs = tuple(mw.PageSpec(s.key, s.title, s.icon, __name__, "FakePage") for s in mw.PAGE_SPECS)
    monkeypatch.setattr(mw, "PAGE_SPECS", specs)
    real_build = mw.build_page
    monkeypatch.setattr(mw, "build_page", lambda spec, ctx: built.append(spec.key) or real_build(spec, ctx))
    window = mw.MainWindow(profile_ctx)
    qtbot.addWidget(window)
    window.show()
    assert built == ["overview"] and window.pages.is_built("overview")
    assert not window.pages.is_built("webhooks")
    window.actions_by_name["actionPageWebhooks"].trigger()  # Ctrl+5
    assert built == ["overview", "webhooks"] and window.current_page() is window.pages["webhooks"]
    endusers = window.pages["endusers"]  # a lookup builds it too (not shown)
    assert built[-1] == "endusers" and window.current_page_key() == "webhooks"
    window.show_page("endusers")
    assert window.current_page() is endusers and built.count("endusers") == 1
    assert len(window.pages) == len(specs) and list(window.pages) == [s.key for s in specs]


def test_the_app_paints_the_shell_then_builds_the_start_page_and_reads_the_keyring(
    qtbot, monkeypatch, fake_pages, secret_store, tmp_home
):
    """app.run: the window paints with a stand-in for the start page; after the first paint the start page is
    built and only then the keyring work starts (the key prefetch and the backend name)."""
    from nango_desktop import app as app_module

    events: list[str] = []
    settings = Settings(profiles=[Profile(name="p")], current_profile="p")
    ctx = AppContext(settings, secret_store, start_background=False)
    monkeypatch.setattr(ctx, "prefetch_key", lambda: events.append("prefetch"))
    window = app_module.build_main_window(ctx, defer_start_page=True)
    qtbot.addWidget(window)
    assert not window.pages.is_built("overview") and window.current_page_key() == "overview"
    assert window.current_page().objectName() == "overviewPagePending"
    def painted() -> None:
        events.append("painted")
        app_module.after_painted(ctx, window)

    app_module.after_first_paint(window, painted)
    window.show()
    qtbot.waitUntil(lambda: "prefetch" in events, timeout=5000)
    assert events == ["painted", "prefetch"]
    assert window.pages.is_built("overview") and isinstance(window.current_page(), FakePage)
    ctx.shutdown(timeout=5)


def test_listeners_set_to_start_with_the_app_start_after_the_first_paint(qtbot, fake_pages, secret_store, tmp_home):
    """Deferred start: no listener (HTTP stack, event store, port) before the first paint; after it, every
    listener set to start with the app runs, the current profile's shown in the status bar."""
    from nango_desktop import app as app_module
    from nango_desktop.settings import ListenerSettings

    def listening(name: str) -> Profile:
        return Profile(name=name, listener=ListenerSettings(enabled=True, port=0, path=f"/{name}"))

    settings = Settings(profiles=[listening("cur"), listening("other")], current_profile="cur")
    ctx = AppContext(settings, secret_store, start_background=False)
    window = app_module.build_main_window(ctx, defer_start_page=True)
    qtbot.addWidget(window)
    assert ctx.listener_registry.listeners() == {}  # nothing built before the first paint
    app_module.after_painted(ctx, window)
    qtbot.waitUntil(lambda: set(ctx.listener_registry.running()) == {"cur", "other"}, timeout=10_000)
    qtbot.waitUntil(lambda: "listening" in window.status_listener.text().lower(), timeout=10_000)
    ctx.shutdown(timeout=5)


def test_the_app_paints_its_shell_before_it_reads_the_settings_with_their_models(
    qtbot, qapp, monkeypatch, fake_pages, secret_store, tmp_home
):
    """app.Startup: with a settings file settings_lite reads, the window opens as its shell (theme, profiles,
    title and production banner as they will be; commands off) and the context (pydantic settings, keyring,
    sessions) is built and attached after the first paint."""
    from nango_desktop import APP_NAME
    from nango_desktop import app as app_module
    from nango_desktop.settings import save_settings

    save_settings(
        Settings(
            profiles=[Profile(name="acme-eu", environment="prod", production=True), Profile(name="acme-dev")],
            current_profile="acme-eu",
        )
    )
    contexts: list[AppContext] = []
    real_build = app_module.build_context
    monkeypatch.setattr(
        app_module, "build_context", lambda *a, **k: contexts.append(real_build(*a, **k)) or contexts[-1]
    )
    startup = app_module.Startup(qapp, secrets=secret_store)
    window = startup.open()
    qtbot.addWidget(window)
    assert contexts == [] and startup.ctx is None and not window.attached
    assert window.windowTitle() == f"PRODUCTION — acme-eu — {APP_NAME}"
    assert window.production_banner.isVisibleTo(window)
    combo = window.profile_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["acme-eu (prod)", "acme-dev (dev)"]
    assert combo.currentData() == "acme-eu" and not combo.isEnabled()
    assert not any(action.isEnabled() for action in window.actions_by_name.values())
    assert window.current_page().objectName() == "overviewPagePending"
    window.show()
    window.grab()

    ctx = startup.finish()
    assert contexts == [ctx] and window.attached and window.ctx is ctx
    assert ctx.profile is not None and ctx.profile.name == "acme-eu"
    assert combo.isEnabled() and window.action_new_link.isEnabled() and window.action_edit_profile.isEnabled()
    assert window.pages.is_built("overview") and isinstance(window.current_page(), FakePage)
    assert window.windowTitle() == f"PRODUCTION — acme-eu — {APP_NAME}"
    ctx.shutdown(timeout=5)


def test_a_settings_file_only_pydantic_reads_gets_the_whole_window_at_once(
    qtbot, qapp, fake_pages, secret_store, tmp_home
):
    """A file settings_lite declines (here a boolean written as 1) is read by load_settings before the window,
    as before: the window opens attached."""
    from nango_desktop import app as app_module
    from nango_desktop.settings_lite import settings_path

    settings_path().write_text('{"profiles": [{"name": "a", "production": 1}], "current_profile": "a"}')
    startup = app_module.Startup(qapp, secrets=secret_store)
    window = startup.open()
    qtbot.addWidget(window)
    assert window.attached and startup.ctx is not None and startup.ctx.profile.production
    ctx = startup.finish()
    assert window.pages.is_built("overview")
    ctx.shutdown(timeout=5)


@pytest.mark.parametrize(
    ("saved", "env", "expected"),
    [("b", None, "b"), (None, None, "a"), ("gone", None, "a"), ("a", "b", "b"), ("a", "nope", "a")],
)
def test_the_shell_shows_the_profile_the_context_will_select(monkeypatch, tmp_home, saved, env, expected):
    """read_shell picks the current profile as load_settings + build_context do (saved, --profile, the first)."""
    from nango_desktop import app as app_module
    from nango_desktop.settings import load_settings, save_settings

    save_settings(Settings(profiles=[Profile(name="a"), Profile(name="b")], current_profile=saved))
    if env is None:
        monkeypatch.delenv("NANGO_DESKTOP_PROFILE", raising=False)
    else:
        monkeypatch.setenv("NANGO_DESKTOP_PROFILE", env)
    shell = app_module.read_shell()
    assert shell is not None and shell.current == expected
    settings = load_settings()
    if env and settings.get(env) is not None:
        settings.current_profile = env
    assert settings.current().name == expected
