"""packaging/install-from-source.sh: Python checked before apt, PATH warnings with the line to add (issue 12).

The script runs for real (bash) with stand-ins on PATH for what would change the machine: ``apt-get`` and
``sudo`` record their calls, ``dpkg-query`` answers "installed" (or "not installed"), and the virtualenv is
pre-made with a ``python`` whose ``-m pip install`` does nothing and a ``nango-desktop`` that records its
arguments. Everything else (the version check, the link, the PATH analysis, the final exec) is the script's.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "install-from-source.sh"
TOOLS = ("bash", "env", "realpath", "dirname", "mkdir", "ln", "id", "cat")
PATH_LINE = 'export PATH="$HOME/.local/bin:$PATH"'

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("realpath") is None,
    reason="the script targets Linux",
)


def write_exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/bash\n" + text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class Sandbox:
    def __init__(self, tmp: Path, *, installed: bool = True) -> None:
        tmp = tmp / "sandbox"
        tmp.mkdir()
        self.tmp = tmp
        self.home = tmp / "home"
        self.home.mkdir()
        self.log = tmp / "calls.log"
        self.tools = (
            tmp / "tools"
        )  # only the basic commands the script needs: no python3 unless a test adds one
        self.tools.mkdir()
        for tool in TOOLS:
            (self.tools / tool).symlink_to(shutil.which(tool))
        self.stubs = tmp / "stubs"
        write_exe(self.stubs / "apt-get", f'echo "apt-get $*" >> {self.log}\n')
        write_exe(self.stubs / "sudo", f'echo "sudo $*" >> {self.log}\n"$@"\n')
        status = "ii " if installed else "un "
        write_exe(self.stubs / "dpkg-query", f'printf "{status}"\n')
        self.venv = tmp / "venv"
        real = sys.executable
        write_exe(
            self.venv / "bin" / "python",
            f'if [[ "$1 $2" == "-m pip" ]]; then echo "pip $*" >> {self.log}; exit 0; fi\nexec {real} "$@"\n',
        )
        write_exe(
            self.venv / "bin" / "nango-desktop",
            f'if [[ "$1" == --version ]]; then echo "nango-desktop 9.9"; exit 0; fi\necho "app $*" >> {self.log}\n',
        )

    def run(
        self, *args: str, path: list[Path], python: str | None = sys.executable
    ) -> subprocess.CompletedProcess:
        env = {
            "HOME": str(self.home),
            "PATH": os.pathsep.join(str(p) for p in path),
            "NANGO_DESKTOP_VENV": str(self.venv),
        }
        if python is not None:
            env["PYTHON"] = python
        return subprocess.run(
            [shutil.which("bash"), str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
        )

    def calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []

    @property
    def bin_dir(self) -> Path:
        return self.home / ".local" / "bin"


@pytest.fixture
def box(tmp_path) -> Sandbox:
    return Sandbox(tmp_path)


def test_installs_links_and_runs_the_app_with_its_arguments(box):
    done = box.run("--profile", "prod", path=[box.bin_dir, box.stubs, box.tools])
    assert done.returncode == 0, done.stderr
    assert (box.bin_dir / "nango-desktop").resolve() == (box.venv / "bin" / "nango-desktop").resolve()
    assert box.calls() == [f"pip -m pip install -q --disable-pip-version-check {ROOT}", "app --profile prod"]
    assert "Installed nango-desktop 9.9" in done.stderr
    assert f"Check it with: {box.bin_dir}/nango-desktop --version" in done.stderr
    assert "Warning" not in done.stderr  # ~/.local/bin is on PATH and nothing shadows it


def test_warns_with_the_exact_line_when_local_bin_is_not_on_path(box):
    done = box.run(path=[box.stubs, box.tools])
    assert done.returncode == 0, done.stderr
    assert f"Warning: {box.bin_dir} is not on your PATH" in done.stderr
    assert f"    {PATH_LINE}" in done.stderr.splitlines()
    assert box.calls()[-1] == "app "  # still installed and started


def test_warns_when_another_nango_desktop_shadows_the_link(box, tmp_path):
    other = write_exe(tmp_path / "elsewhere" / "nango-desktop", "echo old copy\n")
    done = box.run(path=[other.parent, box.bin_dir, box.stubs, box.tools])
    assert done.returncode == 0, done.stderr
    assert f"Warning: `nango-desktop` runs {other} (earlier on PATH), not this installation." in done.stderr
    assert f"    {PATH_LINE}" in done.stderr.splitlines()


def test_missing_system_packages_are_installed_through_apt(tmp_path):
    box = Sandbox(tmp_path, installed=False)
    done = box.run(path=[box.bin_dir, box.stubs, box.tools])
    assert done.returncode == 0, done.stderr
    installs = [c for c in box.calls() if "apt-get install" in c]
    assert len(installs) == 1 and "libxcb-cursor0" in installs[0] and "gnome-keyring" in installs[0]


def test_too_old_python_stops_before_apt(box):
    old = write_exe(
        box.tmp / "old" / "python3",
        'if [[ "$1" == --version ]]; then echo "Python 3.10.12"; exit 0; fi\nexit 1\n',
    )
    done = box.run(path=[old.parent, box.stubs, box.tools], python=None)  # python3 is 3.10, no python3.11+
    assert done.returncode == 1
    assert "needs Python 3.11 or newer; this system has Python 3.10.12" in done.stderr
    assert "PYTHON=/path/to/python3.11 bash packaging/install-from-source.sh" in done.stderr
    assert box.calls() == []  # neither apt nor pip ran
    assert not (box.bin_dir / "nango-desktop").exists()


def test_python_named_by_PYTHON_must_be_new_enough(box):
    old = write_exe(
        box.tmp / "old" / "python3.10",
        'if [[ "$1" == --version ]]; then echo "Python 3.10.12"; exit 0; fi\nexit 1\n',
    )
    done = box.run(path=[box.stubs, box.tools], python=str(old))
    assert done.returncode == 1
    assert f"PYTHON={old} is not Python 3.11 or newer (Python 3.10.12)" in done.stderr
    assert box.calls() == []


def test_a_newer_python_on_path_is_found_when_python3_is_too_old(box):
    old = write_exe(box.tmp / "old" / "python3", "exit 1\n")
    (old.parent / "python3.12").symlink_to(sys.executable)  # e.g. deadsnakes' python3.12 beside python3 3.10
    done = box.run(path=[old.parent, box.bin_dir, box.stubs, box.tools], python=None)
    assert done.returncode == 0, done.stderr
    assert box.calls()[-1] == "app "
