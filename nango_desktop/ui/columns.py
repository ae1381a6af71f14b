"""Table columns that use the space: sized to their content, one stretch column, a column chooser.

- ``fit_columns(view, stretch=...)``: every column as wide as its header and its visible rows need (capped),
  the ``stretch`` column takes what is left (and gives it back first when the window narrows). Call it once
  data has arrived; the user's own widths are kept afterwards (``ColumnLayout`` does that for you).
- ``ColumnLayout(view, key, stretch=..., required=..., hidden_by_default=...)``: the above plus a column
  chooser (right-click the header: a check box per column) and memory: hidden columns and the widths the user
  set are saved per table ``key`` in the window-state file (QSettings, never app settings or secrets) and
  restored on the next start. Columns are stored by their header names, so a renamed or added column does not
  shift the others.

Works with a QTableView (horizontal header) or a QTreeView (its header).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPoint, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QTreeView

from nango_desktop import paths

log = logging.getLogger(__name__)

STATE_FILE = "window.ini"  # the same file as the main window's geometry
MAX_FITTED = 480  # squeeze_to_fit narrows wide columns when the view is short of room
PADDING = 10


def view_settings() -> QSettings:
    return QSettings(str(paths.config_dir() / STATE_FILE), QSettings.Format.IniFormat)


def header_of(view: QAbstractItemView) -> QHeaderView:
    if isinstance(view, QTreeView):
        return view.header()
    assert isinstance(view, QTableView)
    return view.horizontalHeader()


def column_names(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    return [
        str(model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "")
        for c in range(model.columnCount())
    ]


def content_width(view: QAbstractItemView, column: int, cap: int = MAX_FITTED) -> int:
    """What ``column`` needs: its header and its visible rows (Qt samples at most 1,000 rows), capped."""
    header = header_of(view)
    wanted = max(view.sizeHintForColumn(column), header.sectionSizeHint(column)) + PADDING
    return min(wanted, cap)


def fit_columns(
    view: QAbstractItemView,
    *,
    stretch: int | None,
    caps: dict[int, int] | None = None,
    skip: Iterable[int] = (),
) -> None:
    """Size every visible column to its content; ``stretch`` takes the remaining width."""
    header = header_of(view)
    header.setStretchLastSection(False)
    skipped = set(skip)
    for column in range(header.count()):
        if column == stretch:
            continue
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        if column in skipped or header.isSectionHidden(column):
            continue
        header.resizeSection(column, content_width(view, column, (caps or {}).get(column, MAX_FITTED)))
    if stretch is not None and 0 <= stretch < header.count():
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    squeeze_to_fit(view, stretch=stretch)


SQUEEZE_FLOOR = 72  # a squeezed column keeps at least this much (its text elides)
STRETCH_FLOOR = 80
STRETCH_WANTED = 240  # the stretch column is given up to this much (its content) before others squeeze


def squeeze_to_fit(view: QAbstractItemView, *, stretch: int | None, protect: Iterable[int] = ()) -> None:
    """When the fitted columns are wider than the view, narrow the widest ones (never below SQUEEZE_FLOOR)
    so that every column stays on screen; their text elides, the whole value is in the tooltip/detail.
    ``protect``ed columns (the ones a user reads first) are narrowed only when the others are at the floor."""
    header = header_of(view)
    available = view.viewport().width()
    if available <= 0:
        return
    columns = [c for c in range(header.count()) if not header.isSectionHidden(c) and c != stretch]
    stretch_room = stretch_floor = 0
    if stretch is not None and not header.isSectionHidden(stretch):
        stretch_floor = max(STRETCH_FLOOR, header.sectionSizeHint(stretch))  # its title stays readable
        stretch_room = max(stretch_floor, min(STRETCH_WANTED, content_width(view, stretch)))
    needed = sum(header.sectionSize(c) for c in columns) + stretch_room
    excess = needed - available
    if excess > 0 and stretch_room > stretch_floor:  # the stretch column gives way first
        excess -= stretch_room - max(stretch_floor, stretch_room - excess)
    protected = set(protect)
    # a squeezed column keeps its title readable (and at least SQUEEZE_FLOOR)
    floor = {c: max(SQUEEZE_FLOOR, header.sectionSizeHint(c)) for c in columns}
    while excess > 0:
        wide = [c for c in columns if header.sectionSize(c) > floor[c] and c not in protected]
        if not wide:
            wide = [c for c in columns if header.sectionSize(c) > floor[c]]
        if not wide:
            break
        widest = max(header.sectionSize(c) for c in wide)
        second = max((header.sectionSize(c) for c in wide if header.sectionSize(c) < widest), default=0)
        at_top = [c for c in wide if header.sectionSize(c) == widest]
        room = sum(header.sectionSize(c) - max(second, floor[c]) for c in at_top)
        cut = min(excess, room)
        if cut <= 0:
            break
        each = max(1, -(-cut // len(at_top)))
        for c in at_top:
            header.resizeSection(c, max(floor[c], second, header.sectionSize(c) - each))
        excess -= cut


class ColumnLayout(QObject):
    """Fitted columns, a header context menu to show/hide columns, and both remembered per ``key``."""

    def __init__(
        self,
        view: QAbstractItemView,
        key: str,
        *,
        stretch: int | None,
        required: Iterable[int] = (0,),
        hidden_by_default: Iterable[int] = (),
        caps: dict[int, int] | None = None,
        drop_order: Iterable[int] = (),
    ) -> None:
        # A child of the viewport, and filtering only the viewport: destroying the view destroys this object
        # before the viewport goes, so no event of a half-destroyed widget ever reaches Python.
        super().__init__(view.viewport())
        self.setObjectName(f"columnLayout_{key}")
        self.view = view
        self.key = key
        self.stretch = stretch
        self.required = set(required)
        self.caps = dict(caps or {})
        # when even squeezed columns are wider than the view (a narrow window, the detail pane open), these
        # are hidden for room, in this order, and shown again when the room is back; never saved as the
        # user's choice, and a column the user hid stays hidden
        self.drop_order = [c for c in drop_order if c not in self.required and c != stretch]
        self.dropped: set[int] = set()
        self.fitted = False
        self._want_fit = False
        self._natural: dict[int, int] = {}  # column -> width before squeezing (content or the user's)
        self._user_widths: dict[str, int] = {}
        self._restoring = False
        header = header_of(view)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._popup)
        header.setToolTip("Right-click to choose the columns")
        header.sectionResized.connect(self._on_resized)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(300)
        self._save_timer.timeout.connect(self.save)
        names = column_names(view)
        default_hidden = {names[c] for c in hidden_by_default if c < len(names)}
        self._restore(default_hidden)
        self._viewport = view.viewport()
        self._viewport.installEventFilter(self)  # its width is the one columns share (set after the view's)

    # -- public ---------------------------------------------------------------------------------------
    def fit(self, *, force: bool = False) -> None:
        """Fit the columns to the data (once, unless ``force``; deferred until the view is shown, since a
        hidden view has no width); the user's saved widths win."""
        if (self.fitted and not force) or not shiboken6.isValid(self.view):
            return
        if not self.view.isVisible():
            self._want_fit = True
            return
        self._want_fit = False
        self._restoring = True
        try:
            fit_columns(self.view, stretch=self.stretch, caps=self.caps)
            header = header_of(self.view)
            self._natural = {}
            for column, name in enumerate(column_names(self.view)):
                if column == self.stretch:
                    continue
                width = self._user_widths.get(name) or content_width(
                    self.view, column, self.caps.get(column, MAX_FITTED)
                )
                self._natural[column] = width
                header.resizeSection(column, width)
            self._make_room(header)
        finally:
            self._restoring = False
        self.fitted = True

    def refit_to_width(self) -> None:
        """The view changed width: columns back to their natural widths, squeezed again if needed."""
        if not self.fitted or not self._natural:
            return
        self._restoring = True
        try:
            header = header_of(self.view)
            for column in self.dropped:  # room may be back: every dropped column gets another chance
                header.setSectionHidden(column, False)
            self.dropped.clear()
            for column, width in self._natural.items():
                if column < header.count() and not header.isSectionHidden(column):
                    header.resizeSection(column, width)
            self._make_room(header)
        finally:
            self._restoring = False

    def _make_room(self, header: QHeaderView) -> None:
        """Squeeze; while the columns still overflow the view, hide the next column of ``drop_order``."""
        squeeze_to_fit(self.view, stretch=self.stretch, protect=self.required)
        for column in self.drop_order:
            if not self._overflows(header):
                return
            if column < header.count() and not header.isSectionHidden(column):
                header.setSectionHidden(column, True)
                self.dropped.add(column)
                squeeze_to_fit(self.view, stretch=self.stretch, protect=self.required)

    def _overflows(self, header: QHeaderView) -> bool:
        available = self.view.viewport().width()
        if available <= 0:
            return False
        used = sum(
            header.sectionSize(c) if c != self.stretch else max(STRETCH_FLOOR, header.sectionSizeHint(c))
            for c in range(header.count())
            if not header.isSectionHidden(c)
        )
        return used > available

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.Show and self._want_fit:
            QTimer.singleShot(0, self.fit)
        elif kind == QEvent.Type.Resize and shiboken6.isValid(self.view):
            self.refit_to_width()
        return False

    def hidden_names(self) -> list[str]:
        """The columns the user hid (not those hidden for room)."""
        header = header_of(self.view)
        return [
            n
            for c, n in enumerate(column_names(self.view))
            if header.isSectionHidden(c) and c not in self.dropped
        ]

    def set_column_visible(self, column: int, visible: bool) -> None:
        if column in self.required and not visible:
            return
        self.dropped.discard(column)
        self.view.setColumnHidden(column, not visible)  # type: ignore[attr-defined]  # QTableView/QTreeView
        if visible and self.fitted and column != self.stretch:
            self._natural.setdefault(
                column, content_width(self.view, column, self.caps.get(column, MAX_FITTED))
            )
        self.refit_to_width()
        self.save()

    def menu(self) -> QMenu:
        menu = QMenu(self.view)
        menu.setObjectName(f"columnChooser_{self.key}")
        header = header_of(self.view)
        for column, name in enumerate(column_names(self.view)):
            action = menu.addAction(name or f"Column {column + 1}")
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(column) or column in self.dropped)
            action.setEnabled(column not in self.required)
            if column in self.dropped:
                action.setText(f"{action.text()} (hidden for room: widen the window or close the detail)")
            action.setData(column)
            action.toggled.connect(self._on_toggled)
        menu.addSeparator()
        fit = menu.addAction("Fit columns to their content")
        fit.triggered.connect(self._refit)
        return menu

    # -- persistence ----------------------------------------------------------------------------------
    def save(self) -> None:
        store = view_settings()
        store.setValue(
            f"columns/{self.key}", json.dumps({"hidden": self.hidden_names(), "widths": self._user_widths})
        )
        store.sync()

    def _restore(self, default_hidden: set[str]) -> None:
        raw = view_settings().value(f"columns/{self.key}")
        hidden = default_hidden
        if isinstance(raw, str) and raw:
            try:
                data = json.loads(raw)
                hidden = set(data.get("hidden") or [])
                self._user_widths = {str(k): int(v) for k, v in (data.get("widths") or {}).items()}
            except (ValueError, TypeError, AttributeError):
                log.warning("Ignoring unreadable column state for %s", self.key)
        for column, name in enumerate(column_names(self.view)):
            if column not in self.required:
                self.view.setColumnHidden(column, name in hidden)  # type: ignore[attr-defined]

    # -- slots ----------------------------------------------------------------------------------------
    @Slot(QPoint)
    def _popup(self, pos: QPoint) -> None:
        menu = self.menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(header_of(self.view).mapToGlobal(pos))

    @Slot(bool)
    def _on_toggled(self, checked: bool) -> None:
        action = self.sender()
        column = action.data() if isinstance(action, QAction) else None
        if isinstance(column, int):
            self.set_column_visible(column, checked)

    @Slot()
    def _refit(self) -> None:
        self._user_widths.clear()
        self.fit(force=True)
        self.save()

    @Slot(int, int, int)
    def _on_resized(self, column: int, _old: int, new: int) -> None:
        if self._restoring or not self.fitted or column == self.stretch or new <= 0:
            return
        names = column_names(self.view)
        if column < len(names):
            self._user_widths[names[column]] = new
            self._natural[column] = new
            self._save_timer.start()
