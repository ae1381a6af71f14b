#!/usr/bin/env bash
# The test command (README "Run the tests"; CI runs it through .ci/run).
#
#   bash tests/run.sh [extra pytest arguments]
#
# 1. On Debian/Ubuntu, installs the missing system packages (D-Bus, gnome-keyring, Xvfb, the libraries
#    Qt's xcb/offscreen plugins load, Python and Node when absent). apt runs only when something is
#    missing, through sudo when not root. Set NANGO_CI_SKIP_APT=1 to never touch apt.
# 2. pip install -e ".[test]" into a project virtualenv outside the repo ($NANGO_CI_VENV, default
#    ~/.cache/nango-desktop-ci/venv; $PYTHON, if set, is its base interpreter), never into a global
#    interpreter; skipped while pyproject.toml is unchanged since the last run.
# 3. npm ci in tests/contract (Prism mock for the contract tests) when npm exists and the lock changed.
#    With CI=true a failed npm ci, or no npm / xvfb-run / dbus-run-session, fails the run (see IN_CI below),
#    and a skipped contract, keyring or spec test is a failure (tests/ci_skips.py).
# 4. ruff check ., lint-imports, then pytest -m "not slow" inside dbus-run-session with a throw-away
#    gnome-keyring (login keyring unlocked with a dummy password, in a temporary directory, so the real
#    keyring of the person running this is never touched), Qt on the offscreen platform; tests marked
#    xvfb run afterwards under Xvfb.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTEST_MARKERS="not slow and not xvfb"

if [[ "${NANGO_CI_IN_DBUS_SESSION:-}" == 1 ]]; then
    # Second stage, inside dbus-run-session (a private session bus for keyring/secretstorage): a fresh
    # login keyring in a temporary directory, created and unlocked with a dummy password, then the
    # daemon started for the Secret Service. XDG_DATA_HOME points only gnome-keyring there.
    keyring_home="$(mktemp -d)"
    trap 'rm -rf "$keyring_home"' EXIT
    eval "$(echo -n "nango-desktop-tests" |
        XDG_DATA_HOME="$keyring_home" gnome-keyring-daemon --unlock --components=secrets | sed 's/^/export /')"
    eval "$(XDG_DATA_HOME="$keyring_home" gnome-keyring-daemon --start --components=secrets | sed 's/^/export /')"
    "$PY" -m pytest -m "$PYTEST_MARKERS" "$@"
    exit
fi
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/nango-desktop-ci"
mkdir -p "$CACHE"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- 1. system packages -----------------------------------------------------------------------------
APT_PACKAGES=(
    dbus dbus-x11 gnome-keyring xvfb xauth
    # Qt 6 (PySide6 wheels) xcb + offscreen platform plugins
    libegl1 libgl1 libopengl0 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6 fonts-dejavu-core
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
    libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
    libxcb-xfixes0 libxrender1 libxi6 libsm6 libice6
)
# Debian's python3 is "externally managed": the project goes into a venv, which needs python3-venv.
APT_PACKAGES+=(python3 python3-venv python3-pip)
command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)

missing_packages() {
    local pkg status
    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == ii* ]] || printf '%s\n' "$pkg"
    done
}

if [[ "${NANGO_CI_SKIP_APT:-0}" != 1 ]] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
    mapfile -t MISSING < <(missing_packages "${APT_PACKAGES[@]}")
    if ((${#MISSING[@]})); then
        SUDO=()
        if [[ "$(id -u)" != 0 ]]; then
            if command -v sudo >/dev/null; then SUDO=(sudo); else
                log "Missing system packages (install them as root): ${MISSING[*]}"
                MISSING=()
            fi
        fi
        if ((${#MISSING[@]})); then
            log "Installing system packages: ${MISSING[*]}"
            "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
            "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}"
        fi
    fi
fi

# --- 2. Python packages -----------------------------------------------------------------------------
PY="${PYTHON:-python3}"
# Always a virtualenv, never the user's global interpreter (externally managed or not, pyenv's included): an
# interpreter that is not itself in a virtualenv (PYTHON=/usr/bin/python3.12, python3 on PATH) is only the base
# of the project virtualenv; an active virtualenv (or PYTHON=/some/venv/bin/python) is used as it is.
if ! "$PY" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null; then
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "Python 3.11 or newer is needed ($("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
        exit 1
    }
    VENV="${NANGO_CI_VENV:-$CACHE/venv}"
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "Creating a virtualenv in $VENV"
        "$PY" -m venv "$VENV"
    fi
    PY="$VENV/bin/python"
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "Python 3.11 or newer is needed ($("$PY" --version))" >&2
    exit 1
}
PY_BIN="$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")"
export PATH="$PY_BIN:$PATH"

STAMP="$CACHE/pip-$("$PY" -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read() + sys.executable.encode()).hexdigest()[:16])')"
installed_here() {
    "$PY" - <<'EOF' 2>/dev/null
import importlib.util, os, sys
spec = importlib.util.find_spec("nango_desktop")
need = ("pytest", "pytestqt", "hypothesis", "importlinter", "ruff", "mypy", "PySide6", "httpx", "keyring")
ok = spec is not None and os.path.realpath(spec.origin).startswith(os.path.realpath(os.getcwd()) + os.sep)
sys.exit(0 if ok and all(importlib.util.find_spec(m) for m in need) else 1)
EOF
}
if [[ ! -f "$STAMP" ]] || ! installed_here; then
    log "pip install -e .[test]"
    "$PY" -m pip install -q --disable-pip-version-check -e ".[test]"
    touch "$STAMP"
fi

# In CI (CI=true/1/yes) nothing may be skipped for want of a tool: a missing Prism, keyring session or Xvfb fails
# the run (and tests/ci_skips.py turns a skipped contract, keyring or spec test into a failure). Locally they
# are skipped with the reason printed.
IN_CI=0
[[ "${CI:-}" =~ ^([Tt][Rr][Uu][Ee]|1|[Yy][Ee][Ss])$ ]] && IN_CI=1
FAILED=() # every check runs even when an earlier one failed; the script fails at the end if any did
missing_tool() { # what, consequence
    if ((IN_CI)); then
        FAILED+=("$1")
        log "$1 (CI: this fails the run)"
    else
        log "$1: $2"
    fi
}

# --- 3. contract mock (Prism) -------------------------------------------------------------------------
if [[ -f tests/contract/package-lock.json ]] && command -v npm >/dev/null; then
    LOCK_SUM="$(sha256sum tests/contract/package-lock.json | cut -c1-16)"
    if [[ "$(cat tests/contract/node_modules/.nango-ci-stamp 2>/dev/null || true)" != "$LOCK_SUM" ]]; then
        log "npm ci (tests/contract)"
        if (cd tests/contract && npm ci --no-audit --no-fund --loglevel=error); then
            echo "$LOCK_SUM" >tests/contract/node_modules/.nango-ci-stamp
        else
            missing_tool "npm ci failed in tests/contract" "the Prism contract tests will be skipped"
        fi
    fi
elif [[ -f tests/contract/package-lock.json ]]; then
    missing_tool "npm is not installed" "the Prism contract tests will be skipped"
fi

# --- 4. lint and tests ------------------------------------------------------------------------------
check() {
    local name="$1"
    shift
    log "$name"
    "$@" || FAILED+=("$name")
}

check "ruff check ." "$PY" -m ruff check .
check "lint-imports" lint-imports
check "mypy (nango_desktop, [tool.mypy] in pyproject.toml)" "$PY" -m mypy

# The few tests that need a real X server (focus, clipboard) first, so the main run's summary closes the output.
if command -v xvfb-run >/dev/null; then
    xvfb_tests() {
        local status=0
        QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" "$PY" -m pytest -m "xvfb and not slow" "$@" || status=$?
        ((status == 0 || status == 5)) # 5: no test is marked xvfb
    }
    check "pytest -m xvfb (Xvfb, Qt xcb)" xvfb_tests "$@"
else
    missing_tool "xvfb-run is not installed" "the tests marked xvfb are not run"
fi
export QT_QPA_PLATFORM=offscreen PYTHONDONTWRITEBYTECODE=1
if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
    # dbus-daemon cannot raise its fd limit in containers, and gnome-keyring's prompter has no display:
    # both only print noise.
    check "pytest (dbus-run-session + gnome-keyring, Qt offscreen)" \
        env NANGO_CI_IN_DBUS_SESSION=1 PY="$PY" dbus-run-session -- bash "$ROOT/tests/run.sh" "$@" \
        2> >(grep -v --line-buffered -e 'Failed to set fd limit' -e 'gcr-prompter' -e 'cannot open display' \
            -e 'SystemPrompter' >&2)
else
    missing_tool "dbus-run-session or gnome-keyring-daemon is not installed" "the real-keyring tests are skipped"
    check "pytest (no dbus-run-session/gnome-keyring: the real-keyring tests are skipped)" \
        "$PY" -m pytest -m "$PYTEST_MARKERS" "$@"
fi


if ((${#FAILED[@]})); then
    printf '\033[1;31mFAILED: %s\033[0m\n' "${FAILED[@]}" >&2
    exit 1
fi
log "all checks passed"
