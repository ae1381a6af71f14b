"""Task (qtutil.workers) and the shared small widgets (ui.widgets)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, Qt, Slot

from nango_desktop.qtutil.workers import Task, pending_tasks, running_tasks, wait_for_all
from nango_desktop.services.errors import CancelledError, NotFoundError
from nango_desktop.ui.widgets import (
    BusyBar,
    DestructiveConfirmDialog,
    ErrorBanner,
    SearchLineEdit,
    confirm_destructive,
)


class Receiver(QObject):
    """A GUI-thread QObject with bound slots, as STYLE.md §3 asks."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[tuple[object, object, str]] = []

    @Slot(object, object)
    def on_succeeded(self, tag: object, result: object) -> None:
        self.results.append((tag, result, threading.current_thread().name))

    @Slot(object, object)
    def on_failed(self, tag: object, exc: object) -> None:
        self.results.append((tag, exc, threading.current_thread().name))


def test_success_delivered_to_bound_slot_on_gui_thread(qtbot):
    receiver = Receiver()
    worker_thread: list[str] = []

    def compute(a, b):
        worker_thread.append(threading.current_thread().name)
        return a + b

    task = Task(compute, 2, 3, tag="sum")
    task.signals.succeeded.connect(receiver.on_succeeded)
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        task.start()
    assert receiver.results == [("sum", 5, threading.main_thread().name)]
    assert worker_thread and worker_thread[0] != threading.main_thread().name
    assert task.finished and task not in pending_tasks()


def test_failure_is_caught_and_reported(qtbot):
    receiver = Receiver()
    errors: list[BaseException] = []

    def boom():
        raise NotFoundError(None, "GET /connection/x -> HTTP 404")

    task = Task(boom, tag=7, on_error=errors.append)
    task.signals.failed.connect(receiver.on_failed)
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        task.start()
    assert isinstance(errors[0], NotFoundError)
    tag, exc, thread = receiver.results[0]
    assert tag == 7 and exc is errors[0] and thread == threading.main_thread().name


def test_callbacks_run_on_gui_thread(qtbot):
    seen: list[tuple[str, object]] = []

    def work(progress):
        for i in range(1, 4):
            progress(i, 3, f"step {i}")
        return "ok"

    task = Task(
        work,
        on_done=lambda r: seen.append((threading.current_thread().name, r)),
        on_progress=lambda d, t, m: seen.append((threading.current_thread().name, (d, t, m))),
    )
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        task.start()
    main = threading.main_thread().name
    assert seen == [
        (main, (1, 3, "step 1")),
        (main, (2, 3, "step 2")),
        (main, (3, 3, "step 3")),
        (main, "ok"),
    ]


def test_cancel_running_task(qtbot):
    started = threading.Event()
    errors: list[BaseException] = []

    def wait_for_cancel(cancel):
        started.set()
        assert cancel.wait(10)
        return "partial"

    task = Task(wait_for_cancel, on_error=errors.append, on_done=pytest.fail).start()
    assert started.wait(5)
    assert task in running_tasks()
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        task.cancel()
    assert task.cancelled and isinstance(errors[0], CancelledError)


def test_cancelled_before_start_never_runs(qtbot):
    called = []
    errors: list[BaseException] = []
    task = Task(called.append, 1, on_error=errors.append)
    task.cancel()
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        task.start()
    assert called == [] and isinstance(errors[0], CancelledError)


def test_wait_for_all_and_hygiene(qtbot):
    gate = threading.Event()
    done: list[object] = []
    tasks = [Task(gate.wait, 10, on_done=done.append).start() for _ in range(3)]
    assert set(tasks) <= set(pending_tasks())
    gate.set()
    assert wait_for_all(10)
    assert running_tasks() == [] and done == [True, True, True]
    assert not any(t in pending_tasks() for t in tasks)


def test_wait_for_all_cancels_when_asked(qtbot):
    started = threading.Event()

    def block(cancel):
        started.set()
        cancel.wait(30)

    errors: list[BaseException] = []
    Task(block, on_error=errors.append).start()
    assert started.wait(5)
    assert wait_for_all(10, cancel=True)
    assert isinstance(errors[0], CancelledError)


# -- widgets ------------------------------------------------------------------------------------------


def test_busy_bar_tracks_progress_cancel_and_done(qtbot):
    bar = BusyBar()
    qtbot.addWidget(bar)
    step = threading.Event()

    def work(progress, cancel):
        progress(5, 10, "half way")
        step.wait(10)
        return cancel.is_set()

    task = Task(work)
    bar.track(task, "Loading…")
    assert bar.is_busy() and bar.cancel_button.isVisibleTo(bar)
    with qtbot.waitSignal(task.signals.progress, timeout=5000):
        task.start()
    qtbot.waitUntil(lambda: bar.bar.maximum() == 10)
    assert bar.bar.value() == 5 and bar.label.text() == "half way"
    qtbot.mouseClick(bar.cancel_button, Qt.MouseButton.LeftButton)
    assert task.cancelled and bar.label.text() == "Cancelling…"
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        step.set()
    assert not bar.is_busy()


def test_search_line_edit_debounces(qtbot):
    edit = SearchLineEdit(debounce_ms=50)
    qtbot.addWidget(edit)
    seen: list[str] = []
    edit.searchChanged.connect(seen.append)
    with qtbot.waitSignal(edit.searchChanged, timeout=5000) as blocker:
        qtbot.keyClicks(edit, "acme")
        assert edit.is_pending() and seen == []  # nothing emitted while typing
    assert blocker.args == ["acme"] and seen == ["acme"]
    edit.setText("acme corp")
    with qtbot.waitSignal(edit.searchChanged, timeout=1000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)  # Enter flushes at once
    assert seen == ["acme", "acme corp"]
    with qtbot.waitSignal(edit.searchChanged, timeout=1000):
        qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == "" and seen[-1] == ""


def test_error_banner_queue_details_and_dismiss(qtbot):
    banner = ErrorBanner()
    qtbot.addWidget(banner)
    banner.show()
    banner.show_exception(NotFoundError(None, "GET /connections/abc -> HTTP 404"))
    banner.show_error("Second", "more detail")
    banner.show_error("Second", "more detail")  # repeats coalesce
    assert banner.count() == 2 and banner.title_label.text() == "Second"
    assert banner.more_label.text() == "+1 more"
    assert not banner.detail_text.isVisible()
    qtbot.mouseClick(banner.details_button, Qt.MouseButton.LeftButton)
    assert banner.detail_text.isVisible() and banner.detail_text.toPlainText() == "more detail"
    banner.dismiss()
    assert banner.title_label.text() == "Not found (it may have been deleted)"
    with qtbot.waitSignal(banner.dismissed):
        qtbot.mouseClick(banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert banner.isHidden() and banner.count() == 0


@pytest.mark.parametrize("production", [False, True])
def test_destructive_confirmation(qtbot, production):
    dialog = DestructiveConfirmDialog(
        None, connection_id="conn-42", production=production, profile_name="live"
    )
    qtbot.addWidget(dialog)
    assert dialog.id_edit.isVisibleTo(dialog) is production
    assert dialog.ok_button.isEnabled() is (not production)
    if production:
        qtbot.keyClicks(dialog.id_edit, "conn-4")
        assert not dialog.ok_button.isEnabled()
        qtbot.keyClicks(dialog.id_edit, "2")
        assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted):
        dialog.ok_button.click()


def test_confirm_destructive_uses_profile_flag(monkeypatch):
    seen: dict = {}

    def fake_ask(cls, parent, **kw):
        seen.update(kw)
        return True

    monkeypatch.setattr(DestructiveConfirmDialog, "ask", classmethod(fake_ask))

    class Ctx:
        class profile:  # noqa: N801
            production = True
            name = "live"

    assert confirm_destructive(None, Ctx, "conn-1", action="Delete")
    assert seen["production"] is True and seen["connection_id"] == "conn-1" and seen["profile_name"] == "live"


def test_callback_of_deleted_widget_is_skipped(qtbot):
    import shiboken6

    gate = threading.Event()
    banner = ErrorBanner()
    task = Task(gate.wait, 10, on_done=banner.show_exception, on_error=banner.show_exception).start()
    shiboken6.delete(banner)  # the page closed before the result arrived
    with qtbot.waitSignal(task.signals.done, timeout=5000):
        gate.set()
    assert task.finished  # no RuntimeError from calling into the deleted widget
