"""Screenshots for issue 14: the connection detail's banner for a connection Nango is backing off on and for
an exhausted one, and the signing-key rotation dialog, at 1280x800 (light).

    QT_QPA_PLATFORM=offscreen python benchmarks/screenshots_refresh_states.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.screenshots import make_context, spin, spin_until, window_size  # noqa: E402
from nango_desktop.ui import theme  # noqa: E402
from tests.nango_server import FakeNango  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from nango_desktop.app import build_main_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, "light")
    server = FakeNango(connections=200, seed=5).start()
    try:
        ctx = make_context(server)
        window = build_main_window(ctx)
        window.resize(*window_size((1280, 800)))
        window.show()
        connections = window.pages["connections"]
        window.show_page("connections")
        spin_until(lambda: connections.model.rowCount() >= 200, 60)
        connections.detail_pane.set_open(True)
        proxy = connections.proxy
        rows = [r for r in range(proxy.rowCount()) if proxy.connection(r).provider_config_key == "hubspot"]
        for name, row, exhausted in (("backing-off", rows[0], False), ("exhausted", rows[1], True)):
            conn = proxy.connection(row)
            cid, iid = conn.connection_id, conn.provider_config_key
            stored = server.find(cid, iid)
            server.fail_refresh(cid, iid)
            stored["errors"] = [{"type": "auth", "log_id": f"log-{name}"}]
            stored["_refresh_backoff_until"] = server.clock() + 30
            if exhausted:
                stored["_refresh_exhausted"] = True
            server.invalidate()
            connections.table.selectRow(row)
            spin(0.5)
            connections.detail.refresh_credentials()
            spin_until(lambda: not connections.detail.notice.isHidden(), 10)
            spin(0.5)
            path = out / f"connection-detail-{name}-1280x800.png"
            window.grab().save(str(path), "PNG")
            print(f"saved {path}", flush=True)

        window.show_page("webhooks")
        page = window.pages["webhooks"]
        page.settings_toggle.setChecked(True)
        ctx.settings.profiles[0] = ctx.profile = ctx.profile.model_copy(update={"production": True})
        dialog = page.open_rotate_key()
        dialog.minutes.setValue(60)
        dialog.confirm.setText("acme-prod")
        spin(0.5)
        path = out / "rotate-signing-key-dialog.png"
        dialog.grab().save(str(path), "PNG")
        print(f"saved {path} ({dialog.width()}x{dialog.height()})", flush=True)
        dialog.close()
        spin(0.3)
        path = out / "webhooks-settings-rotate-1280x800.png"
        window.grab().save(str(path), "PNG")
        print(f"saved {path}", flush=True)
        window.close()
        ctx.shutdown(timeout=10)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
