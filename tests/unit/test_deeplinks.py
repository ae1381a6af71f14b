"""domain/deeplinks.py and the profile's dashboard URL: "Open in Nango" links and errors in words."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from nango_desktop.domain.deeplinks import DashboardLinks, describe_error
from nango_desktop.domain.models import ConnectionErrorInfo
from nango_desktop.settings import DEFAULT_DASHBOARD_URL, Profile, Settings, load_settings, save_settings


def test_cloud_profile_links_to_nango_clouds_dashboard():
    links = DashboardLinks.for_profile(Profile(name="acme", environment="prod"))
    assert links.connection("github", "u-42") == "https://app.nango.dev/prod/connections/github/u-42"
    assert links.integration("github") == "https://app.nango.dev/prod/integrations/github"
    assert links.log_operation("VrnbtykXJFckCm3HP93t") == (
        "https://app.nango.dev/prod/logs?operationId=VrnbtykXJFckCm3HP93t"
    )
    assert links.connections() == "https://app.nango.dev/prod/connections"


def test_self_hosted_profile_links_to_its_own_server_unless_told_otherwise():
    own = Profile(name="self", api_url="http://nango.internal:3003/", environment="dev")
    assert DashboardLinks.for_profile(own).integration("hubspot") == (
        "http://nango.internal:3003/dev/integrations/hubspot"
    )
    custom = own.model_copy(update={"dashboard_url": "https://dash.example.com/nango/"})
    custom = Profile.model_validate(custom.model_dump())
    assert custom.dashboard_base == "https://dash.example.com/nango"
    assert DashboardLinks.for_profile(custom).connection("hubspot", "c1") == (
        "https://dash.example.com/nango/dev/connections/hubspot/c1"
    )


def test_ids_with_reserved_characters_stay_one_path_segment():
    links = DashboardLinks("https://app.nango.dev", "dev")
    url = links.connection("google drive", "org/42#a?b")
    assert url == "https://app.nango.dev/dev/connections/google%20drive/org%2F42%23a%3Fb"
    parts = urlsplit(url)
    assert parts.query == "" and parts.fragment == ""
    log = urlsplit(links.log_operation("a&b=c"))
    assert parse_qs(log.query) == {"operationId": ["a&b=c"]}
    logs = urlsplit(links.connection_logs("github", "u 1"))
    assert parse_qs(logs.query) == {"connections": ["u 1"], "integrations": ["github"]}


@pytest.mark.parametrize("bad", ["app.nango.dev", "ftp://x", "https://x/?a=1"])
def test_bad_dashboard_urls_are_rejected_with_their_field_named(bad):
    with pytest.raises(ValidationError, match="dashboard URL"):
        Profile(name="p", dashboard_url=bad)


def test_dashboard_url_and_theme_survive_a_save(tmp_path):
    path = tmp_path / "profiles.json"
    settings = Settings(theme="dark")
    settings.upsert(Profile(name="p", api_url="http://localhost:3003", dashboard_url="http://localhost:3000"))
    save_settings(settings, path)
    loaded = load_settings(path)
    assert loaded.theme == "dark"
    assert loaded.get("p").dashboard_base == "http://localhost:3000"
    assert Profile(name="q").dashboard_base == DEFAULT_DASHBOARD_URL


def test_an_unknown_theme_falls_back_to_system_without_losing_the_file(tmp_path):
    path = tmp_path / "profiles.json"
    path.write_text('{"schema_version": 1, "theme": "solarized", "profiles": [{"name": "keep"}]}')
    loaded = load_settings(path)
    assert loaded.load_problem is None
    assert loaded.theme == "system"
    assert loaded.names() == ["keep"]


def test_connection_errors_are_described_in_words_with_their_log_id():
    auth = describe_error(ConnectionErrorInfo(type="auth", log_id="L1"))
    assert auth.title == "Authorization error"
    assert "reconnect" in auth.sentence
    assert auth.text.endswith("Log id: L1.")
    sync = describe_error(ConnectionErrorInfo(type="sync", log_id=None))
    assert sync.title == "Sync error" and sync.log_id is None
    assert sync.text.endswith("No log id.")
    newer = describe_error(ConnectionErrorInfo(type="webhook_delivery", log_id="L3"))
    assert newer.title == "Webhook delivery error"
    assert "webhook_delivery" in newer.sentence


@pytest.mark.parametrize(
    ("url", "self_hosted", "expected"),
    [
        ("http://localhost:3003", True, "loopback"),
        ("http://127.0.0.1:3003", True, "loopback"),
        ("http://[::1]:3003", True, "loopback"),
        ("http://192.168.1.20:3003", True, "private"),
        ("https://nango.acme.com", True, None),
        ("https://api.nango.dev", False, None),
    ],
)
def test_links_to_an_api_the_customer_cannot_reach_are_flagged(url, self_hosted, expected):
    from nango_desktop.domain.links import unreachable_api_warning

    warning = unreachable_api_warning(url, self_hosted)
    if expected is None:
        assert warning is None
    else:
        assert expected in warning and url in warning
