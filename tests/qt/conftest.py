"""Fixtures for GUI tests (pytest-qt, offscreen).

- ``no_dangling_tasks`` (autouse): every test must leave no ``Task`` running (waits for them first, bounded).
- ``secret_store``: a ``SecretStore`` over the in-memory keyring.
- ``app_ctx``: an ``AppContext`` with no profile (first run); shut down after the test.
- ``api_profile``: a profile pointing at the ``nango_server`` fixture, with its key in the keyring.
- ``profile_ctx``: an ``AppContext`` whose current profile is ``api_profile`` (key cached).
- ``main_window``: a ``MainWindow`` over ``profile_ctx``, shown, registered with qtbot.
"""

from __future__ import annotations

import pytest

from nango_desktop.qtutil.workers import running_tasks, wait_for_all


@pytest.fixture(autouse=True)
def no_dangling_tasks(qapp):
    yield
    finished = wait_for_all(10.0)
    left = running_tasks()
    assert finished and not left, f"tasks left running after the test: {left}"


@pytest.fixture
def secret_store(memory_keyring):
    from nango_desktop.services.secrets import SecretStore

    return SecretStore(memory_keyring, timeout=5.0)


def _make_ctx(settings, secret_store):
    from nango_desktop.ui.context import AppContext

    return AppContext(settings, secret_store)


@pytest.fixture
def app_ctx(qapp, secret_store):
    from nango_desktop.settings import Settings

    ctx = _make_ctx(Settings(), secret_store)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


@pytest.fixture
def api_profile(nango_server, secret_store):
    from nango_desktop.services.secrets import SecretKind
    from nango_desktop.settings import Profile

    profile = Profile(name="test", api_url=nango_server.url, environment="dev")
    secret_store.set(profile.name, SecretKind.API_KEY, nango_server.secret_key)
    return profile


@pytest.fixture
def profile_ctx(qapp, api_profile, secret_store, nango_server):
    from nango_desktop.settings import Settings

    ctx = _make_ctx(Settings(profiles=[api_profile], current_profile=api_profile.name), secret_store)
    ctx.cache_key(api_profile.name, nango_server.secret_key)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


@pytest.fixture
def main_window(qtbot, profile_ctx):
    from nango_desktop.app import build_main_window

    window = build_main_window(profile_ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window
