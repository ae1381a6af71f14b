"""The workbench GUI against FakeNango: Records (background pages, columns, filter, sort, detail, export,
cancel), Syncs (control, production confirmation), Actions (schema check, sync/async runs, errors, history),
the Proxy console (one-click GET, confirmed writes, type-the-id on production, curl without the key) and the
Integrations page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from nango_desktop.ui.connections.detail import ConnectionDetail
from nango_desktop.ui.workbench.confirm import TypeToConfirmDialog
from nango_desktop.ui.workbench.integrations import IntegrationsPage
from tests.nango_server import FakeNango
from tests.qt.test_connections_page import make_ctx

TIMEOUT = 20_000
CID, INT = "conn-1", "github"


@pytest.fixture
def server():
    with FakeNango(connections=12, integrations=("github", "slack", "hubspot")) as fake:
        fake.add_connection(INT, CID)
        fake.workbench.generate_records(INT, CID, "Issue", 2500)
        yield fake


def _ctx(server, secret_store, production: bool = False):
    ctx = make_ctx(server, secret_store, production=production)
    ctx.errors = []
    ctx.errorRaised.connect(lambda title, detail: ctx.errors.append((title, detail)))
    ctx.attach_window(QWidget())
    return ctx


@pytest.fixture
def ctx(qapp, server, secret_store):
    ctx = _ctx(server, secret_store)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


@pytest.fixture
def prod_ctx(qapp, server, secret_store):
    ctx = _ctx(server, secret_store, production=True)
    yield ctx
    ctx.shutdown(timeout=10.0)
    ctx.deleteLater()


def _detail(qtbot, ctx) -> ConnectionDetail:
    widget = ConnectionDetail(ctx)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    conn = next(c for c in ctx.client().list_connections(limit=None) if c.connection_id == CID)
    widget.show_connection(conn)
    return widget


@pytest.fixture
def detail(qtbot, ctx):
    return _detail(qtbot, ctx)


def answer_modal(handler: Callable[[QWidget], None]) -> list[QWidget]:
    """Run ``handler`` on the next modal dialog as soon as it is shown (timers, no sleeps)."""
    seen: list[QWidget] = []

    def poll() -> None:
        widget = QApplication.activeModalWidget()
        if widget is None:
            QTimer.singleShot(5, poll)
            return
        seen.append(widget)
        try:
            handler(widget)
        except BaseException:
            widget.close()  # never leave a modal dialog blocking the test: the failure is reported
            raise

    QTimer.singleShot(0, poll)
    return seen


def click(button) -> Callable[[QWidget], None]:
    return lambda box: box.button(button).click()


# -- records ----------------------------------------------------------------------------------------------------


def _load_records(qtbot, detail):
    tab = detail.workbench.records
    detail.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.model_combo.count() > 0, timeout=TIMEOUT)  # models from the sync status
    tab.model_combo.setCurrentIndex(tab.model_combo.findData("Issue::base"))
    with qtbot.waitSignal(tab.loaded, timeout=TIMEOUT) as blocker:
        tab.load()
    return tab, blocker.args[0]


def test_records_load_every_page_in_the_background(qtbot, detail, server):
    tab = detail.workbench.records
    sizes: list[int] = []
    tab._bridge.received.connect(lambda item: sizes.append(len(item[0])))
    tab, count = _load_records(qtbot, detail)
    assert count == 2500 and tab.model.rowCount() == 2500
    assert sizes == [500] * 5  # rows shown page by page, the first before the others arrived
    titles = [t for _, t in tab.model.columns]
    assert titles[:3] == ["id", "title", "number"]
    assert titles[-5:] == ["First seen", "Last modified", "Last action", "Deleted at", "Pruned at"]
    assignee = titles.index("assignee")
    assert (
        json.loads(tab.model.index(0, assignee).data())
        == server.workbench.records[(INT, CID, "Issue", "base")][0]["assignee"]
    )
    assert tab.count_label.text() == "2,500 records" and tab.export_button.isEnabled()


def test_records_local_filter_sort_and_json_detail(qtbot, detail):
    tab, _ = _load_records(qtbot, detail)
    tab.search.setText("issue-000042")
    qtbot.waitUntil(lambda: tab.proxy.rowCount() == 1, timeout=TIMEOUT)
    assert tab.count_label.text() == "1 of 2,500 records"
    tab.view.selectRow(0)
    record = json.loads(tab.detail.toPlainText())
    assert record["id"] == "issue-000042" and "_nango_metadata" in record
    tab.search.setText("")
    qtbot.waitUntil(lambda: tab.proxy.rowCount() == 2500, timeout=TIMEOUT)
    number = [t for _, t in tab.model.columns].index("number")
    tab.view.horizontalHeader().setSortIndicator(
        number, __import__("PySide6.QtCore").QtCore.Qt.SortOrder.DescendingOrder
    )
    assert tab.proxy.index(0, number).data() == "2500"


def test_records_export_csv_and_jsonl(qtbot, detail, ctx, tmp_path, server):
    tab, _ = _load_records(qtbot, detail)
    with qtbot.waitSignal(ctx.notified, timeout=TIMEOUT):
        tab.export(str(tmp_path / "issues.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "issues.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 2500 and rows[0]["_nango_metadata.last_action"] in ("ADDED", "UPDATED", "DELETED")
    with qtbot.waitSignal(ctx.notified, timeout=TIMEOUT):
        tab.export(str(tmp_path / "issues.jsonl"))
    lines = (tmp_path / "issues.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == server.workbench.records[(INT, CID, "Issue", "base")]


def test_records_cancel_keeps_what_was_loaded(qtbot, detail, server):
    tab = detail.workbench.records
    detail.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.model_combo.count() > 0, timeout=TIMEOUT)
    tab.model_combo.setCurrentIndex(tab.model_combo.findData("Issue::base"))
    gate = server.hold("/records", after=1)
    try:
        tab.load()
        qtbot.waitUntil(lambda: tab.model.rowCount() == 500 and gate.held == 1, timeout=TIMEOUT)
        assert tab.is_loading() and tab.busy.is_busy()
        tab.busy.request_cancel()
    finally:
        gate.release()
    qtbot.waitUntil(lambda: not tab.is_loading(), timeout=TIMEOUT)
    assert "Cancelled: 500 records loaded" in tab.error_label.text()
    assert tab.model.rowCount() == 500 and tab.export_button.isEnabled()


def test_records_server_filters_ids_and_deleted(qtbot, detail, server):
    tab = detail.workbench.records
    detail.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.model_combo.count() > 0, timeout=TIMEOUT)
    tab.model_combo.setCurrentIndex(tab.model_combo.findData("Issue::base"))
    tab.ids_edit.setText("issue-000007, issue-000009")
    with qtbot.waitSignal(tab.loaded, timeout=TIMEOUT):
        tab.load()
    assert [r["id"] for r in tab.model.rows] == ["issue-000007", "issue-000009"]
    assert server.requests_to("/records")[-1].query["ids"] == ["issue-000007", "issue-000009"]
    tab.ids_edit.clear()
    tab.filter_combo.setCurrentIndex(tab.filter_combo.findData("deleted"))
    with qtbot.waitSignal(tab.loaded, timeout=TIMEOUT):
        tab.load()
    records = server.workbench.records[(INT, CID, "Issue", "base")]
    assert [r["id"] for r in tab.model.rows] == [
        r["id"] for r in records if r["_nango_metadata"]["last_action"] == "DELETED"
    ]
    assert server.requests_to("/records")[-1].param("filter") == "deleted"


def test_records_bad_modified_after_is_refused_locally(qtbot, detail, server):
    tab = detail.workbench.records
    tab.model_combo.setEditText("Issue")
    tab.modified_after.setText("last week")
    tab.load()
    assert "ISO 8601" in tab.error_label.text() and not tab.is_loading()
    assert server.requests_to("/records") == []


# -- syncs ------------------------------------------------------------------------------------------------------


def _syncs(qtbot, detail):
    tab = detail.workbench.syncs
    detail.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=TIMEOUT)
    return tab


def test_sync_control_pause_start_full_refresh_frequency(qtbot, detail, server):
    tab = _syncs(qtbot, detail)
    headers = [
        tab.model.headerData(c, __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal)
        for c in range(tab.model.columnCount())
    ]
    assert headers == ["Sync", "Status", "Frequency", "Last run", "Next run", "Records", "Latest result"]
    tab.view.selectRow(0)
    with qtbot.waitSignal(tab.syncsLoaded, timeout=TIMEOUT):
        tab.command("pause")  # no confirmation outside production
    assert tab.model.item(0, 1).text() == "Paused" and server.workbench.paused[-1]["syncs"] == [
        "github-issues"
    ]
    with qtbot.waitSignal(tab.syncsLoaded, timeout=TIMEOUT):
        tab.command("start")
    assert tab.model.item(0, 1).text() == "Running"
    with qtbot.waitSignal(tab.syncsLoaded, timeout=TIMEOUT):
        tab.command("full_refresh")
    assert server.triggered[-1]["sync_mode"] == "full_refresh"
    with qtbot.waitSignal(tab.syncsLoaded, timeout=TIMEOUT):
        tab.change_frequency("every 3 hours", "github-issues")
    assert tab.model.item(0, 2).text() == "every 3 hours"


def test_production_confirms_all_but_trigger_by_typing_the_connection_id(qtbot, prod_ctx, server):
    detail = _detail(qtbot, prod_ctx)
    tab = _syncs(qtbot, detail)
    tab.view.selectRow(0)
    with qtbot.waitSignal(tab.syncsLoaded, timeout=TIMEOUT):
        tab.command("incremental")  # Trigger: no confirmation even on production
    assert len(server.triggered) == 1

    def wrong_then_cancel(dialog: QWidget) -> None:
        assert isinstance(dialog, TypeToConfirmDialog)
        dialog.edit.setText("conn-2")
        assert not dialog.ok_button.isEnabled()
        dialog.reject()

    seen = answer_modal(wrong_then_cancel)
    tab.command("pause")
    assert seen and server.workbench.paused == []

    def typed(dialog: QWidget) -> None:
        dialog.edit.setText(CID)
        assert dialog.ok_button.isEnabled()
        dialog.ok_button.click()

    answer_modal(typed)
    with qtbot.waitSignal(tab.syncsLoaded, timeout=TIMEOUT):
        tab.command("pause")
    assert len(server.workbench.paused) == 1


# -- actions -----------------------------------------------------------------------------------------------------


def _actions(qtbot, detail):
    tab = detail.workbench.actions
    detail.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.action_combo.count() > 0, timeout=TIMEOUT)
    return tab


def test_action_input_is_checked_against_its_schema(qtbot, detail, server):
    tab = _actions(qtbot, detail)
    tab.action_combo.setCurrentText("create-issue")
    assert json.loads(tab.input_edit.toPlainText()) == {"owner": "", "repo": "", "title": ""}
    tab.input_edit.setPlainText('{"owner": "o"}')
    assert "$.repo: required property missing" in tab.check_input()
    tab.run()
    assert tab.outcome_label.text() == "Fix the input first." and server.workbench.action_runs == []
    tab.input_edit.setPlainText("{not json")
    assert tab.check_input()[0].startswith("Not valid JSON")


def test_action_runs_sync_and_async_with_history(qtbot, detail, server):
    tab = _actions(qtbot, detail)
    tab.action_combo.setCurrentText("create-issue")
    tab.input_edit.setPlainText('{"owner": "o", "repo": "r", "title": "Broken login"}')
    with qtbot.waitSignal(tab.finished, timeout=TIMEOUT) as blocker:
        tab.run()
    assert blocker.args[0].ok and json.loads(tab.result_view.toPlainText())["title"] == "Broken login"
    assert tab.outcome_label.text().startswith("✔ Succeeded")
    qtbot.waitUntil(lambda: tab.history.count() == 1, timeout=TIMEOUT)
    tab.poll_interval = 0.0
    tab.action_combo.setCurrentText("echo")
    tab.input_edit.setPlainText('{"message": "hi"}')
    assert not tab.retries.isEnabled()
    tab.async_box.setChecked(True)
    tab.retries.setValue(3)
    with qtbot.waitSignal(tab.finished, timeout=TIMEOUT) as blocker:
        tab.run()
    assert blocker.args[0].async_id and server.workbench.action_runs[-1]["headers"]["x-async"] == "true"
    assert server.workbench.action_runs[-1]["headers"]["x-max-retries"] == "3"
    qtbot.waitUntil(lambda: tab.history.count() == 2, timeout=TIMEOUT)
    assert "echo" in tab.history.item(0).text()


def test_action_error_shows_code_and_payload(qtbot, detail):
    tab = _actions(qtbot, detail)
    tab.action_combo.setCurrentText("always-fails")
    with qtbot.waitSignal(tab.finished, timeout=TIMEOUT) as blocker:
        tab.run()
    assert not blocker.args[0].ok
    assert "Failed to fetch the repository" in tab.outcome_label.text()
    assert "HTTP 500 · code action_script_failure" in tab.outcome_label.text()
    assert json.loads(tab.result_view.toPlainText())["payload"] == {
        "error": "Request failed with status code 404"
    }


# -- proxy -----------------------------------------------------------------------------------------------------


def _proxy(detail):
    tab = detail.workbench.proxy
    detail.tabs.setCurrentWidget(tab)
    return tab


def test_proxy_get_is_one_click_and_shows_the_response(qtbot, detail, server):
    tab = _proxy(detail)
    tab.path.setText("/user")
    tab.headers.setPlainText("Accept: application/json")
    with qtbot.waitSignal(tab.responded, timeout=TIMEOUT):
        tab.send()
    assert tab.status.text().startswith("HTTP 200 · ")
    assert json.loads(tab.response_body.toPlainText())["login"] == "octocat"
    assert "\n  " in tab.response_body.toPlainText()  # pretty-printed
    assert "X-Provider-Request" in tab.response_headers.toPlainText()
    assert server.workbench.provider.requests[-1]["headers"]["accept"] == "application/json"
    qtbot.waitUntil(lambda: tab.history.count() == 1, timeout=TIMEOUT)


def test_proxy_write_asks_for_confirmation(qtbot, detail, server):
    tab = _proxy(detail)
    tab.method.setCurrentText("POST")
    tab.path.setText("/echo")
    tab.body.setPlainText('{"title": "x"}')
    seen = answer_modal(click(QMessageBox.StandardButton.Cancel))
    tab.send()
    assert seen and server.requests_to("/proxy/echo") == []
    answer_modal(click(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(tab.responded, timeout=TIMEOUT):
        tab.send()
    assert len(server.requests_to("/proxy/echo", "POST")) == 1
    tab.method.setCurrentText("DELETE")
    tab.path.setText("/status/404")
    answer_modal(click(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(tab.responded, timeout=TIMEOUT):
        tab.send()
    assert tab.status.text().startswith("HTTP 404")


def test_proxy_write_on_production_needs_the_typed_connection_id(qtbot, prod_ctx, server):
    detail = _detail(qtbot, prod_ctx)
    tab = _proxy(detail)
    tab.method.setCurrentText("DELETE")
    tab.path.setText("/echo")

    def wrong(dialog: QWidget) -> None:
        assert isinstance(dialog, TypeToConfirmDialog)
        dialog.edit.setText("conn-")
        dialog.accept()  # refused while the text does not match
        assert dialog.isVisible()
        dialog.reject()

    seen = answer_modal(wrong)
    tab.send()
    assert seen and server.requests_to("/proxy/echo") == []

    def right(dialog: QWidget) -> None:
        dialog.edit.setText(CID)
        dialog.ok_button.click()

    answer_modal(right)
    with qtbot.waitSignal(tab.responded, timeout=TIMEOUT):
        tab.send()
    assert len(server.requests_to("/proxy/echo", "DELETE")) == 1


def test_copy_as_curl_never_contains_the_api_key(qtbot, detail, server):
    tab = _proxy(detail)
    tab.method.setCurrentText("POST")
    tab.path.setText("/repos/o/r/issues")
    tab.query.setPlainText("per_page=5")
    tab.headers.setPlainText("Accept: application/json\nAuthorization: token provider-secret-42")
    tab.body.setPlainText('{"title": "x"}')
    tab.copy_as_curl()
    command = QGuiApplication.clipboard().text()
    assert command.startswith("curl ") and f"{server.url}/proxy/repos/o/r/issues?per_page=5" in command
    assert server.secret_key not in command and "provider-secret-42" not in command
    assert "Authorization: Bearer ${NANGO_SECRET_KEY}" in command
    assert "Connection-Id: conn-1" in command
    assert server.requests_to("/proxy/") == []  # copying sends nothing


# -- integrations ------------------------------------------------------------------------------------------------


def test_integrations_page_lists_counts_detail_and_jumps(qtbot, ctx, server):
    page = IntegrationsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 600)
    ctx.connections_store.set_connections(ctx.client().list_connections(limit=None))
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=TIMEOUT)
    row = next(r for r in range(page.model.rowCount()) if page.model.item(r, 1).text() == "github")
    total = sum(1 for c in server.connections if c["provider_config_key"] == "github")
    broken = sum(1 for c in server.connections if c["provider_config_key"] == "github" and c["errors"])
    assert page.model.item(row, 0).text() == "GitHub"
    assert page.model.item(row, 2).text() == "OAUTH2"
    assert page.model.item(row, 3).text() == str(total) and page.model.item(row, 4).text() == str(broken)
    assert page.select("github")
    qtbot.waitUntil(lambda: "create-issue" in page.functions.toPlainText(), timeout=TIMEOUT)
    assert "Webhook URL:" in page.detail_info.text()
    with qtbot.waitSignal(ctx.navigateRequested, timeout=TIMEOUT) as blocker:
        page.show_connections()
    assert blocker.args == ["connections", {"filter": {"clear": True, "integrations": ["github"]}}]


def test_integrations_page_shows_provider_logos_fetched_in_the_background(qtbot, ctx, server):
    from nango_desktop.ui.workbench.integrations import LOGO_ROLE

    server.logos["slack"] = b"<html>not a logo</html>"  # keeps its initials badge
    server.logos["hubspot"] = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"/>'  # draws nothing
    page = IntegrationsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=TIMEOUT)

    def logos() -> dict[str, str]:
        return {page.model.item(r, 1).text(): page.model.item(r, 0).data(LOGO_ROLE) for r in range(3)}

    qtbot.waitUntil(lambda: logos()["github"] == "logo", timeout=TIMEOUT)
    assert logos()["slack"] == logos()["hubspot"] == "initials"
    asked = len([r for r in server.requests if r.path.startswith("/images/")])
    page.refresh()  # a refresh neither asks again nor loses the logos
    qtbot.waitUntil(lambda: not page.busy.isVisible(), timeout=TIMEOUT)
    assert logos() == {"github": "logo", "hubspot": "initials", "slack": "initials"}
    assert len([r for r in server.requests if r.path.startswith("/images/")]) == asked == 3
