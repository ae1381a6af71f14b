"""`nango-desktop --smoke-test`, the check every installer runs, in a real subprocess."""

import os
import subprocess
import sys


def _smoke(*extra: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "nango_desktop", "--smoke-test", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_smoke_test_passes_and_reports_each_check(tmp_home):
    result = _smoke()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    qt main window: main window painted" in result.stdout
    assert "reference cycles collected on the GUI thread" in result.stdout  # the app's collector (qtutil)
    assert "ok    keyring:" in result.stdout
    assert "signed -> HTTP 200 verified; wrongly signed -> HTTP 200 invalid" in result.stdout
    assert "smoke test passed" in result.stdout
    # it works in a throwaway home: nothing is written to the user's
    assert not any(tmp_home.rglob("*.sqlite3"))


def test_smoke_test_fails_without_a_secure_keyring_when_required():
    result = _smoke(
        "--require-secure-keyring", env_extra={"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    )
    assert result.returncode == 1
    assert "FAIL  keyring: RuntimeError: no secure keyring backend is usable" in result.stdout
    assert "FAILED (1 check(s))" in result.stdout


def test_the_first_frame_needs_no_pydantic(tmp_path):
    """Start-up (issue 16): the window paints before the settings are read with pydantic, the context (keyring,
    sessions, HTTP client) is built after; `--smoke-test --startup-only` stops right after the first paint."""
    probe = (
        "import sys\n"
        "from nango_desktop import smoke\n"
        "code = smoke.run(startup_only=True)\n"
        "late = [m for m in ('pydantic', 'nango_desktop.settings', 'nango_desktop.ui.context', 'keyring', 'httpx')"
        " if m in sys.modules]\n"
        "print('imported before the first paint:', late)\n"
        "sys.exit(code)\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NANGO_DESKTOP_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported before the first paint: []" in result.stdout
