"""MainWindow: the shell around the pages (profile switcher, navigation, banners, status bar, menus).

Pages are built from ``PAGE_SPECS`` as ``Page(ctx, parent=None)``; a page whose module is missing or
whose constructor fails is replaced by a ``PlaceholderPage`` (the reason is shown and logged). Pages
may implement ``refresh()``, ``focus_search()`` and ``on_navigate(**kw)`` (for ``ctx.navigate``).

Stable objectNames (automation): mainWindow, mainToolbar, profileCombo, productionBanner, errorBanner,
navList, pageStack, statusApi, statusRateLimit, statusListener, and the actions actionNewProfile,
actionEditProfile, actionRemoveProfile, actionQuit, actionPageOverview, actionPageConnections,
actionPageEndusers, actionPageLinks, actionPageWebhooks, actionRefresh, actionSearch, actionNewLink,
actionToggleListener, actionAbout, actionOpenLogFolder, actionToggleSidebar, actionThemeSystem,
actionThemeLight, actionThemeDark.

Geometry: the first start fits the screen's available area (1280x800 at most, frame included, so the status
bar is on screen at 1280x800); later starts restore the saved geometry, maximised state and sidebar.
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QSystemTrayIcon,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from nango_desktop import APP_NAME, __version__, paths
from nango_desktop.session.binding import SignalTracker
from nango_desktop.ui import icons, theme
from nango_desktop.ui.lazy_pages import LazyPages
from nango_desktop.ui.listener_status import LISTENER_ERROR_TITLE, ListenerStatus  # noqa: F401 - title for tests
from nango_desktop.ui.pages import PAGE_SPECS, PageSpec, build_page  # noqa: F401 - PageSpec for callers
from nango_desktop.ui.shell import Shell, ShellProfile  # noqa: F401 - ShellProfile for callers
from nango_desktop.ui.widgets import ErrorBanner
from nango_desktop.ui.window_geometry import (  # noqa: F401 - names tests and callers use from here
    COLLAPSE_SIDEBAR_BELOW,
    DESIGN_SIZE,
    FRAME_ALLOWANCE,
    WINDOW_STATE_FILE,
    WindowGeometry,
    first_start_geometry,
    window_settings,
)

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

NAV_STYLE = (
    "#navList { background: palette(base); border-right: 1px solid palette(mid); padding: 6px; }"
    "#navList::item { padding: 7px 6px; border-radius: 6px; color: palette(text); }"
    "#navList::item:hover { background: palette(alternate-base); }"
    "#navList::item:selected { background: palette(highlight); color: palette(highlighted-text); }"
)
SIDEBAR_WIDTH = 176
SIDEBAR_COLLAPSED_WIDTH = 48
THEME_LABELS = (("system", "&System"), ("light", "&Light"), ("dark", "&Dark"))


class MainWindow(ListenerStatus, WindowGeometry, QMainWindow):
    def __init__(
        self,
        ctx: AppContext | None,
        parent: QWidget | None = None,
        *,
        defer_start_page: bool = False,
        shell: Shell | None = None,
    ) -> None:
        """``defer_start_page``: the shell paints first; the start page (``build_current_page()``) and the
        listeners (``start_listeners()``) follow the first paint (``app.after_painted``); every other page is built
        when first shown. Without ``ctx`` (``shell`` then says what to show) the window is the shell only, its
        commands off until ``attach(ctx)``: the app paints it before it reads the settings with pydantic."""
        super().__init__(parent)
        if ctx is None and not defer_start_page:
            raise ValueError("a window without its context must defer its start page")
        self._attached = False
        self._defer_pages = defer_start_page
        self._listeners_started = not defer_start_page
        self.setObjectName("mainWindow")
        self.setWindowIcon(icons.app_icon())
        self.setMinimumSize(QSize(760, 480))
        self._listener: Any = None
        self._bound = SignalTracker()  # connections to the profile's listener, dropped in one call
        self._listener_state = "stopped"
        self._tray: QSystemTrayIcon | None = None
        self.actions_by_name: dict[str, QAction] = {}
        self.restore_maximized = False

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_status_bar()
        self.restore_window_state()
        if ctx is not None:
            self.attach(ctx)
        else:
            self._show_shell(shell or Shell())

    def _show_shell(self, shell: Shell) -> None:
        """The first frame without the context: theme, profiles and title as they will be; commands off."""
        self.show_page("overview")  # a stand-in until the context is attached and the page built
        self.theme_actions.get(shell.theme, self.theme_actions["system"]).setChecked(True)
        profile = next((p for p in shell.profiles if p.name == shell.current), None)
        self._fill_combo([(p.name, p.environment, p.production) for p in shell.profiles], shell.current)
        self._show_profile_title(profile)
        for action in self.actions_by_name.values():
            action.setEnabled(False)
        self.profile_combo.setEnabled(False)

    def attach(self, ctx: AppContext) -> None:
        """Bind the window to the app's context (once): signals, profiles, listeners, errors so far."""
        if self._attached:
            raise RuntimeError("the window is already attached to a context")
        self.ctx = ctx
        self._attached = True
        for action in self.actions_by_name.values():
            action.setEnabled(True)
        self.profile_combo.setEnabled(True)
        self.theme_actions.get(ctx.settings.theme, self.theme_actions["system"]).setChecked(True)
        ctx.profileChanged.connect(self._on_profile_changed)
        ctx.settingsChanged.connect(self._on_settings_changed)
        ctx.apiCall.connect(self._on_api_call)
        ctx.notified.connect(self._on_notified)
        ctx.navigateRequested.connect(self._on_navigate)
        ctx.listener_registry.listenersChanged.connect(self._update_listeners_label)

        self._fill_profiles()
        if self._listeners_started:
            self._start_enabled_listeners()
        self._on_profile_changed(ctx.profile)
        if not self.current_page_key():
            self.show_page("overview")  # the first page of a profile: is anything broken, and for whom?
        self._defer_pages = False
        # errors raised before the window existed (or while building it), then the live ones
        for title, detail in ctx.attach_window(self):
            self.error_banner.show_error(title, detail)
        ctx.errorRaised.connect(self._on_error)

    @property
    def attached(self) -> bool:
        """Whether the window has its context (``attach``): before, it is the first frame's shell."""
        return self._attached

    # -- construction ---------------------------------------------------------------------------------
    def _action(
        self, name: str, text: str, slot: Any, shortcut: Any = None, icon: str | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if icon:
            action.setIcon(icons.icon(icon))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when menus/toolbars are hidden
        self.actions_by_name[name] = action
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.action_new_profile = a("actionNewProfile", "&New profile…", self.new_profile, icon="add")
        self.action_edit_profile = a("actionEditProfile", "&Edit profile…", self.edit_profile, icon="edit")
        self.action_remove_profile = a(
            "actionRemoveProfile", "&Remove profile…", self.remove_profile, icon="delete"
        )
        self.action_quit = a("actionQuit", "&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.action_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.page_actions: list[QAction] = []
        for n, spec in enumerate(PAGE_SPECS, start=1):
            action = a(
                f"actionPage{spec.key.capitalize()}", spec.title, self._on_page_action, f"Ctrl+{n}", spec.icon
            )
            action.setData(spec.key)
            self.page_actions.append(action)
        self.action_refresh = a(
            "actionRefresh", "&Refresh", self.refresh_current, "F5", "refresh", "Reload (F5)"
        )
        self.action_search = a(
            "actionSearch", "&Search", self.focus_search, "Ctrl+F", "search", "Search (Ctrl+F)"
        )
        self.action_new_link = a(
            "actionNewLink",
            "New connect &link…",
            self.new_link,
            "Ctrl+L",
            "link",
            "New connect link (Ctrl+L)",
        )
        self.action_toggle_listener = a(
            "actionToggleListener", "Start webhook &listener", self.toggle_listener, icon="play"
        )
        self.action_about = a("actionAbout", f"&About {APP_NAME}", self.show_about, icon="info")
        self.action_open_logs = a(
            "actionOpenLogFolder", "Open &log folder", self.open_log_folder, icon="folder"
        )
        self.action_toggle_sidebar = a(
            "actionToggleSidebar",
            "Compact &sidebar",
            self._on_sidebar_action,
            "Ctrl+B",
            tip="Icons only in the sidebar, more room for the page (Ctrl+B)",
        )
        self.action_toggle_sidebar.setCheckable(True)
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for key, label in THEME_LABELS:
            action = a(f"actionTheme{key.capitalize()}", label, self._on_theme_action)
            action.setCheckable(True)
            action.setData(key)
            self.theme_group.addAction(action)
            self.theme_actions[key] = action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.action_new_profile, self.action_edit_profile, self.action_remove_profile])
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        view_menu = bar.addMenu("&View")
        view_menu.addActions(self.page_actions)
        view_menu.addSeparator()
        view_menu.addActions([self.action_refresh, self.action_search])
        view_menu.addSeparator()
        view_menu.addAction(self.action_toggle_sidebar)
        theme_menu = view_menu.addMenu("&Theme")
        theme_menu.setObjectName("menuTheme")
        theme_menu.addActions(list(self.theme_actions.values()))
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addActions([self.action_new_link, self.action_toggle_listener])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.action_about, self.action_open_logs])

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        label = QLabel(" Profile: ")
        self.profile_combo = QComboBox(toolbar)
        self.profile_combo.setObjectName("profileCombo")
        self.profile_combo.setAccessibleName("Profile")
        self.profile_combo.setMinimumContentsLength(22)
        # a fixed width: adding or renaming a profile must not re-flow the toolbar (long names elide; the
        # popup shows them whole)
        self.profile_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.profile_combo.activated.connect(self._on_profile_selected)
        toolbar.addWidget(label)
        toolbar.addWidget(self.profile_combo)
        toolbar.addAction(self.action_edit_profile)
        toolbar.addSeparator()
        toolbar.addAction(self.action_refresh)
        toolbar.addAction(self.action_new_link)
        spacer = QWidget(toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addAction(self.action_toggle_listener)
        self.addToolBar(toolbar)
        self.toolbar = toolbar
        self._steady_width(self.action_toggle_listener, ("Start webhook &listener", "Stop webhook &listener"))

    def _steady_width(self, action: QAction, texts: tuple[str, ...]) -> None:
        """The toolbar button of ``action`` as wide as its widest label: changing the label (Start/Stop)
        must not move the buttons around it."""
        button = self.toolbar.widgetForAction(action)
        if button is None:
            return
        current = action.text()
        width = 0
        for text in texts:
            action.setText(text)
            width = max(width, button.sizeHint().width())
        action.setText(current)
        button.setMinimumWidth(width)

    def _build_central(self) -> None:
        self.production_banner = QLabel(self)
        self.production_banner.setObjectName("productionBanner")
        self.production_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.production_banner.setStyleSheet(
            f"#productionBanner {{ background: {theme.PRODUCTION_RED}; color: {theme.PRODUCTION_TEXT};"
            " font-weight: bold; padding: 6px; letter-spacing: 1px; }"
        )
        self.production_banner.hide()
        self.error_banner = ErrorBanner(self)

        self.nav_list = QListWidget(self)
        self.nav_list.setObjectName("navList")
        self.nav_list.setAccessibleName("Navigation")
        self.nav_list.setIconSize(QSize(20, 20))
        self.nav_list.setFixedWidth(SIDEBAR_WIDTH)
        self.nav_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav_list.setSpacing(2)
        self.nav_list.setFrameShape(QListWidget.Shape.NoFrame)
        self.nav_list.setStyleSheet(NAV_STYLE)
        self.page_stack = QStackedWidget(self)
        self.page_stack.setObjectName("pageStack")
        specs = {spec.key: spec for spec in PAGE_SPECS}
        # each page is built when first shown or looked up (the window paints the start page only)
        self.pages = LazyPages(self.page_stack, list(specs), lambda key: build_page(specs[key], self.ctx))
        for n, spec in enumerate(PAGE_SPECS, start=1):
            item = QListWidgetItem(icons.icon(spec.icon), spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setToolTip(f"{spec.title} (Ctrl+{n})")
            self.nav_list.addItem(item)
        self.nav_list.currentRowChanged.connect(self._on_row_changed)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.nav_list)
        body.addWidget(self.page_stack, 1)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.production_banner)
        banner_box = QVBoxLayout()
        banner_box.setContentsMargins(8, 6, 8, 0)
        banner_box.addWidget(self.error_banner)
        layout.addLayout(banner_box)
        layout.addLayout(body, 1)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.status_api = QLabel("API: no calls yet")
        self.status_api.setObjectName("statusApi")
        self.status_rate = QLabel("")
        self.status_rate.setObjectName("statusRateLimit")
        self.status_listener = QLabel("Listener: stopped")
        self.status_listener.setObjectName("statusListener")
        # the listeners of the other profiles that keep running (listeners belong to profiles)
        self.status_listeners = QLabel("")
        self.status_listeners.setObjectName("statusListeners")
        self.status_listeners.hide()
        for label in (self.status_api, self.status_rate, self.status_listeners, self.status_listener):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setContentsMargins(8, 0, 8, 0)
            status.addPermanentWidget(label)

    # -- pages --------------------------------------------------------------------------------------------
    def current_page_key(self) -> str:
        item = self.nav_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    def current_page(self) -> QWidget:
        return self.page_stack.currentWidget()  # type: ignore[return-value]  # the stack always holds pages

    @Slot(int)
    def _on_row_changed(self, row: int) -> None:
        keys = list(self.pages)
        if 0 <= row < len(keys) and not self._defer_pages:
            self.pages[keys[row]]  # built on first show
        self.page_stack.setCurrentIndex(row)

    def build_current_page(self) -> QWidget | None:
        """Build the page on screen if it is still a stand-in (the start page, after the first paint)."""
        key = self.current_page_key()
        return self.pages[key] if key else None

    def show_page(self, key: str) -> QWidget | None:
        keys = list(self.pages)
        if key not in keys:
            log.warning("No page %r", key)
            return None
        self.nav_list.setCurrentRow(keys.index(key))
        if self._defer_pages and not self.pages.is_built(key):
            return None  # the start page: built after the first paint
        return self.pages[key]

    @Slot()
    def _on_page_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.show_page(action.data())

    @Slot()
    def refresh_current(self) -> None:
        self._call_page("refresh")

    @Slot()
    def focus_search(self) -> None:
        self._call_page("focus_search")

    def _call_page(self, method: str, **kw: Any) -> None:
        fn = getattr(self.current_page(), method, None)
        if callable(fn):
            try:
                fn(**kw)
            except Exception as exc:  # noqa: BLE001 - a page bug must not take the window down
                log.exception("%s.%s failed", type(self.current_page()).__name__, method)
                self.ctx.show_error(exc)

    @Slot(str, dict)
    def _on_navigate(self, key: str, kw: dict) -> None:
        self.show_page(key)
        if kw:
            self._call_page("on_navigate", **kw)

    # -- profiles -------------------------------------------------------------------------------------
    def _fill_profiles(self) -> None:
        current = self.ctx.profile.name if self.ctx.profile else None
        self._fill_combo([(p.name, p.environment, p.production) for p in self.ctx.settings.profiles], current)
        has = self.ctx.profile is not None
        for action in (self.action_edit_profile, self.action_remove_profile, self.action_toggle_listener):
            action.setEnabled(has)

    def _fill_combo(self, profiles: list[tuple[str, str, bool]], current: str | None) -> None:
        """The profile switcher: (name, environment, production) per profile, ``current`` selected."""
        combo = self.profile_combo
        combo.blockSignals(True)
        combo.clear()
        for name, environment, production in profiles:
            combo.addItem(
                icons.icon("shield", "production") if production else icons.icon("key"),
                f"{name} ({environment})",
                name,
            )
        combo.setCurrentIndex(max(0, combo.findData(current)) if current else -1)
        if not profiles:
            combo.setPlaceholderText("No profile — File → New profile")
        combo.blockSignals(False)

    @Slot(int)
    def _on_profile_selected(self, index: int) -> None:
        name = self.profile_combo.itemData(index)
        if name and (self.ctx.profile is None or name != self.ctx.profile.name):
            self.ctx.set_profile(name)

    @Slot(object)
    def _on_settings_changed(self, _settings: object) -> None:
        self._fill_profiles()

    @Slot(object)
    def _on_profile_changed(self, profile: Any) -> None:
        self._fill_profiles()
        self._show_profile_title(profile)
        self.status_api.setText("API: no calls yet")
        self.status_rate.setText("")
        if self._listeners_started:
            self._connect_listener()

    def _show_profile_title(self, profile: Any) -> None:
        """Window title and production banner of ``profile`` (a Profile or a ShellProfile, or None)."""
        production = bool(profile is not None and profile.production)
        if profile is None:
            self.setWindowTitle(APP_NAME)
        elif production:
            self.setWindowTitle(f"PRODUCTION — {profile.name} — {APP_NAME}")
        else:
            self.setWindowTitle(f"{profile.name} ({profile.environment}) — {APP_NAME}")
        self.production_banner.setText(f"PRODUCTION — {profile.name}" if production else "")
        self.production_banner.setVisible(production)

    # -- status, errors, notifications ------------------------------------------------------------------
    @Slot(object)
    def _on_api_call(self, info: Any) -> None:
        ms = round((info.elapsed or 0) * 1000)
        outcome = str(info.status) if info.status is not None else (info.error or "failed")
        self.status_api.setText(f"API: {info.method} {info.path} {outcome} · {ms} ms")
        self.status_api.setToolTip(info.error or "")
        failed = info.status is None or info.status >= 400
        self.status_api.setStyleSheet(f"color: {icons.STATUS_COLORS['error']};" if failed else "")
        rl = info.rate_limit
        if rl is not None and rl.remaining is not None:
            limit = f"/{rl.limit}" if rl.limit is not None else ""
            self.status_rate.setText(f"Rate limit: {rl.remaining}{limit} left")
            low = rl.limit and rl.remaining < max(1, rl.limit // 10)
            self.status_rate.setStyleSheet(f"color: {icons.STATUS_COLORS['warning']};" if low else "")

    @Slot(str, str)
    def _on_error(self, title: str, detail: str) -> None:
        self.error_banner.show_error(title, detail)

    @Slot(str, str)
    def _on_notified(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"{title}: {message}", 15_000)
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            if self._tray is None:
                self._tray = QSystemTrayIcon(icons.app_icon(), self)
                self._tray.setToolTip(APP_NAME)
                self._tray.activated.connect(self._raise_from_tray)
                self._tray.show()
            self._tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 10_000)

    @Slot()
    def _raise_from_tray(self, *_args: object) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- commands -------------------------------------------------------------------------------------
    @Slot()
    def new_profile(self) -> bool:
        from nango_desktop.ui.profile_dialog import ProfileDialog

        result = ProfileDialog.ask(self.ctx, self)
        if result is None:
            return False
        self.ctx.upsert_profile(result.profile, make_current=True)
        return True

    @Slot()
    def edit_profile(self) -> bool:
        from nango_desktop.ui.profile_dialog import ProfileDialog

        if self.ctx.profile is None:
            return self.new_profile()
        result = ProfileDialog.ask(self.ctx, self, profile=self.ctx.profile)
        if result is None:
            return False
        self.ctx.upsert_profile(result.profile, old_name=result.old_name)
        return True

    @Slot()
    def remove_profile(self) -> None:
        profile = self.ctx.profile
        if profile is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove profile",
            f"Remove the profile “{profile.name}” and delete its keys from {self.ctx.secrets.backend_name}?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.ctx.remove_profile(profile.name)

    def first_run(self) -> None:
        """With no profile, open the profile dialog (called by app.run once the window is shown)."""
        if not self.ctx.settings.profiles:
            self.new_profile()

    @Slot()
    def new_link(self) -> None:
        self.ctx.request_new_link()

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())

    def about_text(self) -> str:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        rows = [
            ("Version", __version__),
            ("Qt", f"{qVersion()} (PySide6 {pyside_version})"),
            ("Keyring", self.ctx.secrets.backend_name),
            ("Settings", str(paths.config_dir())),
            ("Data", str(paths.data_dir())),
            ("Logs", str(paths.log_dir())),
        ]
        table = "".join(f"<tr><td><b>{escape(k)}</b>&nbsp;</td><td>{escape(v)}</td></tr>" for k, v in rows)
        return (
            f"<h3>{APP_NAME}</h3><p>Desktop admin tool for Nango environments: connections, end users, "
            f"connect links and webhooks.</p><table>{table}</table>"
        )

    @Slot()
    def open_log_folder(self) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))

    # -- view: sidebar, theme -----------------------------------------------------------------------------
    @Slot()
    def _on_sidebar_action(self) -> None:
        self.set_sidebar_compact(self.action_toggle_sidebar.isChecked())

    def set_sidebar_compact(self, compact: bool) -> None:
        """Icons only (tooltips keep the names) or icons and names."""
        self.action_toggle_sidebar.setChecked(compact)
        self.nav_list.setFixedWidth(SIDEBAR_COLLAPSED_WIDTH if compact else SIDEBAR_WIDTH)
        for row, spec in enumerate(PAGE_SPECS[: self.nav_list.count()]):
            self.nav_list.item(row).setText("" if compact else spec.title)

    def sidebar_compact(self) -> bool:
        return self.action_toggle_sidebar.isChecked()

    @Slot()
    def _on_theme_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.set_theme(str(action.data()))

    def set_theme(self, choice: str) -> None:
        """Apply the theme now and keep it in the settings (the next start applies it before painting)."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.set_theme(app, choice)
        if choice in self.theme_actions:
            self.theme_actions[choice].setChecked(True)
        if self.ctx.settings.theme != choice:
            self.ctx.settings.theme = choice  # type: ignore[assignment]  # validated by the model
            self.ctx.save_settings()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            # palette(...) in a style sheet is resolved when it is set: set it again for the new theme, once
            # the new palette has reached the children (after this event)
            self.nav_list.setStyleSheet("")
            QTimer.singleShot(0, self._restyle_nav)

    @Slot()
    def _restyle_nav(self) -> None:
        self.nav_list.setStyleSheet(NAV_STYLE)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_window_state()
        super().closeEvent(event)



def schedule_first_run(window: MainWindow) -> None:
    """Open the profile dialog once the event loop runs, when there is no profile yet."""
    QTimer.singleShot(0, window.first_run)
