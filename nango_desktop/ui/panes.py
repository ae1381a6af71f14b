"""A side pane (a detail panel beside a table) that can be collapsed, resized, and is remembered.

``SidePane(splitter, index, key)`` manages pane ``index`` of ``splitter``: ``set_open(False)`` collapses it
(the table gets the whole width), ``set_open(True)`` gives it back its last width; dragging the handle
resizes it, dragging it to the edge collapses it. ``toggle`` is a checkable QAction ("Details", F9) to put in
a toolbar or menu. The open state and the width are saved per ``key`` in the window-state file (QSettings in
the config dir) and restored on the next start; ``default_open`` is the state of a first start (pages pass
False on a narrow screen, where the table needs the width).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSplitter, QWidget

from nango_desktop import paths
from nango_desktop.ui import icons

STATE_FILE = "window.ini"


def _settings() -> QSettings:
    return QSettings(str(paths.config_dir() / STATE_FILE), QSettings.Format.IniFormat)


def _as_bool(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


class SidePane(QObject):
    def __init__(
        self,
        splitter: QSplitter,
        index: int,
        key: str,
        *,
        default_width: int = 420,
        min_width: int = 300,
        text: str = "Details",
        shortcut: str | None = "F9",
        default_open: bool = True,
    ) -> None:
        super().__init__(splitter)
        self.setObjectName(f"sidePane_{key}")
        self.splitter = splitter
        self.index = index
        self.key = key
        self.min_width = min_width
        self.width = default_width
        self._restoring = False
        pane = splitter.widget(index)
        assert pane is not None, "SidePane: the splitter has no widget at that index"
        pane.setMinimumWidth(min_width)  # narrower than this it would cut its content: it collapses instead
        splitter.setCollapsible(index, True)
        splitter.setCollapsible(1 - index if splitter.count() == 2 else 0, False)
        self.toggle = QAction(icons.icon("info"), text, splitter)
        self.toggle.setObjectName(f"{key}DetailToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip(
            f"Show or hide the {text.lower()} pane" + (f" ({shortcut})" if shortcut else "")
        )
        if shortcut:
            self.toggle.setShortcut(QKeySequence(shortcut))
        self.toggle.toggled.connect(self.set_open)
        splitter.splitterMoved.connect(self._on_moved)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(300)
        self._save_timer.timeout.connect(self.save)
        store = _settings()
        saved_width = store.value(f"panes/{key}/width")
        try:
            if saved_width is not None:
                self.width = max(min_width, int(saved_width))
        except (TypeError, ValueError):
            pass
        self.set_open(_as_bool(store.value(f"panes/{key}/open"), default_open), save=False)

    # -- state ----------------------------------------------------------------------------------------
    def _pane(self) -> QWidget:
        pane = self.splitter.widget(self.index)
        assert pane is not None
        return pane

    def is_open(self) -> bool:
        return self.splitter.sizes()[self.index] > 0 if self.splitter.isVisible() else self.toggle.isChecked()

    @Slot(bool)
    def set_open(self, open_: bool, save: bool = True) -> None:
        self._restoring = True
        try:
            if self.toggle.isChecked() != open_:
                self.toggle.setChecked(open_)
            self._pane().setVisible(open_)
            sizes = self.splitter.sizes()
            total = sum(sizes) or max(self.splitter.width(), self.width + self.min_width)
            pane = min(self.width, max(self.min_width, total - self.min_width)) if open_ else 0
            sizes = [total - pane, pane] if self.index == 1 else [pane, total - pane]
            self.splitter.setSizes(sizes)
        finally:
            self._restoring = False
        if save:
            self.save()

    def save(self) -> None:
        store = _settings()
        store.setValue(f"panes/{self.key}/open", self.toggle.isChecked())
        store.setValue(f"panes/{self.key}/width", self.width)
        store.sync()

    @Slot(int, int)
    def _on_moved(self, _pos: int, _index: int) -> None:
        if self._restoring:
            return
        width = self.splitter.sizes()[self.index]
        if width <= 0:  # dragged shut
            if self.toggle.isChecked():
                self._restoring = True
                self.toggle.setChecked(False)
                self._restoring = False
                self._pane().setVisible(False)
        else:
            self.width = width
            if not self.toggle.isChecked():
                self._restoring = True
                self.toggle.setChecked(True)
                self._restoring = False
        self._save_timer.start()
