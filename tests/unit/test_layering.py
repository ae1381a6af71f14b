"""The core stays Qt-free: import-linter contracts, and a real import with PySide6 made unimportable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE_PACKAGES = ("nango_desktop.domain", "nango_desktop.services", "nango_desktop.store", "nango_desktop.cli")
CORE_MODULES = (
    "nango_desktop.paths",
    "nango_desktop.settings",
    "nango_desktop.logsetup",
)


def _core_modules() -> list[str]:
    names = list(CORE_MODULES)
    for package in CORE_PACKAGES:
        folder = REPO.joinpath(*package.split("."))
        names.append(package)
        names += [f"{package}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem != "__init__"]
    return names


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Core stays Qt-free KEPT" in proc.stdout


def test_core_imports_without_qt():
    modules = _core_modules()
    script = textwrap.dedent(
        f"""
        import importlib, sys
        for blocked in ("PySide6", "shiboken6"):
            sys.modules[blocked] = None  # any `import PySide6...` now raises ImportError
        for name in {modules!r}:
            importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if m.startswith("nango_desktop.ui") or m.startswith("nango_desktop.qtutil"))
        assert not loaded, loaded
        print("ok", len({modules!r}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")


def test_cli_runs_without_qt():
    """`nango-desktop --version` and `--help` must not need Qt (scripts on servers without a display)."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["PySide6"] = None
        from nango_desktop import cli
        assert cli.main(["--version"]) == 0
        assert cli.main(["connections", "--help"]) == 0
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "nango-desktop" in proc.stdout
