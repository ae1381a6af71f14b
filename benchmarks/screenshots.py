"""Screenshots of every page at the sizes people use, for docs/screenshots and for checking layouts by eye.

    QT_QPA_PLATFORM=offscreen python benchmarks/screenshots.py [--connections 20000] [--out docs/screenshots]
        [--sizes 1024x700,1280x800,1920x1080] [--dark 1280x800] [--pages overview,connections,...]

Real pieces in one process: FakeNango over HTTP on 127.0.0.1 (``--connections`` generated connections), an
AppContext for a throw-away profile (temporary NANGO_DESKTOP_HOME, in-memory keyring), an hour of stored webhooks
and a few issued links. For each screen size the main window is sized as a maximised window on that screen
(the screen minus a 32 px panel and a 28 px title bar), each page is shown (Connections and Webhooks with a row
selected, so their detail panes show) and ``window.grab()`` is saved as ``<page>-<W>x<H>[-dark].png``.
Prints one line per file. LOOK at the files: cut or overlapping text is a bug.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NANGO_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="nango-screenshots-")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from nango_desktop.domain.links import LinkStatus  # noqa: E402
from nango_desktop.services.secrets import SecretKind, SecretStore  # noqa: E402
from nango_desktop.services.signing import verify  # noqa: E402
from nango_desktop.settings import ListenerSettings, Profile, Settings  # noqa: E402
from nango_desktop.ui import theme  # noqa: E402
from nango_desktop.ui.context import AppContext  # noqa: E402
from tests.helpers import MemoryKeyring  # noqa: E402
from tests.nango_server import FakeNango  # noqa: E402
from tests.webhook_helpers import SIGNING_KEY, auth_webhook, nango_headers, nango_json, sync_webhook  # noqa: E402

PAGES = (
    "overview", "connections", "connection-detail", "endusers", "links", "webhooks", "webhook-detail", "integrations",
)  # fmt: skip
PANEL, TITLE = 32, 28


def spin(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def spin_until(predicate, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        spin(0.05)
    return True


def make_context(server: FakeNango) -> AppContext:
    secrets = SecretStore(MemoryKeyring())
    secrets.set("acme-prod", SecretKind.API_KEY, server.secret_key)
    secrets.set("acme-prod", SecretKind.SIGNING_KEY, SIGNING_KEY)
    profile = Profile(
        name="acme-prod", api_url=server.url, environment="prod", listener=ListenerSettings(port=0)
    )
    ctx = AppContext(Settings(profiles=[profile], current_profile="acme-prod"), secrets)
    ctx.cache_key("acme-prod", server.secret_key)
    return ctx


def seed_events(ctx: AppContext) -> None:
    store = ctx.event_store
    rng = random.Random(2)
    now = time.time()
    for minute in range(60):
        burst = 3 if minute in (12, 13, 41) else 1
        for n in range(rng.randint(2, 9) * burst):
            ok = rng.random() > (0.35 if minute in (41, 42) else 0.06)
            kind = rng.random()
            if kind < 0.45:
                body = auth_webhook(connection_id=f"conn-{minute}-{n}", success=ok,
                                    operation=rng.choice(["creation", "refresh", "override"]))  # fmt: skip
            elif kind < 0.9:
                body = sync_webhook(connection_id=f"conn-{minute}-{n}", success=ok)
            else:
                body = {"from": "hubspot", "type": "forward", "connectionId": f"conn-{minute}-{n}",
                        "providerConfigKey": "hubspot", "payload": {"n": n}}  # fmt: skip
            raw = nango_json(body)
            headers = nango_headers(raw)
            store.add(body=raw, headers=headers, verification=verify(raw, headers, [SIGNING_KEY]),
                      received_at=now - (59 - minute) * 60 - rng.random() * 50)  # fmt: skip


def seed_links(ctx: AppContext, server: FakeNango) -> None:
    links = ctx.link_store
    now = time.time()
    statuses = [LinkStatus.COMPLETED] * 5 + [LinkStatus.EXPIRED] * 3 + [LinkStatus.REVOKED, LinkStatus.FAILED]
    statuses += [None] * 4
    rows = server.connections
    for n, status in enumerate(statuses):
        row = rows[n * 7 % len(rows)]
        tags = row.get("tags") or {}
        record = links.add(
            profile="acme-prod",
            kind="reconnect" if n % 2 else "new",
            link="https://connect.nango.dev/",
            expires_at=now + 1800 - n * 120,
            end_user_id=tags.get("end_user_id") or f"user_{n:06d}",
            email=tags.get("end_user_email"),
            display_name=tags.get("end_user_display_name"),
            organization_id=tags.get("organization_id"),
            connection_id=row["connection_id"] if n % 2 else None,
            integration_ids=[row["provider_config_key"]],
        )
        if status is not None:
            links.set_status(record.id, status)


def window_size(screen: tuple[int, int]) -> tuple[int, int]:
    width, height = screen
    return width, height - PANEL - TITLE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=20_000)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--sizes", default="1024x700,1280x800,1920x1080")
    parser.add_argument("--dark", default="1280x800", help="sizes also taken in dark (comma-separated)")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument(
        "--dialogs", default="light,dark", help="also the link dialog and link result, per theme"
    )
    args = parser.parse_args(argv)

    def sizes(text: str) -> list[tuple[int, int]]:
        return [tuple(int(v) for v in s.split("x")) for s in text.split(",") if s]  # type: ignore[misc]

    shots = [(size, "light") for size in sizes(args.sizes)] + [(size, "dark") for size in sizes(args.dark)]
    pages = [p for p in args.pages.split(",") if p]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from nango_desktop.app import build_main_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, "light")
    server = FakeNango(connections=args.connections, seed=5).start()
    try:
        ctx = make_context(server)
        seed_events(ctx)
        seed_links(ctx, server)
        window = build_main_window(ctx)
        window.show()
        connections = window.pages["connections"]
        window.show_page("connections")
        spin_until(lambda: connections.model.rowCount() >= args.connections, 180)
        overview = window.pages["overview"]
        spin_until(lambda: overview.stats is not None and overview.stats.complete, 60)
        for (width, height), scheme in shots:
            theme.apply_theme(app, scheme)
            w, h = window_size((width, height))
            window.resize(w, h)
            compact = width < 1200
            window.set_sidebar_compact(compact)
            for key in pages:
                page_key = {"connection-detail": "connections", "webhook-detail": "webhooks"}.get(key, key)
                if page_key not in window.pages:
                    continue
                window.show_page(page_key)
                if key == "connections":  # as a first start on that screen: the table gets the width
                    connections.detail_pane.set_open(width >= 1200)
                    connections.table.selectRow(3)
                elif key == "connection-detail":  # a broken connection: the errors box
                    connections.detail_pane.set_open(True)
                    proxy = connections.proxy
                    row = next(r for r in range(proxy.rowCount()) if proxy.connection(r).has_auth_error)
                    connections.table.selectRow(row)
                elif key in ("webhooks", "webhook-detail"):
                    page = window.pages["webhooks"]
                    pane = getattr(page, "detail_pane", None)
                    if pane is not None:
                        pane.set_open(key == "webhook-detail" or width >= 1200)
                    if hasattr(page, "select_row"):
                        page.select_row(0)
                spin(0.6)
                image = window.grab()
                suffix = "-dark" if scheme == "dark" else ""
                path = out / f"{key}-{width}x{height}{suffix}.png"
                image.save(str(path), "PNG")
                print(f"saved {path} ({image.width()}x{image.height()})", flush=True)
        for scheme in [d for d in args.dialogs.split(",") if d]:
            theme.apply_theme(app, scheme)
            save_dialogs(ctx, window, server, out, "-dark" if scheme == "dark" else "")
        window.close()
        ctx.shutdown(timeout=10)
    finally:
        server.stop()
    return 0


def save_dialogs(ctx: AppContext, window, server: FakeNango, out: Path, suffix: str) -> None:
    """The new-link dialog (filled in, one integration the customer already has greyed) and the result of a
    reconnect link (link, QR code, message template, waiting state)."""
    from nango_desktop.domain.models import Connection
    from nango_desktop.session.link_tracker import tracker_for
    from nango_desktop.ui.links import actions
    from nango_desktop.ui.links.dialog import NewLinkDialog
    from nango_desktop.ui.links.result import LinkResultDialog
    from tests.nango_server import list_item

    dialog = NewLinkDialog(ctx, tracker_for(ctx), parent=window)
    spin_until(lambda: dialog.integrations_status.text().endswith("integrations"), 20)
    for attr, value in (("end_user_id", "user_004711"), ("email", "ada@lovelace.example"),
                        ("display_name", "Ada Lovelace"), ("organization_id", "org_00042")):  # fmt: skip
        dialog.fields[attr].setText(value)
    dialog.show()
    spin(0.6)
    _save(dialog.grab(), out / f"link-dialog{suffix}.png")
    dialog.close()
    row = next(c for c in server.connections if c["errors"])
    actions.reconnect_links(ctx, window, [Connection.model_validate(list_item(row))])
    found: list[LinkResultDialog] = []

    def opened() -> bool:
        found[:] = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, LinkResultDialog) and w.isVisible()
        ]
        return bool(found)

    if spin_until(opened, 20):
        spin(0.6)
        _save(found[0].grab(), out / f"link-result{suffix}.png")
        found[0].close()


def _save(image, path: Path) -> None:
    image.save(str(path), "PNG")
    print(f"saved {path} ({image.width()}x{image.height()})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
