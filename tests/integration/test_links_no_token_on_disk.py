"""Session tokens are bearer secrets: after a full links session none is in any file we write.

Real parts: FakeNango over loopback HTTP, the webhook listener, SQLite, the rotating log file (DEBUG), the
GUI (offscreen). Tokens of live links may only be in memory and the keyring (here the in-memory keyring).
"""

from __future__ import annotations

import logging
import re

import pytest

from nango_desktop.domain.links import LinkStatus, token_of
from nango_desktop.domain.models import Connection
from nango_desktop.logsetup import setup_logging
from nango_desktop.services.secrets import SecretKind, SecretStore
from nango_desktop.session.link_tracker import tracker_for
from nango_desktop.settings import ListenerSettings, Profile, Settings, save_settings
from nango_desktop.store.tokens import SERVICE
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.links import actions
from nango_desktop.ui.links.page import LinksPage
from tests.nango_server import list_item
from tests.webhook_helpers import SIGNING_KEY, post_webhook

TOKEN_SHAPE = re.compile(rb"nango_connect_session_[0-9a-f]{8}")  # a prefix alone ("..._[REDACTED]") is fine


@pytest.fixture
def debug_log(tmp_home):
    path = setup_logging(logging.DEBUG)
    yield path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_nango_desktop", False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.WARNING)


@pytest.fixture
def ctx(qapp, nango_server, memory_keyring, tmp_home):
    secrets = SecretStore(memory_keyring, timeout=5.0)
    profile = Profile(name="disk", api_url=nango_server.url, listener=ListenerSettings(port=0))
    secrets.set(profile.name, SecretKind.API_KEY, nango_server.secret_key)
    secrets.set(profile.name, SecretKind.SIGNING_KEY, SIGNING_KEY)
    settings = Settings(profiles=[profile], current_profile=profile.name)
    save_settings(settings)
    context = AppContext(settings, secrets)
    context.cache_key(profile.name, nango_server.secret_key)
    yield context
    context.shutdown(timeout=10.0)
    context.deleteLater()


def test_no_session_token_in_any_file(
    qtbot, ctx, nango_server, memory_keyring, tmp_home, tmp_path, debug_log
):
    tracker = tracker_for(ctx)
    page = LinksPage(ctx)
    qtbot.addWidget(page)
    assert ctx.listener.start()

    # a new link through the dialog
    dialog = actions.new_link(ctx, None, {"end_user_id": "u_disk", "email": "disk@acme.com"})
    with qtbot.waitSignal(dialog.linkIssued, timeout=10_000):
        dialog.create_button.click()
    # a reconnect link for one connection, and five in bulk (exported to a file the admin chose)
    conns = [Connection.model_validate(list_item(c)) for c in nango_server.connections[:6]]
    actions.reconnect_links(ctx, None, conns[:1])
    bulk = actions.reconnect_links(ctx, None, conns[1:])
    with qtbot.waitSignal(bulk.finishedGenerating, timeout=30_000):
        bulk.generate_button.click()
    bulk.export_csv(tmp_path / "exported.csv")
    qtbot.waitUntil(lambda: bulk.status.text().startswith("Exported"), timeout=10_000)
    qtbot.waitUntil(lambda: len(tracker.pending()) == 7, timeout=10_000)
    assert len(nango_server.sessions) == 7

    records = {r.id: r for r in tracker.pending()}
    urls = {rid: tracker.url_of(r) for rid, r in records.items()}
    assert all(urls.values())

    # one completed through a signed webhook, one revoked, one inspected, the others stay alive
    completed, revoked, inspected, *alive = sorted(records)
    body = nango_server.complete_session(token_of(urls[completed]))
    with qtbot.waitSignal(tracker.linkChanged, timeout=10_000):
        post_webhook(ctx.listener.url, body, key=SIGNING_KEY)
    with qtbot.waitSignal(tracker.linkChanged, timeout=10_000):
        tracker.revoke(records[revoked])
    seen = []
    tracker.inspect(records[inspected], seen.append, seen.append)
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() == 7, timeout=10_000)
    assert tracker.store.get(completed).status is LinkStatus.COMPLETED
    assert tracker.store.get(revoked).status is LinkStatus.REVOKED

    # the live tokens are in the keyring only while alive
    qtbot.waitUntil(
        lambda: len([k for k in memory_keyring.store if k[0] == SERVICE and ":connect-session:" in k[1]]) == 5
    )
    logging.getLogger("nango_desktop.test").debug(
        "links used: %s", list(urls.values())
    )  # redacted by the log filter
    ctx.shutdown(timeout=10.0)
    for handler in logging.getLogger().handlers:
        handler.flush()

    tokens = [t.encode() for t in nango_server.sessions]
    scanned = 0
    for base in ("config", "data", "logs", "cache"):
        for path in (tmp_home / base).rglob("*"):
            if path.is_file():
                raw = path.read_bytes()
                scanned += 1
                assert not TOKEN_SHAPE.search(raw), f"a session token in {path}"
                assert not any(t in raw for t in tokens), f"a session token in {path}"
    assert scanned >= 3  # settings, links history, log file at least
    assert (tmp_home / "data" / "links.sqlite3").is_file() and debug_log.is_file()
    # the export the admin asked for does contain the links (it is theirs, outside our directories)
    assert TOKEN_SHAPE.search((tmp_path / "exported.csv").read_bytes())
