"""Themed, HiDPI icons from ``nango_desktop/resources/icons/*.svg``.

The SVGs are package data read with ``importlib.resources`` (works from a wheel, a zip and a PyInstaller
build). They are drawn with ``currentColor``; ``icon(name)`` renders them at the exact device pixel size
with the palette's text colour (or the disabled / highlighted-text colour), so they follow the light/dark
scheme. Names: ``available()``. ``icon(name, color=...)`` forces a colour (status icons).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from nango_desktop.ui.theme import ICON_STATUS_COLORS

# Fixed colours for status icons (readable on light and dark backgrounds).
STATUS_COLORS = ICON_STATUS_COLORS


def _icon_dir():
    return resources.files("nango_desktop").joinpath("resources", "icons")


@cache
def svg_source(name: str) -> str:
    """The SVG text of icon ``name``; raises FileNotFoundError for unknown names."""
    return _icon_dir().joinpath(f"{name}.svg").read_text(encoding="utf-8")


def available() -> list[str]:
    return sorted(p.name[:-4] for p in _icon_dir().iterdir() if p.name.endswith(".svg"))


def _mode_color(mode: QIcon.Mode) -> QColor:
    palette = QGuiApplication.palette()
    if mode == QIcon.Mode.Disabled:
        return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    if mode == QIcon.Mode.Selected:
        return palette.color(QPalette.ColorRole.HighlightedText)
    return palette.color(QPalette.ColorRole.WindowText)


class SvgIconEngine(QIconEngine):
    """Renders an SVG (with ``currentColor``) at any size and device pixel ratio."""

    def __init__(self, name: str, color: str | None = None) -> None:
        super().__init__()
        self._name, self._color = name, color
        self._source = svg_source(name)

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self._name, self._color)

    def iconName(self) -> str:
        return self._name

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        color = self._color if self._color and mode != QIcon.Mode.Disabled else _mode_color(mode).name()
        return QSvgRenderer(QByteArray(self._source.replace("currentColor", color).encode()))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        side = min(rect.width(), rect.height())
        target = QRectF(
            rect.x() + (rect.width() - side) / 2, rect.y() + (rect.height() - side) / 2, side, side
        )
        self._renderer(mode).render(painter, target)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        image = QImage(size * scale, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(0, 0, image.width(), image.height()), mode, state)
        painter.end()
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return size

    def isNull(self) -> bool:
        return False


def icon(name: str, color: str | None = None) -> QIcon:
    """A QIcon for ``name`` (an SVG in resources/icons). ``color``: a fixed CSS colour or a STATUS_COLORS key."""
    return QIcon(SvgIconEngine(name, STATUS_COLORS.get(color or "", color)))


def app_icon() -> QIcon:
    """The application icon: resources/icons/app.svg in its own colours, rendered at the usual sizes."""
    source = svg_source("app")
    renderer = QSvgRenderer(QByteArray(source.encode()))
    result = QIcon()
    for side in (16, 24, 32, 48, 64, 128, 256):
        image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        result.addPixmap(QPixmap.fromImage(image))
    return result
