"""The CLI parser registers only the command group a command needs; every command stays reachable."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from nango_desktop import cli


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


def test_every_command_is_listed_with_its_group():
    full = _commands(cli.build_parser())
    listed = {name for names in cli.GROUP_COMMANDS.values() for name in names}
    assert full == listed
    for module, names in cli.GROUP_COMMANDS.items():
        for name in names:
            assert cli._wanted_groups([name]) == {module}
            assert name in _commands(cli.build_parser([name]))


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        ([], set()),
        (["--smoke-test", "--startup-only"], set()),
        (["--profile", "connections"], set()),  # a profile named like a command is not a command
        (
            ["--profile", "p", "--api-url", "http://x", "connections", "list"],
            {"nango_desktop.cli.connections"},
        ),
        (["-v", "events", "list", "--help"], {"nango_desktop.cli.webhooks"}),
        (["--help"], None),
        (["connections", "--help"], {"nango_desktop.cli.connections"}),
        (["conections", "list"], None),  # a typo: every group, so argparse lists the choices
        (["--", "connections"], None),
    ],
)
def test_wanted_groups(argv, wanted):
    assert cli._wanted_groups(argv) == wanted


def test_a_typo_still_names_the_commands(capsys):
    assert cli.main(["conections", "list"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "connections" in err and "records" in err


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for names in cli.GROUP_COMMANDS.values() for name in names)


def test_a_listing_imports_no_other_group():
    code = (
        "import sys; from nango_desktop import cli; cli.build_parser(['connections', 'list']);"
        "print(sorted(m for m in sys.modules if m.startswith('nango_desktop.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['nango_desktop.cli.common', 'nango_desktop.cli.connections']"


_LIST_IN_A_PROCESS = (
    "import sys; from nango_desktop import cli; code = cli.main(sys.argv[1:]);"
    "print('pydantic loaded:', 'pydantic' in sys.modules, file=sys.stderr); sys.exit(code)"
)


def _list_in_a_process(home, key: str, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NANGO_DESKTOP_HOME": str(home), "NANGO_SECRET_KEY": key}
    return subprocess.run(
        [sys.executable, "-c", _LIST_IN_A_PROCESS, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_json_listing_with_a_saved_profile_needs_no_pydantic(tmp_path, monkeypatch):
    """The saved profile is read without pydantic (settings_lite), its address and row ceiling are used,
    and the output is the server's rows; a settings file the lite reader declines still works as before."""
    from nango_desktop.settings import Profile, Settings, save_settings
    from tests.nango_server import FakeNango

    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(tmp_path))
    with FakeNango(connections=30) as server:
        profile = Profile(name="saved", api_url=server.url, max_connection_rows=10)
        save_settings(Settings(profiles=[Profile(name="other"), profile], current_profile="saved"))
        listed = _list_in_a_process(tmp_path, server.secret_key, "connections", "list", "--format", "json")
        capped = _list_in_a_process(
            tmp_path, server.secret_key, "connections", "list", "--format", "json", "--page-size", "5"
        )
        unknown = _list_in_a_process(tmp_path, server.secret_key, "--profile", "ghost", "connections", "list")
        # a value pydantic converts (a numeric string): the lite reader declines, load_settings reads it
        data = json.loads((tmp_path / "config" / "profiles.json").read_text())
        data["profiles"][1]["request_deadline"] = "30"
        (tmp_path / "config" / "profiles.json").write_text(json.dumps(data))
        converted = _list_in_a_process(tmp_path, server.secret_key, "connections", "list", "--format", "json")
        expected = {c["connection_id"] for c in server.connections}
    assert listed.returncode == 0, listed.stderr
    assert {r["connection_id"] for r in json.loads(listed.stdout)} == expected
    assert "pydantic loaded: False" in listed.stderr
    assert capped.returncode == 1 and "row ceiling of 10 connections" in capped.stderr  # the profile's limit
    assert len(json.loads(capped.stdout)) == 10
    assert unknown.returncode == 1 and "No profile named “ghost”" in unknown.stderr
    assert "Known profiles: other, saved." in unknown.stderr
    assert converted.returncode == 0, converted.stderr
    assert converted.stdout == listed.stdout and "pydantic loaded: True" in converted.stderr


def test_a_broken_settings_file_is_reported_and_moved_aside_by_a_listing(tmp_path):
    from tests.nango_server import FakeNango

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "profiles.json").write_text('{"profiles": [')
    with FakeNango(connections=3) as server:
        done = _list_in_a_process(
            tmp_path, server.secret_key, "--api-url", server.url, "connections", "list", "--format", "json"
        )
    assert done.returncode == 0, done.stderr
    assert "could not be read and was moved to profiles.invalid.json" in done.stderr
    assert len(json.loads(done.stdout)) == 3 and (tmp_path / "config" / "profiles.invalid.json").exists()
