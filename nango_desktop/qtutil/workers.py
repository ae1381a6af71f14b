"""Background tasks for the GUI: run a function on the global thread pool, get results on the GUI thread.

``Task`` follows STYLE.md §3: the function computes and returns, it never touches widgets or models.
Results arrive through signals of a ``_Signals`` QObject created in the GUI thread, connected to its own
bound slots, so callbacks given as ``on_done`` / ``on_error`` / ``on_progress`` always run in the GUI
thread (never lambdas connected across threads); a callback bound to a QObject that was deleted meanwhile
(a closed dialog) is skipped. A strong reference is kept until ``done`` is delivered.

Observers never miss the end of a task. The worker only posts its result to the GUI thread (a queued
internal signal); the public signals ``succeeded`` / ``failed`` / ``progress`` / ``done`` are emitted from
the GUI thread's event loop, never before the code that called ``start()`` returned to it. So connecting to
``task.signals`` right after ``start()`` is safe, however fast the task (even a pool that runs it before
``start()`` returns). Code that looks at a task later checks ``task.delivered`` first (``done`` already
emitted: nothing more will come), as ``BusyBar.track`` does.

Usage::

    task = Task(client.list_integrations, on_done=self._show, on_error=ctx.show_error).start()
    task.cancel()                  # sets task.cancel_event; fn may poll it (pass cancel=... kw, below)

If ``fn`` accepts a ``progress`` keyword it receives a thread-safe ``progress(done, total, message)``
callable; if it accepts a ``cancel`` keyword it receives the task's ``threading.Event``. A task
cancelled before it starts does not call ``fn`` and fails with ``CancelledError``; when ``fn`` returns
after its cancel event was set, the task fails with ``CancelledError`` too (partial results are the
caller's business through progress).

Shutdown and hygiene: ``cancel_all()``, ``wait_for_all(timeout)``, ``running_tasks()``.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from nango_desktop.services.errors import CancelledError

log = logging.getLogger(__name__)

_RUNNING: dict[_Signals, Task] = {}  # strong refs until ``done`` is delivered (keyed by the signals object)
_LOCK = threading.Lock()
_HOLDER: QObject | None = None
_GRAVEYARD: list[Task] = []  # released in the GUI thread; signals deleted once the worker stopped emitting


def _holder() -> QObject:
    """GUI-thread parent of every _Signals: C++ owns them, so a Python wrapper freed in a pool thread (or by
    the cyclic GC running there) never deletes a QObject that lives in the GUI thread. They are deleted
    with deleteLater() in the GUI thread, and only after the worker returned from its last emit()."""
    global _HOLDER
    if _HOLDER is None:  # created by the first Task, in the GUI thread
        _HOLDER = QObject()
        _HOLDER.setObjectName("taskSignalsHolder")
        app = QCoreApplication.instance()
        if app is not None and _HOLDER.thread() != app.thread():
            _HOLDER.moveToThread(app.thread())
    return _HOLDER


class _Signals(QObject):
    """Lives in the thread that created the Task (the GUI thread).

    The worker emits only the internal ``workerFinished`` / ``workerProgress``, connected with a *queued*
    connection even when the worker runs in the GUI thread itself; the public signals are emitted from
    their slots, in the GUI thread, once control is back in the event loop.
    """

    succeeded = Signal(object, object)  # (tag, result)
    failed = Signal(object, object)  # (tag, exception)
    progress = Signal(object, object, str)  # (done, total | None, message)
    done = Signal()
    workerFinished = Signal(bool, object, object)  # internal: (ok, tag, result or exception)
    workerProgress = Signal(object, object, str)  # internal: (done, total | None, message)

    def __init__(self, delivered: threading.Event) -> None:
        super().__init__(_holder())
        self.on_done: Callable[[Any], None] | None = None
        self.on_error: Callable[[BaseException], None] | None = None
        self.on_progress: Callable[[int, int | None, str], None] | None = None
        self._delivered = delivered
        self.workerFinished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.workerProgress.connect(self._relay_progress, Qt.ConnectionType.QueuedConnection)
        self.succeeded.connect(self._dispatch_succeeded)
        self.failed.connect(self._dispatch_failed)
        self.progress.connect(self._dispatch_progress)
        self.done.connect(self._release)

    @Slot(bool, object, object)
    def _deliver(self, ok: bool, tag: object, value: object) -> None:  # GUI thread, from the event loop
        if ok:
            self.succeeded.emit(tag, value)
        else:
            self.failed.emit(tag, value)
        self._delivered.set()
        self.done.emit()

    @Slot(object, object, str)
    def _relay_progress(self, done: object, total: object, message: str) -> None:
        if not self._delivered.is_set():
            self.progress.emit(done, total, message)

    @Slot(object, object)
    def _dispatch_succeeded(self, _tag: object, result: object) -> None:
        if _alive(self.on_done):
            self.on_done(result)  # type: ignore[misc]

    @Slot(object, object)
    def _dispatch_failed(self, _tag: object, exc: object) -> None:
        if self.on_error is None:
            if not isinstance(exc, CancelledError):
                log.warning("Background task failed without an error handler: %r", exc)
        elif _alive(self.on_error):
            self.on_error(exc)  # type: ignore[arg-type]

    @Slot(object, object, str)
    def _dispatch_progress(self, done: object, total: object, message: str) -> None:
        if _alive(self.on_progress):
            self.on_progress(done, total, message)  # type: ignore[misc, arg-type]  # (int, int | None) emitted

    @Slot()
    def _release(self) -> None:  # queued: runs in the GUI thread after every result slot
        with _LOCK:
            task = _RUNNING.pop(self, None)
        self.on_done = self.on_error = self.on_progress = None  # breaks cycles through callbacks
        if task is not None:
            _GRAVEYARD.append(task)
        _bury()


def _alive(callback: Callable | None) -> bool:
    """False for no callback, or a bound method of a QObject already deleted (a closed dialog or page)."""
    if callback is None:
        return False
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


def _bury() -> None:
    """GUI thread: delete the signals of released tasks whose worker has finished emitting."""
    for task in [t for t in _GRAVEYARD if t._emitted.is_set()]:
        _GRAVEYARD.remove(task)
        task.signals.deleteLater()


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    param = params.get(name)  # only an explicitly named parameter (never **kwargs: it may forward them)
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)


class Task(QRunnable):
    """Run ``fn(*args)`` on the global pool. Create and start it in the GUI thread.

    Signals (on ``task.signals``): ``succeeded(tag, result)``, ``failed(tag, exc)``,
    ``progress(done, total, message)``, ``done()``. Connect them to bound ``@Slot`` methods of
    GUI-thread QObjects, or pass ``on_done`` / ``on_error`` / ``on_progress`` callables.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        tag: object = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int | None, str], None] | None = None,
        cancel: threading.Event | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self._fn, self._args, self.tag = fn, args, tag
        self.name = name or getattr(fn, "__qualname__", repr(fn))
        self.cancel_event = cancel if cancel is not None else threading.Event()
        self._delivered = threading.Event()  # set in the GUI thread just before ``done`` is emitted
        self.signals = _Signals(self._delivered)
        self.signals.on_done, self.signals.on_error, self.signals.on_progress = on_done, on_error, on_progress
        self._finished = threading.Event()
        self._emitted = threading.Event()  # set after the last emit() returned
        self._started = False

    def __repr__(self) -> str:
        state = "finished" if self.finished else ("running" if self._started else "new")
        return f"<Task {self.name} {state}>"

    # -- pool thread --------------------------------------------------------------------------------
    def report_progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Thread-safe: ``progress`` is emitted in the GUI thread, through its event loop."""
        self.signals.workerProgress.emit(done, total, message)

    def run(self) -> None:
        ok, value = False, None
        try:
            if self.cancel_event.is_set():
                raise CancelledError(None, f"{self.name} was cancelled before it started")
            kwargs: dict[str, Any] = {}
            if _accepts(self._fn, "progress"):
                kwargs["progress"] = self.report_progress
            if _accepts(self._fn, "cancel"):
                kwargs["cancel"] = self.cancel_event
            result = self._fn(*self._args, **kwargs)
            if self.cancel_event.is_set():
                raise CancelledError(None, f"{self.name} was cancelled")
            ok, value = True, result
        except BaseException as exc:  # noqa: BLE001 - a worker must never take the process down
            if not isinstance(exc, CancelledError):
                log.debug("Task %s failed", self.name, exc_info=True)
            value = exc
        finally:
            # posted before ``finished`` is set: whoever waited for it then delivers it with processEvents()
            try:
                self.signals.workerFinished.emit(ok, self.tag, value)
            except RuntimeError:  # the signals object is gone: the application is being torn down
                log.debug("Task %s ended after the application was torn down", self.name)
            self._finished.set()
            self._emitted.set()

    # -- GUI thread ---------------------------------------------------------------------------------
    def start(self, pool: QThreadPool | None = None) -> Task:
        _bury()
        with _LOCK:
            _RUNNING[self.signals] = self
        self._started = True
        (pool or task_pool()).start(self)
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def finished(self) -> bool:
        """True once ``fn`` has returned or raised (results may still be queued for the GUI thread).

        Also True once ``done`` was delivered: the GUI thread may deliver it before the worker thread, back
        from posting it, has marked the task finished."""
        return self._finished.is_set() or self._delivered.is_set()

    @property
    def delivered(self) -> bool:
        """True once ``done`` was emitted (GUI thread): an observer attached now would wait forever."""
        return self._delivered.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``fn`` finished (for shutdown and tests); True if it did."""
        return self._delivered.is_set() or self._finished.wait(timeout)


# Tasks wait on the network, the keyring (which can hang on an unlock prompt) and SQLite, not on the CPU:
# Qt's global pool has one thread per core (2 on a small laptop or CI machine), so one slow keyring call and one
# long listing would starve every other action. Our own pool has room for that.
MIN_POOL_THREADS = 16
_POOL: QThreadPool | None = None


def task_pool() -> QThreadPool:
    """The pool Tasks run on (created on first use, GUI thread)."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setObjectName("nangoTaskPool")
        _POOL.setMaxThreadCount(max(MIN_POOL_THREADS, QThreadPool.globalInstance().maxThreadCount()))
    return _POOL


def run_task(fn: Callable[..., Any], *args: Any, **kw: Any) -> Task:
    """Shorthand: ``Task(fn, *args, **kw).start()``."""
    return Task(fn, *args, **kw).start()


def running_tasks() -> list[Task]:
    """Tasks started and not yet finished (their ``fn`` still runs or waits in the pool queue)."""
    with _LOCK:
        return [t for t in _RUNNING.values() if not t.finished]


def pending_tasks() -> list[Task]:
    """Tasks whose ``done`` signal has not been delivered yet (a superset of ``running_tasks``)."""
    with _LOCK:
        return list(_RUNNING.values())


def cancel_all() -> None:
    for task in pending_tasks():
        task.cancel()


def wait_for_all(timeout: float = 5.0, *, cancel: bool = False) -> bool:
    """Wait until every started task finished, then deliver their queued results; True if all finished.

    Call from the GUI thread (shutdown, tests). With ``cancel=True`` cancel events are set first.
    """
    if cancel:
        cancel_all()
    deadline = QDeadlineTimer(max(0, int(timeout * 1000)))
    while True:
        ok = task_pool().waitForDone(deadline)
        for task in running_tasks():  # started on another pool
            ok = task.wait(max(0.0, deadline.remainingTime() / 1000)) and ok
        if QCoreApplication.instance() is not None:
            QCoreApplication.processEvents()  # deliver queued results and release the finished tasks
            _bury()
        # a delivered result may have started a follow-up task: wait for that one too, within the deadline
        if not ok or not running_tasks() or deadline.hasExpired():
            return ok and not running_tasks()
