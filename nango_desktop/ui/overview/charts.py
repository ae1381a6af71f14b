"""Small charts drawn with QPainter (no QtCharts: it needs PySide6-Addons, see README "Overview").

- :class:`ChartWidget`: stacked bars, horizontal (categories with names: integrations, link statuses) or
  vertical (time: weeks, minutes), with an optional overlay line (failures). Axes with round ticks, a legend,
  a hover highlight with a tooltip (``tooltip_at``), ``barClicked(category, series)`` on click, colours
  from the palette (light/dark) plus a fixed series palette tuned for each scheme.
- :class:`ChartCard`: a framed title, an Export button and the same actions in the chart's context menu:
  PNG (``grab()``, encoded and written on a worker) and the data as CSV (written on a worker).

Only the GUI thread touches these widgets; ``set_data`` is cheap (it stores lists and schedules a repaint).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.overview import csv_text, nice_ticks
from nango_desktop.ui import icons
from nango_desktop.ui.forms import ElidedLabel
from nango_desktop.ui.theme import SERIES_COLORS, SERIES_FALLBACK

__all__ = ["ChartCard", "ChartWidget", "ElidedLabel", "Series", "is_dark_palette", "series_color"]

log = logging.getLogger(__name__)


def is_dark_palette(palette: QPalette) -> bool:
    return (
        palette.color(QPalette.ColorRole.Window).lightness()
        < palette.color(QPalette.ColorRole.WindowText).lightness()
    )


def series_color(key: str, dark: bool) -> QColor:
    light, night = SERIES_COLORS.get(key, SERIES_FALLBACK)
    return QColor(night if dark else light)


@dataclass(frozen=True)
class Series:
    key: str  # colour and ``barClicked`` key
    name: str  # legend / tooltip / CSV header
    values: Sequence[float]


class ChartWidget(QWidget):
    """Stacked bars (``horizontal=True``: categories down the left side) with optional overlay line."""

    barClicked = Signal(str, str)  # (category key, series key)

    PAD = 8
    BAR_GAP = 0.25  # share of a category's band left empty

    def __init__(
        self,
        *,
        horizontal: bool = False,
        empty_text: str = "No data yet",
        value_name: str = "Count",
        category_name: str = "Category",
        legend: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.horizontal = horizontal
        self.legend = legend
        self.empty_text = empty_text
        self.value_name = value_name
        self.category_name = category_name
        self.categories: list[str] = []  # keys
        self.labels: list[str] = []  # axis labels (same length)
        self.series: list[Series] = []
        self.overlay: Series | None = None
        self.hover = -1
        self._plot = QRectF()
        self._band = 0.0
        self._max = 1.0
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)  # narrow charts thin out their axis labels instead of clipping

    # -- data ---------------------------------------------------------------------------------------------
    def set_data(
        self,
        categories: Sequence[str],
        series: Sequence[Series],
        *,
        labels: Sequence[str] | None = None,
        overlay: Series | None = None,
    ) -> None:
        self.categories = list(categories)
        self.labels = list(labels) if labels is not None else list(categories)
        self.series = list(series)
        self.overlay = overlay
        if self.hover >= len(self.categories):
            self.hover = -1
        self.update()

    def total(self, index: int) -> float:
        return sum(s.values[index] for s in self.series)

    def is_empty(self) -> bool:
        return not self.categories or not any(self.total(i) for i in range(len(self.categories)))

    def csv(self) -> str:
        columns = [*self.series, *([self.overlay] if self.overlay else [])]
        header = [self.category_name, *(s.name for s in columns), "Total"]
        rows = [
            [self.labels[i], *(_num(s.values[i]) for s in columns), _num(self.total(i))]
            for i in range(len(self.categories))
        ]
        return csv_text(header, rows)

    def tooltip_for(self, index: int) -> str:
        if not 0 <= index < len(self.categories):
            return ""
        lines = [f"<b>{_html(self.labels[index])}</b>"]
        for s in self.series:
            if s.values[index] or len(self.series) <= 3:
                lines.append(f"{_html(s.name)}: {_num(s.values[index]):,}")
        if self.overlay is not None:
            lines.append(
                f"<span style='color:{self._color(self.overlay.key).name()}'>"
                f"{_html(self.overlay.name)}: {_num(self.overlay.values[index]):,}</span>"
            )
        if len(self.series) > 1:
            lines.append(f"Total: {_num(self.total(index)):,}")
        return "<br>".join(lines)

    # -- geometry -----------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(420, 240)

    def _dark(self) -> bool:
        return is_dark_palette(self.palette())

    def _color(self, key: str) -> QColor:
        return series_color(key, self._dark())

    def _small_font(self):
        font = self.font()
        if font.pointSizeF() > 0:
            font.setPointSizeF(max(7.5, font.pointSizeF() * 0.9))
        return font

    def _legend_items(self) -> list[tuple[str, str]]:
        items = [(s.key, s.name) for s in self.series]
        if self.overlay is not None:
            items.append((self.overlay.key, self.overlay.name))
        return items if self.legend and len(items) > 1 else []

    def _layout(self, fm: QFontMetrics) -> tuple[QRectF, list[float]]:
        """The plot rectangle and the value ticks."""
        maximum = max((self.total(i) for i in range(len(self.categories))), default=0)
        if self.overlay is not None:
            maximum = max(maximum, max(self.overlay.values, default=0))
        ticks = nice_ticks(maximum)
        self._max = ticks[-1] or 1.0
        top = self.PAD + (fm.height() + 6 if self._legend_items() else 0)
        if self.horizontal:
            label_w = min(self.width() * 0.38, max((fm.horizontalAdvance(t) for t in self.labels), default=0))
            left = self.PAD + label_w + 6
            bottom = self.height() - self.PAD - fm.height() - 2
            # fewer value ticks when their labels would touch (a narrow chart: "1,0002,0003,000")
            for count in (5, 4, 3, 2, 1):
                ticks = nice_ticks(maximum, count)
                widest = max(fm.horizontalAdvance(f"{int(t):,}") for t in ticks)
                right = self.width() - self.PAD - widest / 2
                if (len(ticks) - 1) * (widest + 12) <= right - left:
                    break
            self._max = ticks[-1] or 1.0
        else:
            tick_w = max(fm.horizontalAdvance(f"{int(t):,}") for t in ticks)
            left = self.PAD + tick_w + 6
            bottom = self.height() - self.PAD - fm.height() - 2
            right = self.width() - self.PAD
        return QRectF(left, top, max(10.0, right - left), max(10.0, bottom - top)), ticks

    def index_at(self, pos: QPoint | QPointF) -> int:
        """The category under ``pos`` (-1 outside the plot)."""
        n = len(self.categories)
        plot = self._plot
        if not n or plot.isEmpty():
            return -1
        if self.horizontal:
            if not (plot.top() <= pos.y() < plot.bottom()) or pos.x() > plot.right() + 2:
                return -1
            index = int((pos.y() - plot.top()) / self._band)
        else:
            if not (plot.left() <= pos.x() < plot.right()) or pos.y() > plot.bottom() + 2:
                return -1
            index = int((pos.x() - plot.left()) / self._band)
        return index if 0 <= index < n else -1

    def series_at(self, pos: QPoint | QPointF) -> str:
        """The series key of the stacked segment under ``pos`` ("" when none)."""
        index = self.index_at(pos)
        if index < 0:
            return ""
        coord = pos.x() - self._plot.left() if self.horizontal else self._plot.bottom() - pos.y()
        span = self._plot.width() if self.horizontal else self._plot.height()
        acc = 0.0
        for s in self.series:
            acc += s.values[index] / self._max * span
            if coord <= acc:
                return s.key
        return ""

    def tooltip_at(self, pos: QPoint | QPointF) -> str:
        return self.tooltip_for(self.index_at(pos))

    # -- painting -------------------------------------------------------------------------------------------
    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        muted = QColor(text)
        muted.setAlphaF(0.72)
        grid = QColor(text)
        grid.setAlphaF(0.14)
        font = self._small_font()
        painter.setFont(font)
        fm = QFontMetrics(font)
        self._plot, ticks = self._layout(fm)
        plot = self._plot
        n = len(self.categories)
        self._band = (plot.height() if self.horizontal else plot.width()) / max(1, n)

        self._paint_legend(painter, fm, text)
        # value grid and tick labels
        last_right = -1e9
        for t in ticks:
            ratio = t / self._max
            painter.setPen(QPen(grid, 1))
            if self.horizontal:
                x = plot.left() + ratio * plot.width()
                painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
                painter.setPen(muted)
                label = f"{int(t):,}"
                w = fm.horizontalAdvance(label)
                if x - w / 2 < last_right + 6:
                    continue  # would touch the previous label
                painter.drawText(QPointF(x - w / 2, plot.bottom() + fm.ascent() + 3), label)
                last_right = x + w / 2
            else:
                y = plot.bottom() - ratio * plot.height()
                painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
                painter.setPen(muted)
                label = f"{int(t):,}"
                w = fm.horizontalAdvance(label)
                painter.drawText(QPointF(plot.left() - 6 - w, y + fm.ascent() / 2 - 1), label)
        if self.is_empty():
            painter.setPen(muted)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            # axis line still drawn below for context
        if 0 <= self.hover < n:
            hl = QColor(pal.color(QPalette.ColorRole.Highlight))
            hl.setAlphaF(0.16)
            band = (
                QRectF(plot.left(), plot.top() + self.hover * self._band, plot.width(), self._band)
                if self.horizontal
                else QRectF(plot.left() + self.hover * self._band, plot.top(), self._band, plot.height())
            )
            painter.fillRect(band, hl)
        self._paint_bars(painter, plot)
        if self.overlay is not None and n:
            self._paint_overlay(painter, plot)
        # axis line
        painter.setPen(QPen(muted, 1))
        if self.horizontal:
            painter.drawLine(plot.bottomLeft(), plot.topLeft())
        else:
            painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        self._paint_category_labels(painter, fm, plot, text)
        painter.end()

    def _paint_legend(self, painter: QPainter, fm: QFontMetrics, text: QColor) -> None:
        items = self._legend_items()
        x = float(self.PAD)
        y = float(self.PAD)
        sw = fm.height() * 0.7
        for key, name in items:
            w = sw + 4 + fm.horizontalAdvance(name) + 12
            if x + w > self.width() - self.PAD:
                break  # what does not fit is in the tooltip
            color = self._color(key)
            if self.overlay is not None and key == self.overlay.key:
                painter.setPen(QPen(color, 2))
                painter.drawLine(QPointF(x, y + fm.height() / 2), QPointF(x + sw, y + fm.height() / 2))
            else:
                painter.fillRect(QRectF(x, y + (fm.height() - sw) / 2, sw, sw), color)
            painter.setPen(text)
            painter.drawText(QPointF(x + sw + 4, y + fm.ascent()), name)
            x += w

    def _paint_bars(self, painter: QPainter, plot: QRectF) -> None:
        n = len(self.categories)
        gap = self._band * self.BAR_GAP if self._band >= 4 else 0.0
        thickness = max(1.0, self._band - gap)
        painter.setPen(Qt.PenStyle.NoPen)
        for i in range(n):
            acc = 0.0
            for s in self.series:
                value = s.values[i]
                if not value:
                    continue
                length = value / self._max
                if self.horizontal:
                    span = plot.width()
                    rect = QRectF(
                        plot.left() + acc * span,
                        plot.top() + i * self._band + gap / 2,
                        length * span,
                        thickness,
                    )
                else:
                    span = plot.height()
                    rect = QRectF(
                        plot.left() + i * self._band + gap / 2,
                        plot.bottom() - (acc + length) * span,
                        thickness,
                        length * span,
                    )
                painter.fillRect(rect, self._color(s.key))
                acc += length

    def _paint_overlay(self, painter: QPainter, plot: QRectF) -> None:
        assert self.overlay is not None
        color = self._color(self.overlay.key)
        path = QPainterPath()
        points: list[QPointF] = []
        for i, value in enumerate(self.overlay.values):
            if self.horizontal:
                p = QPointF(
                    plot.left() + value / self._max * plot.width(), plot.top() + (i + 0.5) * self._band
                )
            else:
                p = QPointF(
                    plot.left() + (i + 0.5) * self._band, plot.bottom() - value / self._max * plot.height()
                )
            points.append(p)
            if i == 0:
                path.moveTo(p)
            else:
                path.lineTo(p)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(color, 1.6))
        painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        radius = 3.2
        for p, value in zip(points, self.overlay.values, strict=True):
            if value:  # failures are marked with a dot
                painter.drawEllipse(p, radius, radius)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_category_labels(self, painter: QPainter, fm: QFontMetrics, plot: QRectF, text: QColor) -> None:
        n = len(self.categories)
        if not n:
            return
        painter.setPen(text)
        if self.horizontal:
            if self._band < fm.height() * 0.8:
                return  # too many rows for labels: the tooltip names them
            width = plot.left() - self.PAD - 6
            for i, label in enumerate(self.labels):
                elided = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(width))
                rect = QRectF(self.PAD, plot.top() + i * self._band, width, self._band)
                painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, elided)
            return
        widest = max(fm.horizontalAdvance(label) for label in self.labels) + 10
        step = max(1, int(-(-widest // max(1.0, self._band))))
        y = plot.bottom() + fm.ascent() + 3
        next_left = float(self.width())  # left edge of the label drawn to the right of this one
        for i in range(n - 1, -1, -step):  # anchored on the newest category (right end)
            label = self.labels[i]
            w = fm.horizontalAdvance(label)
            x = plot.left() + (i + 0.5) * self._band - w / 2
            x = min(max(x, plot.left() - 4), self.width() - self.PAD - w)
            if x + w + 6 > next_left:
                continue  # would overlap its neighbour
            painter.drawText(QPointF(x, y), label)
            next_left = x

    # -- interaction ----------------------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        index = self.index_at(event.position())
        if index != self.hover:
            self.hover = index
            self.update()
        if index >= 0:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_for(index), self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self.hover != -1:
            self.hover = -1
            self.update()
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.index_at(event.position())
            if index >= 0:
                self.barClicked.emit(self.categories[index], self.series_at(event.position()))
        super().mouseReleaseEvent(event)

    def changeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        self.update()  # palette / font / scheme changes


class ChartCard(QFrame):
    """A chart with its title, a subtitle (figures) and export actions (button menu and context menu)."""

    def __init__(
        self,
        title: str,
        chart: ChartWidget,
        *,
        name: str,
        run: Callable[..., Any] | None = None,
        notify: Callable[[str, str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}Card")
        self.name = name
        self.chart = chart
        self.chart.setObjectName(name)
        self.chart.setParent(self)
        self._run = run
        self._notify = notify
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = ElidedLabel(title, self)  # a narrow card elides its title (whole in the tooltip)
        self.title.setObjectName(f"{name}Title")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel("", self)
        self.subtitle.setObjectName(f"{name}Subtitle")
        self.subtitle.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.export_button = QToolButton(self)
        self.export_button.setObjectName(f"{name}Export")
        self.export_button.setIcon(icons.icon("export"))
        self.export_button.setToolTip("Export this chart as PNG, or its data as CSV")
        self.export_button.setAccessibleName(f"Export {title}")
        self.export_button.setAutoRaise(True)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setMenu(self.export_menu(self.export_button))
        self.header = QHBoxLayout()
        self.header.setContentsMargins(0, 0, 0, 0)
        self.header.addWidget(self.title, 1)  # the title takes the room (elided only when there is none)
        self.header.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(2)
        layout.addLayout(self.header)
        layout.addWidget(self.subtitle)
        layout.addWidget(chart, 1)
        chart.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        chart.customContextMenuRequested.connect(self._chart_context_menu)

    def add_header_widget(self, widget: QWidget) -> None:
        """A control beside the title (before the Export button)."""
        widget.setParent(self)
        self.header.insertWidget(self.header.count() - 1, widget)

    def export_menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        menu.setObjectName(f"{self.name}ExportMenu")
        png = menu.addAction(icons.icon("export"), "Export chart as PNG…")
        png.setObjectName(f"{self.name}ExportPng")
        png.triggered.connect(self._on_export_png)
        data = menu.addAction("Export data as CSV…")
        data.setObjectName(f"{self.name}ExportCsv")
        data.triggered.connect(self._on_export_csv)
        return menu

    @Slot(QPoint)
    def _chart_context_menu(self, pos: QPoint) -> None:
        menu = self.export_menu(self.chart)
        menu.exec(self.chart.mapToGlobal(pos))
        menu.deleteLater()

    @classmethod
    def ask_path(cls, parent: QWidget, title: str, suggested: str, filters: str) -> str | None:
        """Save dialog; tests monkeypatch this."""
        path, _selected = QFileDialog.getSaveFileName(parent, title, suggested, filters)
        return path or None

    @Slot()
    def _on_export_png(self) -> None:
        self.export_png()

    @Slot()
    def _on_export_csv(self) -> None:
        self.export_csv()

    def render_image(self) -> QImage:
        """The card (title and chart) as an image, at the screen's device pixel ratio (GUI thread)."""
        return self.grab().toImage()

    def export_png(self, path: str | None = None) -> Any:
        path = path or self.ask_path(self, "Export chart", f"{self.name}.png", "PNG images (*.png)")
        if not path:
            return None
        if Path(path).suffix.lower() != ".png":
            path = f"{path}.png"
        return self._write(write_png, path, self.render_image())

    def export_csv(self, path: str | None = None) -> Any:
        path = path or self.ask_path(self, "Export chart data", f"{self.name}.csv", "CSV files (*.csv)")
        if not path:
            return None
        if Path(path).suffix.lower() != ".csv":
            path = f"{path}.csv"
        return self._write(write_text, path, self.chart.csv())

    def _write(self, fn: Callable[[str, Any], int], path: str, payload: Any) -> Any:
        def done(size: int) -> None:
            if self._notify is not None:
                self._notify("Export finished", f"{size:,} bytes written to {path}")

        if self._run is not None:
            return self._run(fn, path, payload, on_done=done)
        from nango_desktop.qtutil.workers import Task

        return Task(fn, path, payload, on_done=done).start()


def write_png(path: str, image: QImage) -> int:
    """Worker thread: encode and write (QImage, unlike QPixmap, may be used off the GUI thread)."""
    if not image.save(path, "PNG"):  # type: ignore[call-overload]
        raise OSError(f"Could not write the PNG file {path}")
    return Path(path).stat().st_size


def write_text(path: str, text: str) -> int:
    data = text.encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
