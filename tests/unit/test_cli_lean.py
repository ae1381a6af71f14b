"""The CLI parser registers only the command group a command needs; every command stays reachable."""

from __future__ import annotations

import argparse
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
