"""Every environment at once (issue 17): listeners belong to profiles, not to the window. A running listener
survives creating and switching profiles, each listens on its own port, the status bar shows every running
one, "start with the app" is per profile, and removing a profile stops its listener."""

from __future__ import annotations

import pytest

from nango_desktop.services.secrets import SecretKind
from nango_desktop.settings import ListenerSettings, Profile, Settings
from nango_desktop.ui import main_window as mw
from nango_desktop.ui.context import AppContext
from tests.qt.test_listener_controller import post_in_thread
from tests.webhook_helpers import SIGNING_KEY, auth_webhook


def profile(name: str, *, enabled: bool = False) -> Profile:
    return Profile(name=name, listener=ListenerSettings(port=0, path=f"/{name}", enabled=enabled))


@pytest.fixture
def two_profiles(qapp, secret_store, tmp_home):
    for name in ("alpha", "beta"):
        secret_store.set(name, SecretKind.SIGNING_KEY, SIGNING_KEY)
    ctx = AppContext(
        Settings(profiles=[profile("alpha"), profile("beta")], current_profile="alpha"), secret_store
    )
    yield ctx
    ctx.shutdown(timeout=10)
    ctx.deleteLater()


@pytest.fixture
def window(qtbot, two_profiles, monkeypatch):
    specs = tuple(
        mw.PageSpec(s.key, s.title, s.icon, "tests.qt.test_shell", "FakePage") for s in mw.PAGE_SPECS
    )
    monkeypatch.setattr(mw, "PAGE_SPECS", specs)
    win = mw.MainWindow(two_profiles)
    qtbot.addWidget(win)
    win.show()
    return win


def wait_state(qtbot, listener, state: str) -> None:
    qtbot.waitUntil(lambda: listener.state == state, timeout=10_000)


def test_a_running_listener_survives_switching_and_creating_profiles(qtbot, window, two_profiles):
    ctx = two_profiles
    alpha = ctx.listener
    window.toggle_listener()  # Start webhook listener (alpha)
    wait_state(qtbot, alpha, "listening")
    alpha_url = alpha.url

    ctx.set_profile("beta")
    assert alpha.state == "listening" and alpha.url == alpha_url  # not stopped by the switch
    assert window.status_listeners.isVisible() and "alpha" in window.status_listeners.text()
    ctx.upsert_profile(profile("gamma"), make_current=True)  # creating a profile: still running
    assert alpha.state == "listening"

    ctx.set_profile("beta")
    beta = ctx.listener
    assert beta is not alpha
    window.toggle_listener()
    wait_state(qtbot, beta, "listening")
    assert beta.url != alpha_url  # each on its own port
    assert set(ctx.running_listeners()) == {"alpha", "beta"}
    assert "beta" not in window.status_listeners.text()  # the current one is in statusListener
    assert window.status_listener.text().startswith("Listener: listening on")

    # both receive at once, each into its own profile's store
    with qtbot.waitSignal(alpha.eventReceived, timeout=10_000):
        thread, _ = post_in_thread(alpha.url, [auth_webhook(connection_id="to-alpha")], key=SIGNING_KEY)
    thread.join()
    assert [e.summary.connection_id for e in ctx.event_store_for("alpha").list(limit=5)] == ["to-alpha"]
    assert ctx.event_store_for("beta").list(limit=5) == []

    ctx.set_profile("alpha")  # back: the same listener, still listening, shown as the current one
    assert ctx.listener is alpha and window.action_toggle_listener.text().startswith("Stop")
    assert "beta" in window.status_listeners.text()
    window.toggle_listener()  # stop alpha only
    wait_state(qtbot, alpha, "stopped")
    assert beta.state == "listening" and "beta" in window.status_listeners.text()


def test_removing_a_profile_stops_its_listener(qtbot, window, two_profiles):
    ctx = two_profiles
    beta = ctx.listener_for("beta")
    beta.start()
    wait_state(qtbot, beta, "listening")
    assert "beta" in window.status_listeners.text()
    ctx.remove_profile("beta")
    assert beta.state == "stopped" and "beta" not in ctx.listeners()
    assert window.status_listeners.isHidden()


def test_start_with_the_app_is_per_profile(qtbot, qapp, secret_store, tmp_home, monkeypatch):
    specs = tuple(
        mw.PageSpec(s.key, s.title, s.icon, "tests.qt.test_shell", "FakePage") for s in mw.PAGE_SPECS
    )
    monkeypatch.setattr(mw, "PAGE_SPECS", specs)
    settings = Settings(profiles=[profile("alpha"), profile("beta", enabled=True)], current_profile="alpha")
    ctx = AppContext(settings, secret_store)
    try:
        win = mw.MainWindow(ctx)
        qtbot.addWidget(win)
        beta = ctx.listener_for("beta")
        wait_state(qtbot, beta, "listening")  # enabled, not current: started with the app anyway
        assert ctx.listener.state == "stopped"  # alpha is not enabled
        assert "beta" in win.status_listeners.text()
    finally:
        ctx.shutdown(timeout=10)
        ctx.deleteLater()


def test_webhooks_page_shows_one_profile_or_all(qtbot, two_profiles):
    from nango_desktop.ui.webhooks import model as m
    from nango_desktop.ui.webhooks.page import WebhooksPage

    ctx = two_profiles
    alpha, beta = ctx.listener_for("alpha"), ctx.listener_for("beta")
    for listener in (alpha, beta):
        listener.start()
        wait_state(qtbot, listener, "listening")
    for listener, cid in ((alpha, "a-1"), (beta, "b-1")):
        with qtbot.waitSignal(listener.eventReceived, timeout=10_000):
            thread, _ = post_in_thread(listener.url, [auth_webhook(connection_id=cid)], key=SIGNING_KEY)
        thread.join()
    page = WebhooksPage(ctx)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()

    def connections() -> list[str]:
        return [page.model.index(r, m.CONNECTION).data() for r in range(page.model.rowCount())]

    qtbot.waitUntil(lambda: connections() == ["a-1"] and not page.model.loading, timeout=10_000)
    page.scope_combo.setCurrentIndex(page.scope_combo.findData("all"))
    qtbot.waitUntil(lambda: sorted(connections()) == ["a-1", "b-1"], timeout=10_000)
    assert connections() == ["b-1", "a-1"]  # newest first across profiles
    assert not page.table.isColumnHidden(m.PROFILE)
    assert [page.model.index(r, m.PROFILE).data() for r in range(2)] == ["beta", "alpha"]

    # live events of every profile's listener arrive in the merged list
    with qtbot.waitSignal(beta.eventReceived, timeout=10_000):
        thread, _ = post_in_thread(beta.url, [auth_webhook(connection_id="b-2")], key=SIGNING_KEY)
    thread.join()
    qtbot.waitUntil(lambda: connections()[:1] == ["b-2"], timeout=10_000)

    # pinning from the merged list pins the right event in the right profile's store
    view_id = page.model.event_at(2).id  # a-1
    page.set_pinned(view_id, True)
    qtbot.waitUntil(lambda: ctx.event_store_for("alpha").list(limit=5)[0].pinned, timeout=10_000)
    assert not any(e.pinned for e in ctx.event_store_for("beta").list(limit=5))

    page.scope_combo.setCurrentIndex(page.scope_combo.findData("profile"))
    qtbot.waitUntil(lambda: connections() == ["a-1"] and not page.model.loading, timeout=10_000)
    assert page.table.isColumnHidden(m.PROFILE)


def test_two_profiles_on_one_port_say_which_profile_holds_it(qtbot, qapp, secret_store, tmp_home):
    import socket

    with socket.socket() as probe:  # a free port for both profiles
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    same = [Profile(name=n, listener=ListenerSettings(port=port, path=f"/{n}")) for n in ("alpha", "beta")]
    ctx = AppContext(Settings(profiles=same, current_profile="alpha"), secret_store)
    try:
        alpha, beta = ctx.listener_for("alpha"), ctx.listener_for("beta")
        assert alpha.start()
        assert not beta.start()
        assert beta.state == "error" and "profile “alpha”" in beta.message and str(port) in beta.message
        alpha.stop()
        assert beta.start()  # free again
    finally:
        ctx.shutdown(timeout=10)
        ctx.deleteLater()
