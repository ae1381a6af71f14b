"""GUI event-loop stall meter shared by the GUI benchmarks."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer


class StallMeter:
    """Gaps between ticks of a fast QTimer on the GUI thread."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        self.ticks.append(time.perf_counter())
        return [b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False)]
