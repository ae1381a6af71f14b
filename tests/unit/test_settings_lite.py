"""settings_lite reads the settings file without pydantic exactly as load_settings does, or declines (None)
and leaves it to load_settings: sample files, valid and malformed, read both ways."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nango_desktop import settings_lite
from nango_desktop.settings import ListenerSettings, Profile, Settings, load_settings, save_settings
from nango_desktop.settings_lite import LiteProfile, read_settings

FULL = {
    "name": "prod EU",
    "api_url": "https://nango.example.com/api",
    "environment": "prod",
    "production": True,
    "listener": {
        "enabled": True,
        "port": 9000,
        "path": "/hooks",
        "reserved_share": 0.5,
        "unverified_rate": 3,
    },
    "connect_ui_url": "https://connect.example.com",
    "dashboard_url": None,
    "max_connection_rows": 0,
    "request_deadline": 120,
}
# files both readers must read the same way (the lite one must not decline them)
READABLE = {
    "empty object": {},
    "no profiles": {"schema_version": 1, "profiles": [], "current_profile": None, "theme": "dark"},
    "minimal profile": {"profiles": [{"name": "dev"}], "current_profile": "dev"},
    "full profile": {"profiles": [FULL, {"name": "local", "api_url": "http://127.0.0.1:3003"}]},
    "current missing": {"profiles": [{"name": "a"}], "current_profile": "gone"},
    "unknown keys ignored": {"profiles": [{"name": "a", "future": 1}], "extra": {"x": 1}},
    "duplicate names": {"profiles": [{"name": "a", "request_deadline": 5.5}, {"name": "a"}]},
}
# files the lite reader declines: load_settings decides (it may accept them, or report and move them aside)
DECLINED = {
    "not json": b"{profiles: [",
    "not an object": b"[1, 2]",
    "profiles not a list": {"profiles": {"name": "a"}},
    "profile without a name": {"profiles": [{"api_url": "https://x.example"}]},
    "bad name": {"profiles": [{"name": "-bad"}]},
    "name with spaces around": {"profiles": [{"name": " a "}]},
    "api url with a slash": {"profiles": [{"name": "a", "api_url": "https://x.example/"}]},
    "api url not http": {"profiles": [{"name": "a", "api_url": "ftp://x.example"}]},
    "deadline out of range": {"profiles": [{"name": "a", "request_deadline": 0.5}]},
    "deadline as a string": {"profiles": [{"name": "a", "request_deadline": "60"}]},
    "rows negative": {"profiles": [{"name": "a", "max_connection_rows": -1}]},
    "rows as a float": {"profiles": [{"name": "a", "max_connection_rows": 10.0}]},
    "port out of range": {"profiles": [{"name": "a", "listener": {"port": 70000}}]},
    "listener not an object": {"profiles": [{"name": "a", "listener": []}]},
    "bool as an int": {"profiles": [{"name": "a", "production": 1}]},
    "blank connect url": {"profiles": [{"name": "a", "connect_ui_url": "  "}]},
    "path without a slash": {"profiles": [{"name": "a", "listener": {"path": "hooks"}}]},
    "unknown theme": {"theme": "purple"},
    "newer schema": {"schema_version": 2, "profiles": [{"name": "a"}]},
    "bad schema": {"schema_version": "one"},
    "current not a string": {"current_profile": 3},
}


def _write(path: Path, content: object) -> None:
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())


def _as_lite(profile: Profile) -> LiteProfile:
    return LiteProfile(
        profile.name,
        profile.api_url,
        profile.max_connection_rows,
        profile.request_deadline,
        profile.environment,
        profile.production,
    )


@pytest.mark.parametrize("content", READABLE.values(), ids=READABLE.keys())
def test_a_valid_file_reads_the_same_without_pydantic(tmp_path, content):
    path = tmp_path / "profiles.json"
    _write(path, content)
    lite = read_settings(path)
    full = load_settings(path)
    assert lite is not None and full.load_problem is None and path.exists()
    assert lite.profiles == tuple(_as_lite(p) for p in full.profiles)
    assert lite.current_profile == full.current_profile
    assert lite.theme == full.theme
    for name in [*full.names(), "gone", None]:
        expected = full.get(name)
        assert lite.get(name) == (_as_lite(expected) if expected else None)


@pytest.mark.parametrize("content", DECLINED.values(), ids=DECLINED.keys())
def test_anything_unusual_is_left_to_load_settings(tmp_path, content):
    path = tmp_path / "profiles.json"
    _write(path, content)
    assert read_settings(path) is None
    assert path.exists()  # declining never moves the file: load_settings does, when it is invalid


def test_a_missing_file_has_no_profiles(tmp_path):
    lite = read_settings(tmp_path / "profiles.json")
    assert lite is not None and lite.profiles == () and lite.current_profile is None


def test_a_file_saved_by_the_app_is_read_without_pydantic(tmp_path):
    path = tmp_path / "profiles.json"
    profiles = [Profile(name="a"), Profile.model_validate(FULL), Profile(name="b", request_deadline=7)]
    save_settings(Settings(profiles=profiles, current_profile="b", theme="light"), path)
    lite = read_settings(path)
    assert lite is not None and lite.current_profile == "b" and lite.theme == "light"
    assert lite.profiles == tuple(_as_lite(p) for p in load_settings(path).profiles)


def test_the_field_tables_match_the_models():
    """A field added to the pydantic models must be added to the lite tables (with its type and range), or
    the lite reader would accept files pydantic rejects."""
    kinds = {bool: "bool", int: "int", float: "float", str: "str", str | None: "str?"}

    def table(model: type) -> dict[str, tuple[str, object, object]]:
        out = {}
        for name, field in model.model_fields.items():
            low = high = None
            for meta in field.metadata:
                low = getattr(meta, "ge", low)
                high = getattr(meta, "le", high)
            kind = "listener" if field.annotation is ListenerSettings else kinds[field.annotation]
            out[name] = (kind, low, high)
        return out

    assert table(ListenerSettings) == settings_lite.LISTENER_FIELDS
    assert table(Profile) == settings_lite.PROFILE_FIELDS
    assert tuple(Settings.model_fields) == settings_lite.SETTINGS_FIELDS
    defaults = Profile(name="x")
    assert (defaults.api_url, defaults.max_connection_rows, defaults.request_deadline) == (
        settings_lite.DEFAULT_API_URL,
        settings_lite.DEFAULT_MAX_CONNECTION_ROWS,
        settings_lite.DEFAULT_REQUEST_DEADLINE,
    )


def test_declined_invalid_file_is_still_reported_and_moved_aside(tmp_path):
    """The CLI's fallback: what the lite reader declines, load_settings reads or reports, as before."""
    path = tmp_path / "profiles.json"
    _write(path, DECLINED["port out of range"])
    copy = tmp_path / "copy.json"
    shutil.copy(path, copy)
    assert read_settings(path) is None
    settings = load_settings(path)
    assert settings.load_problem and "could not be read" in settings.load_problem
    assert not path.exists() and (tmp_path / "profiles.invalid.json").exists()
