"""Overview layout rules (issue 17): axis labels never overlap on a narrow chart, chart titles elide instead of
pushing the page wider than a 1024 px window, and the page fits 1024x700 with the compact sidebar."""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics

from nango_desktop.ui.overview.charts import ChartCard, ChartWidget, Series


def tick_label_gaps(chart: ChartWidget) -> list[float]:
    """Gaps (px) between neighbouring value-axis labels of a horizontal chart, as painted."""
    fm = QFontMetrics(chart._small_font())
    plot, ticks = chart._layout(fm)
    spans = []
    for t in ticks:
        x = plot.left() + t / chart._max * plot.width()
        w = fm.horizontalAdvance(f"{int(t):,}")
        spans.append((x - w / 2, x + w / 2))
    return [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]


def test_value_labels_of_a_narrow_chart_do_not_touch(qtbot):
    chart = ChartWidget(horizontal=True, category_name="Integration")
    qtbot.addWidget(chart)
    chart.set_data(["github", "slack"], [Series("ok", "OK", [4321, 3000])])
    for width in (200, 240, 320, 480, 900):
        chart.resize(width, 200)
        assert chart.width() == width  # a chart may be this narrow (not clipped by a minimum width)
        gaps = tick_label_gaps(chart)
        assert gaps and min(gaps) >= 6, (width, gaps)
    chart.resize(900, 200)
    assert len(tick_label_gaps(chart)) >= 4  # room to spare: the usual 5-6 ticks


def test_card_titles_elide_instead_of_widening_the_card(qtbot):
    card = ChartCard("Connections per integration", ChartWidget(), name="t")
    qtbot.addWidget(card)
    card.resize(230, 220)
    card.show()
    qtbot.waitExposed(card)
    assert card.minimumSizeHint().width() <= 230
    assert card.title.is_elided() and card.title.toolTip() == "Connections per integration"
    card.resize(600, 220)
    qtbot.waitUntil(lambda: not card.title.is_elided())
    assert card.title.toolTip() == ""


def test_overview_fits_a_1024_window(qtbot, main_window):
    main_window.set_sidebar_compact(True)
    main_window.resize(1024, 640)
    page = main_window.show_page("overview")
    qtbot.waitUntil(lambda: page.stats is not None and page.stats.complete, timeout=10_000)
    assert page.attention_count.text()  # the long summary line is there
    assert main_window.width() == 1024  # not forced wider by the page's minimum size
    assert page.minimumSizeHint().width() <= page.width(), (page.minimumSizeHint(), page.width())
    for card in page.cards:  # every card whole inside the page
        top_left = card.mapTo(page, card.rect().topLeft())
        assert top_left.x() >= 0 and top_left.x() + card.width() <= page.width()
