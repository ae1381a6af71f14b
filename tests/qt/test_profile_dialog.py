"""ProfileDialog: first run, key validation against FakeNango (real HTTP), keyring naming and refusal."""

from __future__ import annotations

import json

import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QDialog

from nango_desktop.services.secrets import SERVICE, SecretKind, SecretStore
from nango_desktop.settings import Profile, Settings
from nango_desktop.ui import main_window as mw
from nango_desktop.ui.context import AppContext
from nango_desktop.ui.profile_dialog import ProfileDialog, ProfileResult


@pytest.fixture
def dialog(qtbot, app_ctx):
    d = ProfileDialog(app_ctx)
    qtbot.addWidget(d)
    d.show()
    return d


def _fill(d: ProfileDialog, *, name: str, url: str, key: str, signing: str = "") -> None:
    d.name_edit.setText(name)
    d.url_edit.setText(url)
    d.key_edit.setText(key)
    d.signing_edit.setText(signing)


def test_names_the_keyring_backend(qtbot, dialog, secret_store):
    expected = f"Keys are stored in: {secret_store.backend_name}"
    qtbot.waitUntil(lambda: dialog.keyring_label.text() == expected, timeout=5000)


def test_good_key_is_validated_then_stored_in_keyring(qtbot, dialog, app_ctx, nango_server, memory_keyring):
    assert dialog.url_edit.text() == "https://api.nango.dev"
    _fill(dialog, name="Acme dev", url=nango_server.url, key=nango_server.secret_key, signing="whsec-123456")
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        dialog.save_button.click()
        assert dialog.busy.is_busy()  # progress shown while the worker checks the key
    result = dialog.result_profile
    assert isinstance(result, ProfileResult) and not result.in_memory
    assert result.profile.name == "Acme dev" and result.profile.api_url == nango_server.url
    assert nango_server.requests_to("/connections")  # a real call was made
    assert memory_keyring.store[(SERVICE, "Acme dev:api-key")] == nango_server.secret_key
    assert memory_keyring.store[(SERVICE, "Acme dev:webhook-signing-key")] == "whsec-123456"
    assert app_ctx.cached_key("Acme dev") == nango_server.secret_key
    assert dialog.key_edit.text() == "" and dialog.signing_edit.text() == ""


def test_bad_key_shows_401_and_stores_nothing(qtbot, dialog, nango_server, memory_keyring):
    _fill(dialog, name="Acme dev", url=nango_server.url, key="wrong-key-0000")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not dialog.busy.is_busy(), timeout=10000)
    qtbot.waitUntil(dialog.status_label.isVisible, timeout=5000)
    text = dialog.status_label.text()
    assert "The API key was rejected" in text and "401" in text
    assert "wrong-key-0000" not in text
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.isVisible()
    assert memory_keyring.store == {}
    assert dialog.save_button.isEnabled()


def test_unreachable_server_is_reported(qtbot, dialog):
    _fill(dialog, name="x", url="http://127.0.0.1:9", key="k-123456")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not dialog.busy.is_busy(), timeout=20000)
    assert "Cannot reach the Nango server" in dialog.status_label.text()


def field_error(d: ProfileDialog, key: str) -> str:
    return d.field_messages[key].text()


def test_form_validation_marks_each_field(qtbot, dialog):
    _fill(dialog, name="", url="https://api.nango.dev", key="k")
    dialog.save_button.click()
    assert "Required" in field_error(dialog, "name")
    assert field_error(dialog, "api_url") == "" and field_error(dialog, "api_key") == ""
    _fill(dialog, name="ok", url="ftp://nope", key="k")
    dialog.save_button.click()
    assert field_error(dialog, "name") == ""
    assert "API URL must look like" in field_error(dialog, "api_url")
    _fill(dialog, name="ok", url="https://api.nango.dev", key="")
    dialog.save_button.click()
    assert "API key" in field_error(dialog, "api_key") and field_error(dialog, "api_url") == ""
    assert not dialog.busy.is_busy()


def test_empty_form_marks_every_missing_field_not_one_raw_message(qtbot, dialog):
    _fill(dialog, name="", url="", key="")
    dialog.dashboard_edit.setText("not a url")
    dialog.save_button.click()
    assert "Required" in field_error(dialog, "name")
    assert "Required" in field_error(dialog, "api_url")
    assert "Required" in field_error(dialog, "api_key")
    assert "Dashboard URL must look like" in field_error(dialog, "dashboard_url")
    status = dialog.status_label.text()
    assert "4 fields need attention" in status
    assert "validation error" not in status.lower() and "string_pattern" not in status  # no raw pydantic
    assert dialog.name_edit.hasFocus()


def test_dashboard_url_is_saved_and_defaults_to_the_server(qtbot, dialog, nango_server):
    _fill(dialog, name="self", url=nango_server.url, key=nango_server.secret_key)
    assert nango_server.url in dialog.dashboard_edit.placeholderText()  # self-hosted: the server itself
    dialog.url_edit.setText("https://api.nango.dev")
    assert "https://app.nango.dev" in dialog.dashboard_edit.placeholderText()
    dialog.url_edit.setText(nango_server.url)
    dialog.dashboard_edit.setText("http://localhost:3000/")
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        dialog.save_button.click()
    assert dialog.result_profile.profile.dashboard_url == "http://localhost:3000"


def test_production_environment_sets_flag(dialog):
    assert not dialog.production_check.isChecked()
    dialog.env_combo.setCurrentText("prod")
    assert dialog.production_check.isChecked()


def test_keyring_refusal_offers_memory_only(qtbot, nango_server):
    secrets = SecretStore(keyring.backends.fail.Keyring())
    ctx = AppContext(Settings(), secrets)
    try:
        d = ProfileDialog(ctx)
        qtbot.addWidget(d)
        d.show()
        qtbot.waitUntil(lambda: "not a secure keyring" in d.keyring_label.text(), timeout=5000)
        _fill(d, name="temp", url=nango_server.url, key=nango_server.secret_key)
        d.save_button.click()
        qtbot.waitUntil(d.memory_button.isVisible, timeout=10000)
        assert "No secure keyring is available" in d.status_label.text()
        with qtbot.waitSignal(d.accepted, timeout=5000):
            d.memory_button.click()
        assert d.result_profile.in_memory
        assert secrets.in_memory("temp", SecretKind.API_KEY)
        assert secrets.get("temp", SecretKind.API_KEY) == nango_server.secret_key
    finally:
        ctx.shutdown(timeout=10)


def test_edit_keeps_stored_key_and_renames(qtbot, profile_ctx, api_profile, nango_server, memory_keyring):
    d = ProfileDialog(profile_ctx, profile=api_profile)
    qtbot.addWidget(d)
    d.show()
    assert d.name_edit.text() == "test" and d.url_edit.text() == nango_server.url
    assert "keep the stored key" in d.key_edit.placeholderText()
    d.name_edit.setText("renamed")
    with qtbot.waitSignal(d.accepted, timeout=10000):
        d.save_button.click()
    assert d.result_profile.old_name == "test" and d.result_profile.profile.name == "renamed"
    assert memory_keyring.store.get((SERVICE, "renamed:api-key")) == nango_server.secret_key
    assert (SERVICE, "test:api-key") not in memory_keyring.store
    profile_ctx.upsert_profile(d.result_profile.profile, old_name="test")
    assert profile_ctx.profile.name == "renamed" and profile_ctx.settings.names() == ["renamed"]
    assert profile_ctx.cached_key("renamed") == nango_server.secret_key


def test_first_run_opens_dialog_and_saves_profile(qtbot, monkeypatch, app_ctx, nango_server, tmp_home):
    monkeypatch.setattr(mw, "PAGE_SPECS", ())  # the shell alone
    asked = []

    def fake_ask(cls, ctx, parent=None, profile=None):
        asked.append(profile)
        ctx.cache_key("first", nango_server.secret_key)
        return ProfileResult(Profile(name="first", api_url=nango_server.url), None, False)

    monkeypatch.setattr(ProfileDialog, "ask", classmethod(fake_ask))
    window = mw.MainWindow(app_ctx)
    qtbot.addWidget(window)
    assert window.windowTitle() == "Nango Desktop" and window.profile_combo.count() == 0
    with qtbot.waitSignal(app_ctx.profileChanged, timeout=5000):
        mw.schedule_first_run(window)
    assert asked == [None]
    assert app_ctx.profile.name == "first" and window.profile_combo.currentData() == "first"
    settings_file = tmp_home / "config" / "profiles.json"
    qtbot.waitUntil(settings_file.is_file, timeout=5000)
    qtbot.waitUntil(lambda: json.loads(settings_file.read_text())["current_profile"] == "first", timeout=5000)
    assert nango_server.secret_key not in settings_file.read_text()


def test_row_ceiling_and_deadline_are_edited_and_saved(qtbot, app_ctx, nango_server):
    """The pagination guard's error names the profile's Row ceiling (max_connection_rows): it is in the
    dialog, with the per-call deadline, shown for an existing profile and saved with it."""
    existing = Profile(name="Limits", api_url=nango_server.url, max_connection_rows=1234, request_deadline=45)
    d = ProfileDialog(app_ctx, profile=existing)
    qtbot.addWidget(d)
    assert d.max_rows_spin.value() == 1234 and d.deadline_spin.value() == 45
    d.max_rows_spin.setValue(0)
    assert d.max_rows_spin.text() == "no ceiling"
    d.deadline_spin.setValue(120)
    profile = d.build_profile()
    assert profile.max_connection_rows == 0 and profile.request_deadline == 120.0
    fresh = ProfileDialog(app_ctx)
    qtbot.addWidget(fresh)
    assert fresh.max_rows_spin.value() == 500_000 and fresh.deadline_spin.value() == 60


def test_settings_save_on_an_unwritable_home_is_reported_with_the_path(qtbot, tmp_path):
    """Issue 19 item 8 in the GUI: a settings save that cannot be written says which file and why (not a raw
    OSError or "Unexpected error")."""
    import os
    import stat
    from pathlib import Path

    from PySide6.QtWidgets import QWidget

    from nango_desktop.services.secrets import SecretStore
    from tests.helpers import MemoryKeyring

    if os.geteuid() == 0:
        home = Path("/sys/nango-desktop-test-home")  # sysfs: nothing can be created, even by root
    else:
        home = tmp_path / "ro"
        home.mkdir()
        home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    target = home / "config" / "profiles.json"
    ctx = AppContext(
        Settings(profiles=[Profile(name="p")]), SecretStore(MemoryKeyring()), settings_path=target
    )
    ctx.attach_window(QWidget())
    try:
        with qtbot.waitSignal(ctx.errorRaised, timeout=10_000) as blocker:
            ctx.save_settings()
        title, detail = blocker.args
        assert title.startswith("Cannot write ") and str(target) in title, title
        assert "permission" in detail.lower() or "not permitted" in detail.lower(), detail
    finally:
        ctx.shutdown()
