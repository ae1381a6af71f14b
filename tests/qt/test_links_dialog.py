"""NewLinkDialog against FakeNango: live validation with Nango's tag rules, prefill, the exact request body."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from nango_desktop.session.link_tracker import tracker_for
from nango_desktop.ui.links.dialog import NewLinkDialog


@pytest.fixture
def dialog(qtbot, profile_ctx):
    dlg = NewLinkDialog(profile_ctx, tracker_for(profile_ctx))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.integrations_status.text().endswith("integrations"))
    return dlg


def error_of(dlg: NewLinkDialog, name: str) -> str:
    label = dlg.findChild(QLabel, f"error_{name}")
    return label.text() if not label.isHidden() else ""


def fill(dlg: NewLinkDialog, **values: str) -> None:
    for attr, value in values.items():
        dlg.fields[attr].setText(value)


def test_end_user_id_is_required_but_a_fresh_form_shows_no_red(qtbot, dialog):
    assert error_of(dialog, "end_user_id") == ""  # untouched: no "Required" in red
    assert not dialog.create_button.isEnabled()
    assert "end user" in dialog.create_button.toolTip()  # why Create is disabled
    fill(dialog, end_user_id="u_1")
    assert error_of(dialog, "end_user_id") == ""
    assert dialog.create_button.isEnabled()
    dialog.show()
    edit = dialog.fields["end_user_id"]
    edit.setFocus()
    qtbot.keyClick(edit, "a", Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)  # the user emptied it: now it is reported
    assert "Required" in error_of(dialog, "end_user_id")
    assert not dialog.create_button.isEnabled()


def test_submit_attempt_reports_required_fields(dialog):
    dialog.accept()
    assert "Required" in error_of(dialog, "end_user_id")
    assert dialog.issued is None


def test_messages_never_move_the_fields(qtbot, dialog):
    dialog.show()
    qtbot.waitExposed(dialog)
    watched = [dialog.fields[a] for a in ("end_user_id", "email", "display_name", "organization_id")]
    watched += [dialog.extra_tags.table, dialog.webhook_url, dialog.config_defaults.table]

    def positions():
        return [w.mapTo(dialog, w.rect().topLeft()) for w in watched]

    fill(dialog, end_user_id="u_1")
    before = positions()
    fill(dialog, email="a@b.c", display_name="x" * 300)  # two long errors appear
    dialog.extra_tags.add_row("1bad", "")
    dialog.webhook_url.setText("nope")
    assert error_of(dialog, "email") and error_of(dialog, "display_name") and error_of(dialog, "tags")
    QApplication.processEvents()
    assert positions()[:4] == before[:4]
    fill(dialog, email="", display_name="")
    QApplication.processEvents()
    assert positions()[:4] == before[:4]
    label = dialog.findChild(QLabel, "error_tags")
    assert label.height() == label.sizeHint().height()  # reserved, whatever the message length
    assert label.toolTip() == error_of(dialog, "tags")


def test_integrations_the_customer_has_are_shown_but_not_ticked(qtbot, profile_ctx, nango_server):
    dlg = NewLinkDialog(
        profile_ctx, tracker_for(profile_ctx), {"end_user_id": "u1", "existing_integrations": ["github"]}
    )
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.integrations_status.text().endswith("integrations"))
    assert dlg.checked_integrations() == []
    model = dlg.integrations_model
    labels = [model.item(r).text() for r in range(model.rowCount())]
    assert "GitHub  (github)  — connected" in labels
    assert "Zendesk  (zendesk)" in labels


def test_a_loopback_api_warns_that_the_customer_cannot_reach_it(qtbot, dialog, profile_ctx):
    assert profile_ctx.profile.api_url.startswith("http://127.0.0.1")  # FakeNango on loopback
    assert not dialog.reach_warning.isHidden()
    assert (
        "loopback" in dialog.reach_warning.text()
        and profile_ctx.profile.api_url in dialog.reach_warning.text()
    )


def test_email_must_be_an_email_nango_accepts(dialog):
    fill(dialog, end_user_id="u_1", email="a@b.c")  # Nango rejects a one-letter TLD
    assert "valid email" in error_of(dialog, "email")
    assert not dialog.create_button.isEnabled()
    fill(dialog, email="jane@acme.com")
    assert error_of(dialog, "email") == "" and dialog.create_button.isEnabled()


def test_values_are_at_most_255_characters(dialog):
    fill(dialog, end_user_id="u_1", display_name="x" * 256, organization_name="y" * 255)
    assert "255" in error_of(dialog, "display_name")
    assert error_of(dialog, "organization_name") == ""
    assert not dialog.create_button.isEnabled()


def test_extra_tag_key_pattern_length_duplicates(dialog):
    fill(dialog, end_user_id="u_1")
    row = dialog.extra_tags.add_row("1plan", "pro")
    assert error_of(dialog, "tags").startswith("Row 1:") and "start with a letter" in error_of(dialog, "tags")
    assert not dialog.create_button.isEnabled()
    dialog.extra_tags.set_value(row, 0, "p" * 65)
    assert "64" in error_of(dialog, "tags")
    dialog.extra_tags.set_value(row, 0, "END_USER_ID")
    assert "set by the customer fields" in error_of(dialog, "tags")
    dialog.extra_tags.set_value(row, 0, "plan")
    assert error_of(dialog, "tags") == "" and dialog.create_button.isEnabled()
    dialog.extra_tags.add_row("Plan", "enterprise")
    assert "Row 2" in error_of(dialog, "tags") and "twice" in error_of(dialog, "tags")
    dialog.extra_tags.set_value(1, 1, "")
    dialog.extra_tags.set_value(1, 0, "")
    assert error_of(dialog, "tags") == ""


def test_extra_tag_value_must_not_be_empty(dialog):
    fill(dialog, end_user_id="u_1")
    dialog.extra_tags.add_row("plan", "")
    assert "empty value" in error_of(dialog, "tags")


def test_at_most_ten_tags_customer_fields_included(dialog):
    fill(
        dialog,
        end_user_id="u",
        email="u@acme.com",
        display_name="U",
        organization_id="o",
        organization_name="O",
    )
    for i in range(5):
        dialog.extra_tags.add_row(f"k{i}", "v")
    assert error_of(dialog, "tags") == "" and dialog.create_button.isEnabled()
    dialog.extra_tags.add_row("k5", "v")
    assert "At most 10 tags" in error_of(dialog, "tags") and "11" in error_of(dialog, "tags")
    assert not dialog.create_button.isEnabled()
    fill(dialog, organization_name="")  # back to 10
    assert error_of(dialog, "tags") == "" and dialog.create_button.isEnabled()


def test_urls_and_integration_settings_are_checked(dialog):
    fill(dialog, end_user_id="u_1")
    dialog.webhook_url.setText("hooks.acme.com")
    assert "http(s)" in error_of(dialog, "webhook_url")
    dialog.webhook_url.setText("https://hooks.acme.com/nango")
    assert error_of(dialog, "webhook_url") == ""
    dialog.docs_overrides.add_row("zendesk", "docs")
    assert "http(s) URL" in error_of(dialog, "docs")
    dialog.docs_overrides.set_value(0, 1, "https://docs.acme.com/zendesk")
    dialog.config_defaults.add_row("nope", "subdomain", "acme")
    assert "no integration “nope”" in error_of(dialog, "config")
    dialog.config_defaults.set_value(0, 0, "zendesk")
    assert error_of(dialog, "config") == error_of(dialog, "docs") == ""
    assert dialog.create_button.isEnabled()


def test_integrations_are_listed_with_display_names(dialog, nango_server):
    model = dialog.integrations_model
    labels = [model.item(r).text() for r in range(model.rowCount())]
    assert len(labels) == len(nango_server.integrations)
    assert "GitHub  (github)" in labels and "Zendesk  (zendesk)" in labels
    assert dialog.checked_integrations() == []


def test_prefill_ticks_explicit_integration_ids(qtbot, profile_ctx, nango_server):
    conn = nango_server.connections[0]
    prefill = {"tags": conn["tags"], "integration_ids": [conn["provider_config_key"]]}
    dlg = NewLinkDialog(profile_ctx, tracker_for(profile_ctx), prefill)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.integrations_status.text().endswith("integrations"))
    assert dlg.fields["end_user_id"].text() == conn["tags"]["end_user_id"]
    assert dlg.fields["email"].text() == conn["tags"]["end_user_email"]
    assert dlg.fields["organization_name"].text() == conn["tags"]["organization_display_name"]
    extras = {k: v for _row, (k, v) in dlg.extra_tags.rows()}
    assert extras == {"plan": conn["tags"]["plan"], "region": conn["tags"]["region"]}
    assert dlg.checked_integrations() == [conn["provider_config_key"]]
    assert dlg.request().tags() == conn["tags"]
    assert dlg.create_button.isEnabled()


def test_prefill_explicit_fields_win(qtbot, profile_ctx):
    dlg = NewLinkDialog(
        profile_ctx,
        tracker_for(profile_ctx),
        {"end_user_id": "u9", "email": "u9@acme.com", "display_name": "U Nine", "organization_id": "o9",
         "organization_name": "Org Nine", "tags": {"end_user_id": "old"}},
    )  # fmt: skip
    qtbot.addWidget(dlg)
    assert [dlg.fields[a].text() for a in ("end_user_id", "email", "display_name", "organization_id", "organization_name")] == [
        "u9", "u9@acme.com", "U Nine", "o9", "Org Nine"
    ]  # fmt: skip


def test_create_sends_exactly_the_expected_body(qtbot, dialog, nango_server):
    fill(dialog, end_user_id="u_42", email="jane@acme.com", display_name="Jane Doe", organization_id="org_7",
         organization_name="Acme Inc.")  # fmt: skip
    dialog.extra_tags.add_row("Plan", "pro")
    dialog.set_integration_checked("zendesk")
    dialog.set_integration_checked("github")
    dialog.config_defaults.add_row("zendesk", "subdomain", "acme")
    dialog.config_defaults.add_row("github", "oauth_scopes_override", "repo,read:org")
    dialog.docs_overrides.add_row("zendesk", "https://docs.acme.com/zendesk")
    dialog.webhook_url.setText("https://hooks.acme.com/nango")
    with qtbot.waitSignal(dialog.linkIssued, timeout=10_000) as blocker:
        dialog.create_button.click()
    issued = blocker.args[0]
    (request,) = nango_server.requests_to("/connect/sessions", "POST")
    assert request.body == {
        "tags": {
            "plan": "pro",
            "end_user_id": "u_42",
            "end_user_email": "jane@acme.com",
            "end_user_display_name": "Jane Doe",
            "organization_id": "org_7",
            "organization_display_name": "Acme Inc.",
        },
        "allowed_integrations": ["github", "zendesk"],
        "integrations_config_defaults": {
            "zendesk": {"connection_config": {"subdomain": "acme"}},
            "github": {"connection_config": {"oauth_scopes_override": "repo,read:org"}},
        },
        "overrides": {"zendesk": {"docs_connect": "https://docs.acme.com/zendesk"}},
        "webhook_url_override": "https://hooks.acme.com/nango",
    }
    (token,) = nango_server.sessions
    assert issued.url.startswith(f"{nango_server.connect_ui_url.rstrip('/')}/?session_token={token}")
    assert issued.url.endswith("&apiURL=" + nango_server.url.replace(":", "%3A").replace("/", "%2F"))
    record = issued.record
    assert (record.kind, record.end_user_id, record.email, record.integration_ids) == (
        "new", "u_42", "jane@acme.com", ["github", "zendesk"]
    )  # fmt: skip
    assert token not in record.link
    assert dialog.result() == NewLinkDialog.DialogCode.Accepted


def test_server_rejection_is_shown_and_the_dialog_stays_open(qtbot, dialog, nango_server):
    fill(dialog, end_user_id="u_1")
    nango_server.fail_next(400, body={"error": {"code": "invalid_body", "message": "Tag is bad"}},
                           path_prefix="/connect/sessions")  # fmt: skip
    dialog.show()
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.banner.current() is not None)
    assert dialog.isVisible() and dialog.issued is None
    assert dialog.create_button.isEnabled() and dialog.create_button.text() == "Create link"
