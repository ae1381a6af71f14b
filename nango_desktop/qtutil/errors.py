"""Error presentation helpers and crash hooks.

- ``describe_error(exc) -> (title, detail)``: the user-facing title and the technical detail of any
  exception (``NangoError``, ``SecretStoreUnavailable``, ``ListenerError`` carry both; others get a
  generic title), redacted of secrets.
- ``install_crash_hooks(...)``: ``sys.excepthook`` and ``threading.excepthook`` log the exception and
  show a ``CrashDialog`` (on the GUI thread) with a copyable report: traceback plus versions, redacted.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop import APP_NAME, __version__, redaction

log = logging.getLogger(__name__)

def register_secret(value: str | None) -> None:
    """Remember a secret value so crash reports, error texts and the log never show it (nor its encodings)."""
    redaction.register(value)


def redact(text: str) -> str:
    """Redact known secret values and secret-looking fragments (:mod:`nango_desktop.redaction`)."""
    return redaction.redact(text)


def describe_error(exc: BaseException) -> tuple[str, str]:
    """``(title, detail)`` for showing ``exc`` to the user; both redacted."""
    title = getattr(exc, "title", None)
    detail = getattr(exc, "detail", None)
    if isinstance(title, str) and title:
        return redact(title), redact(str(detail or ""))
    name = type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return redact(f"{exc.strerror}"), redact(f"{name}: {exc}")
    return f"Unexpected error ({name})", redact(f"{name}: {exc}")


# --------------------------------------------------------------------------------------------------
# Crash report and dialog


def versions_text() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    lines = [
        f"{APP_NAME} {__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"PySide6 {pyside_version}, Qt {qVersion()}",
        f"Platform {platform.platform()}",
    ]
    app = QGuiApplication.instance()
    if app is not None:
        lines.append(f"Qt platform plugin {QGuiApplication.platformName()}")
    return "\n".join(lines)


def crash_report(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    thread_name: str | None = None,
) -> str:
    """A plain-text report: versions, where it happened, the traceback. Secrets redacted."""
    where = f"Thread: {thread_name}\n" if thread_name else ""
    trace = "".join(traceback.format_exception(exc_type, exc, tb))
    return redact(f"{versions_text()}\n{where}\n{trace}")


class CrashDialog(QDialog):
    """Shows a crash report the user can copy into a bug report. Non-blocking when opened with show()."""

    def __init__(self, report: str, summary: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle(f"{APP_NAME} — unexpected error")
        self.resize(720, 460)
        self.report = report
        intro = QLabel(
            f"<b>{APP_NAME} hit an unexpected error.</b><br>The app keeps running, but the last action may "
            "not have completed. The report below has secrets removed; copy it into a bug report."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label = QLabel(summary)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = QPlainTextEdit(report)
        self.text.setObjectName("crashReport")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy report")
        self.copy_button.setObjectName("crashCopy")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_report)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    @Slot()
    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report)
        self.copy_button.setText("Copied")


class CrashHandler(QObject):
    """Receives exceptions from any thread and shows them in a CrashDialog on the GUI thread."""

    crashed = Signal(str, str)  # (summary, report), queued to the GUI thread

    def __init__(self, parent_widget: Callable[[], QWidget | None] | None = None) -> None:
        super().__init__()
        self._parent_widget = parent_widget or (lambda: None)
        self.dialogs: list[CrashDialog] = []
        self.reports: list[str] = []
        self.crashed.connect(self._show)
        self._previous: tuple = ()

    def handle(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
        thread_name: str | None = None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        report = crash_report(exc_type, exc, tb, thread_name)
        log.error("Unhandled exception%s\n%s", f" in thread {thread_name}" if thread_name else "", report)
        summary = redact(f"{exc_type.__name__}: {exc}")
        self.crashed.emit(summary, report)  # direct on the GUI thread, queued from others

    def _sys_hook(self, exc_type, exc, tb) -> None:
        current = threading.current_thread()
        name = None if current is threading.main_thread() else current.name
        self.handle(exc_type, exc, tb, name)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        thread = args.thread.name if args.thread is not None else "unknown"
        self.handle(args.exc_type, args.exc_value, args.exc_traceback, thread)

    @Slot(str, str)
    def _show(self, summary: str, report: str) -> None:
        self.reports.append(report)
        if QApplication.instance() is None or len(self.dialogs) >= 3:  # do not flood the screen
            return
        dialog = CrashDialog(report, summary, self._parent_widget())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._forget)
        self.dialogs.append(dialog)
        dialog.show()

    @Slot()
    def _forget(self) -> None:
        self.dialogs = [d for d in self.dialogs if d is not self.sender()]

    def install(self) -> CrashHandler:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        if self._previous:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = ()


def install_crash_hooks(parent_widget: Callable[[], QWidget | None] | None = None) -> CrashHandler:
    """Install the hooks (call in the GUI thread after the QApplication exists); keep the returned handler."""
    return CrashHandler(parent_widget).install()


def known_secrets() -> Iterable[str]:
    return redaction.registered()
