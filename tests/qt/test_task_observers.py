"""Observers of a Task never miss its end (issue 12: "Loading…" left on screen forever).

The race: ``AppContext.run()`` starts the task, then ``BusyBar.track()`` connects to ``task.signals.done``.
When the worker finished before the connection was made, the busy bar never hid. These tests make the worker
win the race every time: an injected pool runs the task synchronously, before ``start()`` returns.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QDeadlineTimer, QObject, Slot

from nango_desktop.qtutil import workers
from nango_desktop.qtutil.workers import Task
from nango_desktop.services.errors import NotFoundError
from nango_desktop.ui.widgets import BusyBar


class SynchronousPool:
    """A pool that runs each task in the calling thread before ``start()`` returns (the worst case)."""

    def __init__(self) -> None:
        self.ran: list[Task] = []

    def start(self, runnable: Task) -> None:
        runnable.run()
        self.ran.append(runnable)

    def waitForDone(self, _deadline: QDeadlineTimer | int = -1) -> bool:  # noqa: N802 - QThreadPool API
        return True


@pytest.fixture
def sync_pool(monkeypatch) -> SynchronousPool:
    pool = SynchronousPool()
    monkeypatch.setattr(workers, "task_pool", lambda: pool)
    return pool


class DoneCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    @Slot()
    def on_done(self) -> None:
        self.count += 1


def test_done_reaches_an_observer_connected_after_a_synchronous_start(qtbot, sync_pool):
    results: list[object] = []
    task = Task(lambda: 42, on_done=results.append).start()
    assert sync_pool.ran == [task] and task.finished  # the function already ran...
    assert results == [] and not task.delivered  # ...but nothing was emitted inside start()
    counter = DoneCounter()
    task.signals.done.connect(counter.on_done)
    qtbot.waitUntil(lambda: counter.count == 1, timeout=5000)
    assert results == [42] and task.delivered


def test_progress_and_failure_reach_late_observers_in_order(qtbot, sync_pool):
    seen: list[tuple] = []

    def work(progress):
        progress(1, 2, "half")
        raise NotFoundError(None, "gone")

    task = Task(work, on_error=lambda _exc: None).start()
    task.signals.progress.connect(lambda d, t, m: seen.append(("progress", d, t, m)))
    task.signals.failed.connect(lambda _tag, exc: seen.append(("failed", type(exc).__name__)))
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        pass
    assert seen == [("progress", 1, 2, "half"), ("failed", "NotFoundError")]


def test_busy_bar_hides_after_a_task_that_finished_before_track(qtbot, app_ctx, sync_pool):
    bar = BusyBar()
    qtbot.addWidget(bar)
    task = app_ctx.run(lambda: "fast", on_done=lambda _r: None)  # as the pages do: run, then track
    bar.track(task, "Loading…")
    assert bar.is_busy()
    qtbot.waitUntil(lambda: not bar.is_busy(), timeout=5000)


def test_busy_bar_hides_after_a_fast_failure_tracked_late(qtbot, app_ctx, sync_pool):
    """The user's case: a refused connection fails at once; "Loading…" and Cancel must not stay."""
    errors: list[BaseException] = []

    def refused():
        raise ConnectionRefusedError("connection refused")

    bar = BusyBar()
    qtbot.addWidget(bar)
    task = app_ctx.run(refused, on_error=errors.append)
    bar.track(task, "Loading connections…")
    qtbot.waitUntil(lambda: not bar.is_busy(), timeout=5000)
    assert isinstance(errors[0], ConnectionRefusedError)


def test_tracking_a_task_already_delivered_does_not_show_the_bar(qtbot):
    task = Task(lambda: None)
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        task.start()
    assert task.delivered
    bar = BusyBar()
    qtbot.addWidget(bar)
    bar.track(task, "Loading…")
    assert not bar.is_busy()


def test_real_pool_task_tracked_after_it_finished_in_the_worker(qtbot, app_ctx):
    """With the real pool: the worker is done (``finished``) before anyone connects; the bar still hides."""
    release = threading.Event()
    task = app_ctx.run(release.wait, 5)
    release.set()
    assert task.wait(5)
    bar = BusyBar()
    qtbot.addWidget(bar)
    bar.track(task, "Loading…")
    qtbot.waitUntil(lambda: not bar.is_busy(), timeout=5000)


class StalledEvent(threading.Event):
    """An Event whose set() waits for ``go``: the worker stalls right after posting its result."""

    def __init__(self, go: threading.Event) -> None:
        super().__init__()
        self.go = go

    def set(self) -> None:
        assert self.go.wait(10)
        super().set()


def test_a_delivered_task_is_finished_even_before_its_worker_marks_it(qtbot):
    """The GUI thread can deliver ``done`` before the worker thread, back from posting it, marks the task
    finished (5 failures in one 5-repetition run of tests/qt): whoever was told it is done must see it finished and not running."""
    go = threading.Event()
    task = Task(lambda: 7)
    task._finished = StalledEvent(go)
    try:
        with qtbot.waitSignal(task.signals.done, timeout=5000):
            task.start()
        assert task.finished and task.wait(0) and task not in workers.running_tasks()
    finally:
        go.set()
