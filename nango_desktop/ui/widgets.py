"""Small shared widgets for every page.

- ``ErrorBanner``: non-modal error strip (title, "Details" expander with the technical detail, dismiss).
  ``banner.show_exception(exc)`` or ``banner.show_error(title, detail)``. Queues several errors.
- ``BusyBar``: progress bar with a message and a Cancel button. ``bar.track(task, "Loading…")`` wires a
  ``qtutil.workers.Task`` (progress, cancel, hide when done); or ``start()`` / ``set_progress()`` / ``finish()``.
- ``SearchLineEdit``: a search box; ``textChanged`` is instant (local filtering), ``searchChanged(str)`` is
  debounced (server-side search, default 300 ms); Enter flushes at once, Escape clears.
- ``confirm_destructive(parent, ctx, connection_id, action="Delete")``: for a production profile the user
  must type the connection id; otherwise a plain confirmation. Returns True to go ahead. Tests monkeypatch
  ``DestructiveConfirmDialog.ask``.
- ``PlaceholderPage``: shown where a page could not be built.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.qtutil.errors import describe_error
from nango_desktop.ui import icons, theme

if TYPE_CHECKING:
    from nango_desktop.qtutil.workers import Task
    from nango_desktop.ui.context import AppContext


def _tool_button(icon_name: str, tip: str, parent: QWidget, object_name: str = "") -> QToolButton:
    button = QToolButton(parent)
    button.setIcon(icons.icon(icon_name))
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setAutoRaise(True)
    if object_name:
        button.setObjectName(object_name)
    return button


class ErrorBanner(QFrame):
    """A dismissable error strip. Newest error first; "n more" dismisses to the next one.

    Signals: ``dismissed()`` when the last error is dismissed.
    """

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#errorBanner { background: rgba(229, 72, 77, 0.14); border: 1px solid rgba(229, 72, 77, 0.6);"
            " border-radius: 6px; }"
        )
        self._errors: list[tuple[str, str]] = []  # (title, detail), newest last
        icon_label = QLabel(self)
        icon_label.setPixmap(icons.icon("error", "error").pixmap(QSize(20, 20)))
        self.title_label = QLabel(self)
        self.title_label.setObjectName("errorBannerTitle")
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.more_label = QLabel(self)
        self.details_button = QToolButton(self)
        self.details_button.setObjectName("errorBannerDetails")
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setIcon(icons.icon("chevron-right"))
        self.details_button.setAutoRaise(True)
        self.details_button.toggled.connect(self._toggle_details)
        self.copy_button = _tool_button("copy", "Copy error details", self, "errorBannerCopy")
        self.copy_button.clicked.connect(self._copy)
        self.dismiss_button = _tool_button("close", "Dismiss", self, "errorBannerDismiss")
        self.dismiss_button.clicked.connect(self.dismiss)
        self.detail_text = QPlainTextEdit(self)
        self.detail_text.setObjectName("errorBannerDetailText")
        self.detail_text.setReadOnly(True)
        self.detail_text.setMaximumHeight(110)
        self.detail_text.hide()

        top = QHBoxLayout()
        top.addWidget(icon_label, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.title_label, 1)
        top.addWidget(self.more_label)
        top.addWidget(self.details_button)
        top.addWidget(self.copy_button)
        top.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.detail_text)
        self.hide()

    # -- API ----------------------------------------------------------------------------------------
    def show_exception(self, exc: BaseException) -> None:
        self.show_error(*describe_error(exc))

    def show_error(self, title: str, detail: str = "") -> None:
        if self._errors and self._errors[-1] == (title, detail):
            return  # the same error again (e.g. every retry): keep one
        self._errors.append((title, detail))
        self._update()

    def current(self) -> tuple[str, str] | None:
        return self._errors[-1] if self._errors else None

    def count(self) -> int:
        return len(self._errors)

    @Slot()
    def dismiss(self) -> None:
        if self._errors:
            self._errors.pop()
        self._update()
        if not self._errors:
            self.dismissed.emit()

    @Slot()
    def clear(self) -> None:
        self._errors.clear()
        self._update()

    def withdraw(self, title: str) -> int:
        """Remove every error with this title (its cause is fixed); returns how many were removed."""
        before = len(self._errors)
        self._errors = [e for e in self._errors if e[0] != title]
        removed = before - len(self._errors)
        if removed:
            self._update()
            if not self._errors:
                self.dismissed.emit()
        return removed

    # -- internals ----------------------------------------------------------------------------------
    def _update(self) -> None:
        if not self._errors:
            self.details_button.setChecked(False)
            self.hide()
            return
        title, detail = self._errors[-1]
        self.title_label.setText(title)
        self.detail_text.setPlainText(detail)
        self.details_button.setVisible(bool(detail))
        if not detail:
            self.details_button.setChecked(False)
        more = len(self._errors) - 1
        self.more_label.setText(f"+{more} more" if more else "")
        self.dismiss_button.setToolTip("Dismiss (show the previous error)" if more else "Dismiss")
        self.show()

    @Slot(bool)
    def _toggle_details(self, on: bool) -> None:
        self.detail_text.setVisible(on)
        self.details_button.setIcon(icons.icon("chevron-down" if on else "chevron-right"))

    @Slot()
    def _copy(self) -> None:
        from PySide6.QtGui import QGuiApplication

        if self._errors:
            title, detail = self._errors[-1]
            QGuiApplication.clipboard().setText(f"{title}\n{detail}".strip())


class BusyBar(QWidget):
    """Message + progress bar + Cancel button, hidden when idle.

    ``total=None`` shows a busy (indeterminate) bar. Cancel sets the given ``threading.Event`` (or the
    tracked task's) and emits ``cancelRequested``.
    """

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("busyBar")
        self._cancel: threading.Event | None = None
        self._task: Task | None = None
        self.label = QLabel(self)
        self.label.setObjectName("busyBarLabel")
        self.bar = QProgressBar(self)
        self.bar.setObjectName("busyBarProgress")
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("busyBarCancel")
        self.cancel_button.setIcon(icons.icon("stop"))
        self.cancel_button.clicked.connect(self.request_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(
        self, message: str = "Working…", cancel: threading.Event | None = None, *, cancellable: bool = False
    ) -> None:
        """Show the bar (busy). Cancel is offered when ``cancel`` is given or ``cancellable`` is True."""
        self._cancel = cancel
        self.cancel_button.setEnabled(True)
        self.cancel_button.setVisible(cancel is not None or cancellable)
        self.label.setText(message)
        self.bar.setRange(0, 0)
        self.show()

    @Slot(object, object, str)
    def set_progress(self, done: int, total: int | None = None, message: str = "") -> None:
        if total:
            self.bar.setRange(0, int(total))
            self.bar.setValue(min(int(done), int(total)))
        else:
            self.bar.setRange(0, 0)
        if message:
            self.label.setText(message)

    @Slot()
    def finish(self) -> None:
        self._cancel, self._task = None, None
        self.hide()

    @Slot()
    def request_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self.cancelRequested.emit()

    def is_busy(self) -> bool:
        return not self.isHidden()

    def track(self, task: Task, message: str = "Working…") -> Task:
        """Show progress of ``task`` (call before or after ``task.start()``); hide when it is done.

        Task signals are emitted from the event loop, so tracking right after ``start()`` never misses the
        end; a task whose ``done`` was already delivered hides the bar at once instead of showing it forever.
        """
        if task.delivered:
            self.finish()
            return task
        self._task = task
        task.signals.progress.connect(self._on_task_progress)
        task.signals.done.connect(self._on_task_done)
        self.start(message, task.cancel_event)
        self._task = task
        return task

    @Slot(object, object, str)
    def _on_task_progress(self, done: Any, total: Any, message: str) -> None:
        if self._task is not None and self.sender() is self._task.signals:
            self.set_progress(done, total, message)

    @Slot()
    def _on_task_done(self) -> None:
        if self._task is not None and self.sender() is self._task.signals:
            self.finish()


class SearchLineEdit(QLineEdit):
    """Search box: ``textChanged`` instant, ``searchChanged(str)`` debounced; Enter flushes, Escape clears."""

    searchChanged = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, placeholder: str = "Search…", debounce_ms: int = 300
    ):
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._last_emitted: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.flush)
        self.textChanged.connect(self._restart)
        self.returnPressed.connect(self.flush)

    def set_debounce(self, ms: int) -> None:
        self._timer.setInterval(ms)

    def debounce(self) -> int:
        return self._timer.interval()

    def is_pending(self) -> bool:
        return self._timer.isActive()

    @Slot(str)
    def _restart(self, _text: str) -> None:
        self._timer.start()

    @Slot()
    def flush(self) -> None:
        """Emit ``searchChanged`` now if the text differs from the last emitted value."""
        self._timer.stop()
        text = self.text().strip()
        if text != self._last_emitted:
            self._last_emitted = text
            self.searchChanged.emit(text)

    def set_results(self, view: QAbstractItemView) -> None:
        """Down (or Page Down) moves into ``view``: the results this box filters."""
        self._results = view

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            self.flush()
            return
        results = getattr(self, "_results", None)
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) and results is not None:
            if focus_results(results):
                return
        super().keyPressEvent(event)


def focus_results(view: QAbstractItemView) -> bool:
    """Focus ``view`` with a current row (the first one when none is current); False when it is empty."""
    model = view.model()
    if model is None or model.rowCount() == 0:
        return False
    view.setFocus(Qt.FocusReason.TabFocusReason)
    current = view.currentIndex()
    target = current if current.isValid() else model.index(0, 0)
    selection = view.selectionModel()
    if selection is not None and not (
        current.isValid() and selection.isRowSelected(current.row(), current.parent())
    ):
        selection.setCurrentIndex(
            target, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
    view.scrollTo(target)
    return True


def tab_chain(*widgets: QWidget | None) -> None:
    """Tab goes through ``widgets`` in this order (None and hidden ones are skipped by Qt)."""
    chain = [w for w in widgets if w is not None]
    for first, second in zip(chain, chain[1:], strict=False):
        QWidget.setTabOrder(first, second)


class DestructiveConfirmDialog(QDialog):
    """Confirmation for a destructive action; with ``production`` the connection id must be typed."""

    def __init__(
        self,
        parent: QWidget | None,
        *,
        connection_id: str,
        action: str = "Delete",
        production: bool = False,
        profile_name: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("confirmDestructiveDialog")
        self.setWindowTitle(f"{action} — confirm")
        self.connection_id = connection_id
        self.production = production
        layout = QVBoxLayout(self)
        text = f"<b>{action} connection <code>{_html(connection_id)}</code>?</b>"
        if production:
            text += (
                f"<br><span style='color:{theme.ERROR}'>This is the PRODUCTION profile “{_html(profile_name)}”.</span>"
                "<br>Type the connection id to confirm."
            )
        if detail:
            text += f"<br>{_html(detail)}"
        message = QLabel(text, self)
        message.setTextFormat(Qt.TextFormat.RichText)
        message.setWordWrap(True)
        layout.addWidget(message)
        self.id_edit = QLineEdit(self)
        self.id_edit.setObjectName("confirmConnectionId")
        self.id_edit.setPlaceholderText(connection_id)
        self.id_edit.setVisible(production)
        layout.addWidget(self.id_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.addButton(action, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.ok_button.setObjectName("confirmDestructiveOk")
        self.ok_button.clicked.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.id_edit.textChanged.connect(self._check)
        self._check()
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)

    @Slot()
    def _check(self) -> None:
        self.ok_button.setEnabled(not self.production or self.id_edit.text().strip() == self.connection_id)

    def accept(self) -> None:
        if self.ok_button.isEnabled():
            super().accept()

    @classmethod
    def ask(cls, parent: QWidget | None, **kw: Any) -> bool:
        """Modal; True when confirmed. Tests monkeypatch this."""
        return cls(parent, **kw).exec() == QDialog.DialogCode.Accepted


def confirm_destructive(
    parent: QWidget | None, ctx: AppContext, connection_id: str, action: str = "Delete", detail: str = ""
) -> bool:
    """Ask before a destructive action on ``connection_id``; production profiles require typing the id."""
    profile = getattr(ctx, "profile", None)
    return DestructiveConfirmDialog.ask(
        parent,
        connection_id=connection_id,
        action=action,
        production=bool(getattr(profile, "production", False)),
        profile_name=getattr(profile, "name", ""),
        detail=detail,
    )


class PlaceholderPage(QWidget):
    """Stands in for a page that is not available (module missing or failed to build)."""

    def __init__(self, title: str, reason: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        label = QLabel(f"<h2>{_html(title)}</h2><p>This page is not available in this build.</p>", self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(label)
        if reason:
            detail = QLabel(reason, self)
            detail.setObjectName("placeholderReason")
            detail.setWordWrap(True)
            detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(detail)
        layout.addStretch(2)

    def refresh(self) -> None:
        """Nothing to refresh."""

    def focus_search(self) -> None:
        """Nothing to search."""


def _html(text: str) -> str:
    from html import escape

    return escape(text, quote=True)
