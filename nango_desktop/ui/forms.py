"""Form helpers that keep fields still while the user types.

``FieldMessage`` is the message line under a field (error, warning or hint). Its line is always reserved:
a message appearing or going away never moves the fields below it (typing used to land in the wrong field
when an error label appeared mid-word). A message longer than the line is elided; the whole text is in its
tooltip and in ``text()``. ``StayOpenMenu`` lets the user tick several items of a filter menu in one go;
``steady_width`` keeps a button's width when its label changes. ``Touched`` remembers which fields the user has edited, so a required field left
empty is only reported once the user has been there (or tried to submit), never in red on a fresh form.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QAction, QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from nango_desktop.ui import icons

KIND_COLORS = {"error": "error", "warning": "warning"}


class FieldMessage(QLabel):
    """One reserved line under a form field; ``set_message(text, kind)``; empty text keeps the line."""

    def __init__(self, name: str, parent: QWidget | None = None, lines: int = 1) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.kind = "error"
        self._lines = max(1, lines)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self._line_height())

    def _line_height(self) -> int:
        return self.fontMetrics().lineSpacing() * self._lines + 2

    def set_message(self, text: str | None, kind: str = "error") -> None:
        self.kind = kind
        text = text or ""
        if text != self.text():
            self.setText(text)
        self.setToolTip(text if text else "")
        self.update()

    def message(self) -> str:
        return self.text()

    # The whole text stays in text() (tests, accessibility); painting shows what fits in the reserved lines.
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(40, self._line_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, self._line_height())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.setFixedHeight(self._line_height())

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        text = self.text()
        if not text:
            return
        painter = QPainter(self)
        color = icons.STATUS_COLORS.get(KIND_COLORS.get(self.kind, ""))
        painter.setPen(QColor(color) if color else self.palette().color(self.foregroundRole()))
        metrics = self.fontMetrics()
        lines = text.splitlines() or [text]
        shown = lines[: self._lines]
        hidden = len(lines) - len(shown)
        y = metrics.ascent() + 1
        for i, line in enumerate(shown):
            if hidden and i == len(shown) - 1:
                line = f"{line} (+{hidden} more)"
            elided = metrics.elidedText(line, Qt.TextElideMode.ElideRight, max(0, self.width()))
            painter.drawText(0, y, elided)
            y += metrics.lineSpacing()
        painter.end()


class Touched(QObject):
    """Which line edits the user has edited or left (focus out); ``all`` after a submit attempt."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._names: set[str] = set()
        self.all = False

    def watch(self, name: str, edit: QLineEdit) -> None:
        edit.textEdited.connect(lambda _text, n=name: self._names.add(n))
        edit.editingFinished.connect(lambda n=name: self._names.add(n))

    def mark(self, name: str) -> None:
        self._names.add(name)

    def __contains__(self, name: object) -> bool:
        return self.all or name in self._names


class StayOpenMenu(QMenu):
    """A menu of check boxes that stays open while the user ticks several (a click toggles the item; a click
    on a plain item, Escape or a click outside closes it as usual)."""

    @staticmethod
    def _toggle(action: QAction | None) -> bool:
        if action is not None and action.isEnabled() and action.isCheckable():
            action.trigger()  # toggles and emits triggered/toggled, without closing
            return True
        return False

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._toggle(self.actionAt(event.position().toPoint())):
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        keys = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if event.key() in keys and self._toggle(self.activeAction()):
            return
        super().keyPressEvent(event)


def steady_width(button: QToolButton, texts: list[str]) -> None:
    """Make ``button`` as wide as its widest expected label, so changing the label never re-flows its row."""
    current = button.text()
    width = 0
    for text in texts:
        button.setText(text)
        width = max(width, button.sizeHint().width())
    button.setText(current)
    button.setFixedWidth(width)


def elide_to(button: QToolButton, text: str) -> str:
    """``text`` elided to what fits in the label area of a fixed-width tool button."""
    metrics = button.fontMetrics()
    current = button.text()
    button.setText("x")
    overhead = button.sizeHint().width() - metrics.horizontalAdvance("x")  # icon, padding, menu arrow
    button.setText(current)
    room = button.width() - overhead
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(room, 20))


class FlowLayout(QLayout):
    """Lays its items out in rows like words in a paragraph: a narrow pane wraps its buttons onto another
    row instead of cutting them (Qt's flow layout example, heightForWidth included)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and row_height > 0:
                x = area.x()
                y += row_height + self._spacing
                row_height = 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


class ElidedLabel(QLabel):
    """A one-line label that never asks for more width than it gets: it elides (…) and shows the whole
    text in its tooltip when cut."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(40, super().minimumSizeHint().height())

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        rect = self.contentsRect()
        elided = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), elided)
        painter.end()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        super().setText(text)
        self.setToolTip(text if self.is_elided() else "")
        self.update()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.setToolTip(self.text() if self.is_elided() else "")
