"""paths.py and settings.py: directories, profiles, atomic saves, invalid files kept aside."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from nango_desktop import paths
from nango_desktop.settings import (
    SCHEMA_VERSION,
    ListenerSettings,
    Profile,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)

REPO = Path(__file__).resolve().parents[2]


def test_dirs_live_under_nango_desktop_home(tmp_home):
    for func, name in (
        (paths.config_dir, "config"),
        (paths.data_dir, "data"),
        (paths.log_dir, "logs"),
        (paths.cache_dir, "cache"),
    ):
        path = func()
        assert path == tmp_home / name
        assert path.is_dir()
    assert settings_path() == tmp_home / "config" / "profiles.json"


def test_dirs_follow_the_platform_without_override(monkeypatch, tmp_path):
    monkeypatch.delenv("NANGO_DESKTOP_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    if sys.platform.startswith("linux"):
        assert paths.config_dir() == tmp_path / "xdg-config" / "nango-desktop"
        assert paths.data_dir() == tmp_path / "xdg-data" / "nango-desktop"
        assert paths.cache_dir() == tmp_path / "xdg-cache" / "nango-desktop"
    assert "nango-desktop" in str(paths.log_dir())


def test_missing_file_gives_defaults():
    settings = load_settings()
    assert settings.profiles == [] and settings.current_profile is None
    assert settings.schema_version == SCHEMA_VERSION
    assert settings.load_problem is None


def test_roundtrip_keeps_every_field():
    settings = Settings()
    settings.upsert(
        Profile(
            name="prod",
            api_url="https://nango.example.com/",
            environment="prod",
            production=True,
            listener=ListenerSettings(
                enabled=True, port=9000, path="hooks", forward_to="http://127.0.0.1:3000/x"
            ),
            connect_ui_url="https://connect.example.com",
        )
    )
    settings.upsert(Profile(name="dev"))
    save_settings(settings)

    data = json.loads(settings_path().read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    loaded = load_settings()
    assert loaded == settings
    prod = loaded.get("prod")
    assert prod.api_url == "https://nango.example.com"  # trailing slash dropped
    assert prod.listener.path == "/hooks"
    assert prod.is_self_hosted and not loaded.get("dev").is_self_hosted
    assert loaded.current_profile == "prod"  # the first profile added becomes current


def test_file_is_private_and_no_temp_files_remain():
    save_settings(Settings(profiles=[Profile(name="a")]))
    path = settings_path()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["profiles.json"]


def test_failed_replace_leaves_the_old_file_intact(monkeypatch):
    save_settings(Settings(profiles=[Profile(name="old")]))

    def broken_replace(src, dst):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            save_settings(Settings(profiles=[Profile(name="new")]))
    assert load_settings().names() == ["old"]
    assert sorted(p.name for p in settings_path().parent.iterdir()) == ["profiles.json"]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[1, 2]",
        b'{"schema_version": 1, "profiles": [{"name": ""}]}',
        b'{"schema_version": 1, "profiles": [{"name": "x", "api_url": "ftp://nope"}]}',
        b'{"schema_version": 0}',
    ],
)
def test_invalid_file_is_kept_aside_and_reported(content):
    path = settings_path()
    path.write_bytes(content)
    settings = load_settings()
    assert settings.profiles == []
    assert settings.load_problem and "profiles.invalid.json" in settings.load_problem
    aside = path.with_name("profiles.invalid.json")
    assert aside.read_bytes() == content
    assert not path.exists()
    # The next save writes a fresh file and leaves the bad one for a bug report.
    save_settings(settings)
    assert load_settings().load_problem is None
    assert aside.exists()


def test_newer_schema_version_loads_known_fields():
    settings_path().write_text(json.dumps({"schema_version": 99, "profiles": [{"name": "a"}], "future": 1}))
    loaded = load_settings()
    assert loaded.names() == ["a"] and loaded.load_problem is None


@pytest.mark.parametrize("name", ["", " ", "a:b", "x" * 65, "-lead", "tab\tname", "a/b"])
def test_bad_profile_names_are_rejected(name):
    with pytest.raises(ValidationError):
        Profile(name=name)


@pytest.mark.parametrize("url", ["api.nango.dev", "ftp://x", "https://", "https://h/?q=1", ""])
def test_bad_api_urls_are_rejected(url):
    with pytest.raises(ValidationError):
        Profile(name="p", api_url=url)


def test_upsert_replaces_in_place_and_remove_moves_current():
    settings = Settings()
    for name in ("a", "b", "c"):
        settings.upsert(Profile(name=name))
    settings.upsert(Profile(name="b", environment="staging"))
    assert settings.names() == ["a", "b", "c"]
    assert settings.get("b").environment == "staging"
    assert settings.current().name == "a"
    assert settings.remove("a") is True
    assert settings.current_profile == "b"
    assert settings.remove("zzz") is False
    settings.remove("b")
    settings.remove("c")
    assert settings.current_profile is None and settings.current() is None


def test_settings_file_never_holds_secrets(memory_keyring):
    from nango_desktop.services.secrets import SecretKind, SecretStore

    settings = Settings()
    settings.upsert(Profile(name="p"))
    SecretStore().set("p", SecretKind.API_KEY, "sk-very-secret-value-123")
    save_settings(settings)
    assert b"sk-very-secret-value-123" not in settings_path().read_bytes()
    assert "secret" not in json.dumps(json.loads(settings_path().read_text())).lower()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_saves_leaves_a_valid_file(tmp_home):
    """A process killed while saving over and over leaves a loadable file (old or new, never a mix)."""
    script = textwrap.dedent(
        """
        import sys
        from nango_desktop.settings import Profile, Settings, save_settings
        i = 0
        while True:
            s = Settings(profiles=[Profile(name=f"p{j}", environment="e" * (i % 300)) for j in range(40)])
            save_settings(s)
            if i == 0:
                print("saved", flush=True)
            i += 1
        """
    )
    env = {**os.environ, "NANGO_DESKTOP_HOME": str(tmp_home), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "saved"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    loaded = load_settings()
    assert loaded.load_problem is None
    assert len(loaded.profiles) == 40


def test_saving_removes_temp_files_left_by_a_killed_save(tmp_path):
    import os
    import time

    from nango_desktop import settings as settings_mod

    path = tmp_path / "profiles.json"
    stale = tmp_path / ".profiles.json.abc123.tmp"
    fresh = tmp_path / ".profiles.json.def456.tmp"  # another process may be writing it right now
    stale.write_bytes(b"{half")
    fresh.write_bytes(b"{half")
    old = time.time() - settings_mod.STALE_TEMP_AGE - 10
    os.utime(stale, (old, old))
    settings_mod.save_settings(settings_mod.Settings(), path)
    assert not stale.exists()
    assert fresh.exists()
    assert settings_mod.load_settings(path).profiles == []
