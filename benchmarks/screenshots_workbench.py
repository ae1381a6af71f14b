"""Screenshots of the connection workbench (Records, Syncs, an action run, the Proxy console) and the
Integrations page in the main window at 1280x800, for docs/screenshots. LOOK at them.

    QT_QPA_PLATFORM=offscreen python benchmarks/screenshots_workbench.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NANGO_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="nango-screenshots-")

from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.screenshots import make_context, spin, spin_until  # noqa: E402
from nango_desktop.ui import theme  # noqa: E402
from tests.nango_server import FakeNango  # noqa: E402

CID, INT = "acme-github-prod", "github"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from nango_desktop.app import build_main_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, "light")
    server = FakeNango(connections=300, seed=5).start()
    server.add_connection(INT, CID, tags={"end_user_display_name": "Acme Corp", "end_user_id": "acme"})
    server.workbench.generate_records(INT, CID, "Issue", 12_000)
    try:
        ctx = make_context(server)
        window = build_main_window(ctx)
        window.show()
        window.resize(width, height)
        window.set_sidebar_compact(True)
        page = window.pages["connections"]
        window.show_page("connections")
        spin_until(lambda: page.model.rowCount() >= 301, 60)
        page.detail_pane.width = 860  # the workbench wants room: as a user drags the pane wider
        page.detail_pane.set_open(True)
        page.on_navigate(connection_id=CID, integration_id=INT)
        detail = page.detail
        spin_until(lambda: detail.connection is not None and detail.connection.connection_id == CID, 20)
        wb = detail.workbench

        def shot(name: str) -> None:
            spin(0.5)
            image = window.grab()
            path = out / f"{name}.png"
            image.save(str(path), "PNG")
            print(f"saved {path} ({image.width()}x{image.height()})", flush=True)

        detail.tabs.setCurrentWidget(wb.syncs)
        spin_until(lambda: wb.syncs.model.rowCount() > 0, 20)
        wb.syncs.view.selectRow(0)
        shot("workbench-syncs")

        detail.tabs.setCurrentWidget(wb.records)
        spin_until(lambda: wb.records.model_combo.count() > 0, 20)
        wb.records.model_combo.setCurrentIndex(wb.records.model_combo.findData("Issue::base"))
        wb.records.load()
        spin_until(lambda: not wb.records.is_loading(), 60)
        wb.records.view.selectRow(2)
        shot("workbench-records")

        detail.tabs.setCurrentWidget(wb.actions)
        spin_until(lambda: wb.actions.action_combo.count() > 0, 20)
        wb.actions.action_combo.setCurrentText("create-issue")
        wb.actions.input_edit.setPlainText(
            '{\n  "owner": "acme",\n  "repo": "billing",\n  "title": "Invoices export fails",\n  "labels": ["bug"]\n}'
        )
        wb.actions.run()
        spin_until(lambda: wb.actions.result_view.toPlainText() != "" and wb.actions.history.count() > 0, 20)
        shot("workbench-action-run")

        detail.tabs.setCurrentWidget(wb.proxy)
        wb.proxy.path.setText("/user")
        wb.proxy.query.setPlainText("per_page=5")
        wb.proxy.headers.setPlainText("Accept: application/vnd.github+json")
        wb.proxy.send()
        spin_until(lambda: wb.proxy.status.text().startswith("HTTP") and wb.proxy.history.count() > 0, 20)
        shot("workbench-proxy")

        integrations = window.pages["integrations"]
        window.show_page("integrations")
        spin_until(lambda: integrations.model.rowCount() > 0, 20)
        integrations.select("github")
        spin_until(lambda: "create-issue" in integrations.functions.toPlainText(), 20)
        shot("integrations")
        window.close()
        ctx.shutdown(timeout=10)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
