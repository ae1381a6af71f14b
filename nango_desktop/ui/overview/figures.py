"""The Overview's figures: a big number with a caption, each a button opening the matching filtered list."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolButton, QWidget

from nango_desktop.ui.overview.charts import is_dark_palette, series_color


class FigureButton(QToolButton):
    """A big number with a caption; clicking it opens the matching filtered list."""

    def __init__(self, name: str, caption: str, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.caption = caption
        self.value: int | None = None
        self.setToolTip(tip)
        self.setAccessibleName(caption)
        self.setAutoRaise(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(62)
        font = self.font()
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setWeight(QFont.Weight.DemiBold)
        self.setFont(font)
        self.alert = False
        self.set_value(None)

    def set_value(self, value: int | None, *, alert: bool = False) -> None:
        self.value = value
        self.setText(f"{'—' if value is None else f'{value:,}'}\n{self.caption}")
        alert = bool(alert and value)
        if alert != self.alert:
            self.alert = alert
            self._apply_colors()

    def _apply_colors(self) -> None:
        # one palette role, not a style sheet (a style sheet makes Fusion paint a light button in dark mode);
        # the other roles keep following the application palette (theme switches)
        palette = QPalette()
        if self.alert:
            color = series_color("auth_error", is_dark_palette(QGuiApplication.palette()))
            if self.palette().color(QPalette.ColorRole.ButtonText) == color:
                return  # already right (and no PaletteChange loop)
            palette.setColor(QPalette.ColorRole.ButtonText, color)
        elif self.palette().resolveMask() == 0:
            return
        self.setPalette(palette)

    def changeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_colors()
