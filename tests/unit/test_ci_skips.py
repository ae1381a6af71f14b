"""tests/ci_skips.py: with CI=true a skipped contract, keyring or spec test fails the run; locally it skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SUITE = {
    "test_contract_prism.py": """
import pytest

def test_contract():
    pytest.skip("prism is not installed: run `npm ci` in tests/contract")
""",
    "test_fake_server_spec.py": """
import pytest

pytest.importorskip("no_such_module_openapi_core")

def test_spec():
    pass
""",
    "test_marked.py": """
import pytest

@pytest.fixture
def spec_path():
    pytest.skip("Nango OpenAPI spec not found at ../shared/nango/openapi.yaml")

@pytest.mark.keyring
def test_keyring():
    pytest.skip("no Secret Service on the session bus")

def test_uses_the_spec(spec_path):
    pass

def test_other_skip():
    pytest.skip("curl not installed")

@pytest.mark.keyring
@pytest.mark.xfail(reason="known", strict=True)
def test_keyring_xfail():
    assert False

def test_passes():
    pass
""",
}


def run_suite(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    for name, text in SUITE.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    keyring: real keyring\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:cacheprovider", "-rA"]
        + ["--continue-on-collection-errors", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def outcomes(output: str) -> dict[str, str]:
    """{test id or module: PASSED/FAILED/SKIPPED/XFAIL/ERROR} from the -rA summary."""
    found = {}
    for line in output.splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] in ("PASSED", "FAILED", "SKIPPED", "XFAIL", "ERROR"):
            target = parts[1] if parts[0] != "SKIPPED" else parts[2].split(":", 1)[0]
            found[target.rsplit("/", 1)[-1]] = parts[0]
    return found


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_in_ci_required_skips_fail_with_their_reason(tmp_path, ci):
    done = run_suite(tmp_path, ci)
    assert done.returncode == 1, done.stdout
    found = outcomes(done.stdout)
    assert found["test_contract_prism.py::test_contract"] == "FAILED"
    assert found["test_marked.py::test_keyring"] == "FAILED"
    assert found["test_marked.py::test_uses_the_spec"] in ("FAILED", "ERROR")
    assert found["test_fake_server_spec.py"] == "ERROR"  # skipped at collection: a collection error now
    assert found["test_marked.py::test_passes"] == "PASSED"
    assert found["test_marked.py::test_keyring_xfail"] == "XFAIL"  # an expected failure is not a skip
    assert "1 skipped" in done.stdout  # test_other_skip (curl) may still skip in CI
    assert (
        "Prism contract test skipped in CI" in done.stdout and "run `npm ci` in tests/contract" in done.stdout
    )
    assert (
        "keyring test skipped in CI" in done.stdout and "no Secret Service on the session bus" in done.stdout
    )
    assert "OpenAPI spec test skipped in CI" in done.stdout and "openapi.yaml" in done.stdout


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_locally_they_skip_with_the_reason_printed(tmp_path, ci):
    done = run_suite(tmp_path, ci)
    assert done.returncode == 0, done.stdout
    assert "skipped in CI" not in done.stdout
    assert "prism is not installed: run `npm ci` in tests/contract" in done.stdout
    assert "no Secret Service on the session bus" in done.stdout
    assert "Nango OpenAPI spec not found" in done.stdout
