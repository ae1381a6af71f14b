"""The GUI thread's repaint goes before a loading worker's next slice of Python (services/gil_priority.py)."""

from __future__ import annotations

import threading

import pytest

from nango_desktop.services import gil_priority, raw_page


@pytest.fixture
def watched_wait(monkeypatch):
    """gil_priority's idle event, with a flag raised when a worker starts waiting on it."""
    waiting = threading.Event()
    real = gil_priority._idle

    class Watched:
        def is_set(self) -> bool:
            return real.is_set()

        def set(self) -> None:
            real.set()

        def clear(self) -> None:
            real.clear()

        def wait(self, timeout: float | None = None) -> bool:
            waiting.set()
            return real.wait(timeout)

    monkeypatch.setattr(gil_priority, "_idle", Watched())
    monkeypatch.setattr(gil_priority, "MAX_PAUSE", 30.0)  # the test ends the pause itself
    return waiting


def test_a_worker_at_a_yield_point_waits_until_the_gui_burst_ends(watched_wait):
    order: list[str] = []

    def worker() -> None:
        gil_priority.yield_to_gui()
        order.append("worker went on")

    with gil_priority.gui_first():
        assert gil_priority.gui_busy()
        thread = threading.Thread(target=worker)
        thread.start()
        assert watched_wait.wait(10), "the worker did not wait at its yield point"
        assert order == []
        order.append("gui done")
    thread.join(10)
    assert order == ["gui done", "worker went on"]
    assert not gil_priority.gui_busy()


def test_outside_a_gui_burst_a_yield_point_does_not_wait(watched_wait):
    gil_priority.yield_to_gui()
    assert not watched_wait.is_set()


def test_nested_bursts_end_with_the_outer_one():
    with gil_priority.gui_first():
        with gil_priority.gui_first():
            pass
        assert gil_priority.gui_busy()
    assert not gil_priority.gui_busy()


def test_a_burst_ends_when_the_repaint_raises():
    with pytest.raises(RuntimeError), gil_priority.gui_first():
        raise RuntimeError("paint failed")
    assert not gil_priority.gui_busy()


def test_the_loading_workers_build_rows_through_the_yield_point(monkeypatch):
    """connection_rows (the loading worker's row building) yields every YIELD_EVERY rows via yield_to_gui."""
    calls = []
    monkeypatch.setattr(raw_page, "yield_to_gui", lambda: calls.append(1))
    page = [
        {"id": i, "connection_id": f"c{i}", "provider": "github", "provider_config_key": "github",
         "created": "2024-01-01T00:00:00.000Z", "tags": {}, "errors": [], "end_user": None,
         "metadata": None, "updated": "2024-01-01T00:00:00.000Z"}
        for i in range(raw_page.YIELD_EVERY * 2 + 1)
    ]  # fmt: skip
    rows = raw_page.connection_rows(page)
    assert len(rows) == len(page)
    assert len(calls) == 3  # before rows 0, 50, 100
