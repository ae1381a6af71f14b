"""ProfileSession (issue 13): one session per current profile, opened and closed on a switch; its late results
never reach the next profile's views; listeners and event stores outlive sessions (they belong to profiles)."""

from __future__ import annotations

import threading

import pytest

from nango_desktop.services.errors import InvalidKeyError
from nango_desktop.session import workbench as wb_ops
from nango_desktop.session.profile import ProfileSession
from nango_desktop.settings import ListenerSettings, Profile, Settings
from nango_desktop.ui.context import AppContext


def profile(name: str) -> Profile:
    return Profile(name=name, listener=ListenerSettings(port=0, path=f"/{name}"))


@pytest.fixture
def ctx(qapp, secret_store, tmp_home):
    context = AppContext(
        Settings(profiles=[profile("alpha"), profile("beta")], current_profile="alpha"), secret_store
    )
    yield context
    context.shutdown(timeout=10)
    context.deleteLater()


def test_a_switch_closes_the_session_and_opens_the_next_one(qtbot, ctx):
    first = ctx.session
    assert isinstance(first, ProfileSession) and first.name == "alpha" and not first.closed
    seen: list = []
    ctx.sessionChanged.connect(seen.append)
    with qtbot.waitSignal(first.closing):
        ctx.set_profile("beta")
    assert first.closed
    assert seen == [ctx.session] and ctx.session.name == "beta" and not ctx.session.closed
    ctx.remove_profile("beta")  # the current one: the next profile gets a session
    assert ctx.session.name == "alpha" and seen[-1] is ctx.session and seen[0].closed


def test_no_profile_no_session(qtbot, secret_store, tmp_home):
    context = AppContext(Settings(), secret_store)
    try:
        assert context.session is None and context.listener is None and context.event_store is None
        failures: list[BaseException] = []
        task = wb_ops.load_integrations(None, on_done=None, on_error=failures.append)
        qtbot.waitUntil(lambda: task.delivered, timeout=5000)
        assert len(failures) == 1 and isinstance(failures[0], InvalidKeyError)
        assert "No profile" in str(failures[0])
    finally:
        context.shutdown(timeout=10)


def test_results_of_a_closed_session_are_dropped(qtbot, ctx):
    session = ctx.session
    release = threading.Event()
    results: list = []
    task = session.run(lambda: release.wait(5) and "alpha's answer", on_done=results.append)
    ctx.set_profile("beta")  # the switch happens while the task still runs
    release.set()
    qtbot.waitUntil(lambda: task.delivered, timeout=5000)
    assert results == []  # never delivered into beta's views
    late = ctx.session.run(lambda: "beta's answer", on_done=results.append)
    qtbot.waitUntil(lambda: late.delivered, timeout=5000)
    assert results == ["beta's answer"]


def test_listeners_belong_to_profiles_not_to_sessions(qtbot, ctx):
    alpha = ctx.session.listener
    assert alpha is ctx.listener_registry.listener_for("alpha") and alpha.store is ctx.session.event_store
    assert alpha.start(), alpha.message
    ctx.set_profile("beta")
    assert alpha.state == "listening" and ctx.session.listener is not alpha
    assert set(ctx.listener_registry.running()) == {"alpha"}
    ctx.set_profile("alpha")
    assert ctx.session.listener is alpha  # the same controller again, still listening
    with qtbot.waitSignal(ctx.listener_registry.listenersChanged):
        ctx.remove_profile("alpha")
    assert alpha.state == "stopped" and ctx.listener_registry.listeners().keys() <= {"beta"}


def test_the_session_client_is_the_profiles_shared_client(ctx):
    ctx.cache_key("alpha", "key-a")
    ctx.cache_key("beta", "key-b")
    alpha = ctx.session
    assert alpha.client() is ctx.client()
    ctx.set_profile("beta")
    assert ctx.session.client() is ctx.client() and ctx.session.client() is not alpha.client()


def test_an_operation_without_a_profile_fails_with_a_clear_error(qtbot):
    from nango_desktop.session import operations

    failures: list[BaseException] = []
    task = operations.list_integrations(None).failure(failures.append).run()
    qtbot.waitUntil(lambda: task.delivered, timeout=5000)
    assert len(failures) == 1 and isinstance(failures[0], InvalidKeyError)
    assert "No profile is configured" in str(failures[0])


def test_an_operation_whose_window_was_closed_skips_its_callbacks(qtbot):
    """CI saw it once: the New link dialog closed before its integrations arrived, and the success callback
    filled a deleted QStandardItemModel (RuntimeError in the event loop). The answer of a window that is gone is
    dropped; the session still applies the operation's changes."""
    import shiboken6
    from PySide6.QtWidgets import QWidget

    from nango_desktop.session.operations import Changes, Op

    class FakeSession:
        def __init__(self) -> None:
            self.applied: list[Changes] = []
            self.errors: list[BaseException] = []

        def apply_changes(self, changes: Changes) -> None:
            self.applied.append(changes)

        def show_error(self, exc: BaseException, parent: object = None) -> None:
            self.errors.append(exc)

    session = FakeSession()
    window = QWidget()
    called: list[object] = []
    changes = Changes(connections=(("c1", "github"),))
    op = Op(session, lambda client: None, name="t", parent=window, changes=changes)  # type: ignore[arg-type]
    op.success(called.append).failure(called.append)
    shiboken6.delete(window)
    op._done(["result"])
    op._failed(RuntimeError("late"))
    assert called == [] and session.errors == []
    assert session.applied == [changes]
    alive = QWidget()
    qtbot.addWidget(alive)
    op2 = Op(session, lambda client: None, name="t", parent=alive)  # type: ignore[arg-type]
    op2.success(called.append)
    op2._done("ok")
    assert called == ["ok"]  # a window that is still there gets its answer
