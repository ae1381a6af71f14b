"""Shared fixtures. Sub-areas keep their own fixtures in their own test modules.

Every test gets its own NANGO_DESKTOP_HOME (config, data, logs under tmp_path) and a clean environment
(no NANGO_SECRET_KEY / NANGO_WEBHOOK_SIGNING_KEY from the developer's shell).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 - CI: no skips

# A real Qt event loop, without a screen, unless a test run asks for Xvfb explicitly.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_QUICK_BACKEND", "software")

SHARED_NANGO = Path(__file__).resolve().parents[2] / "shared" / "nango"
SPEC_PATH = Path(os.environ.get("NANGO_OPENAPI_SPEC", SHARED_NANGO / "openapi.yaml"))


@pytest.fixture(autouse=True)
def tmp_home(tmp_path, monkeypatch) -> Path:
    """Isolated app home: <tmp>/home/{config,data,logs,cache}."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(home))
    for var in ("NANGO_SECRET_KEY", "NANGO_WEBHOOK_SIGNING_KEY", "NANGO_DESKTOP_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def memory_keyring():
    """An in-memory keyring installed as the process keyring for one test (restored after)."""
    import keyring

    from tests.helpers import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def spec_path() -> Path:
    if not SPEC_PATH.is_file():
        pytest.skip(
            f"Nango OpenAPI spec not found at {SPEC_PATH} (expected ../shared/nango/openapi.yaml beside the repo)"
        )
    return SPEC_PATH


@pytest.fixture
def nango_server():
    """A running FakeNango (real HTTP on 127.0.0.1, random port) seeded with 50 connections."""
    from tests.nango_server import FakeNango

    server = FakeNango(connections=50).start()
    try:
        yield server
    finally:
        server.stop()


def pytest_sessionfinish(session, exitstatus):
    """GUI tests move cyclic collection to the GUI thread's timer (qtutil/collector.py), which stops with the
    last test. Give it back to Python and collect what is left before pytest looks for unraisable exceptions at
    exit: left alone, pytest's own garbage (a suspended generator of its tmp_path cleanup holding a scandir
    iterator) was first collected there and its ResourceWarning failed a CI run that had passed every test."""
    import gc
    import warnings

    if not gc.isenabled():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        gc.enable()


@pytest.fixture
def isolated_redaction():
    """An empty redaction registry for the test, the process's own put back after it. The registry is
    process-wide by design (a key or credential read once stays masked for the rest of the run), so values other
    tests read are still registered: Hypothesis, which also draws the string constants of a test module, once
    made a fuzzed credential "created", and a later test saw that word masked."""
    from nango_desktop import redaction

    with redaction._lock:
        saved = (set(redaction._secrets), set(redaction._variants), redaction._pattern)
        redaction._secrets.clear()
        redaction._variants.clear()
        redaction._pattern = None
    yield
    with redaction._lock:
        redaction._secrets.clear()
        redaction._secrets.update(saved[0])
        redaction._variants.clear()
        redaction._variants.update(saved[1])
        redaction._pattern = saved[2]


@pytest.fixture(autouse=True)
def _gc_on_the_gui_thread(request):
    """As the app does (qtutil/collector.py): once a QApplication exists, reference cycles are collected on the
    GUI thread only, never on a worker that happens to allocate (a Qt object destroyed there can crash)."""
    import sys

    if "qapp" in request.fixturenames:
        request.getfixturevalue("qapp")
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            from nango_desktop.qtutil.collector import collect_on_gui_thread

            collect_on_gui_thread(app)
    yield


@pytest.fixture(autouse=True)
def _close_leftover_windows():
    """Hide top-level windows a test left open: on the offscreen platform they all sit at the same place and
    would take the mouse, focus and clipboard events of the tests that follow."""
    yield
    import sys

    if "PySide6.QtWidgets" not in sys.modules:  # a Qt-free test: keep it Qt-free
        return
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        return
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():
            widget.close()


@pytest.fixture(autouse=True)
def _restore_logging():
    """cli.main and app.setup_app_logging install the app's handlers on the root logger; put the runner's back."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
