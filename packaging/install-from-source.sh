#!/usr/bin/env bash
# Install Nango Desktop from this checkout and start it: the README's install command.
#
#   bash packaging/install-from-source.sh            # install, then start the GUI
#   bash packaging/install-from-source.sh --version  # install, then print the version (any nango-desktop arguments)
#
# 1. Finds a Python 3.11 or newer ($PYTHON, else python3, else python3.13/3.12/3.11 on PATH) and stops with a
#    clear message when there is none, before touching apt.
# 2. On Debian/Ubuntu, installs the system packages that are missing (venv support for that Python, the
#    libraries Qt's xcb platform plugin loads, gnome-keyring for the Secret Service), as root or through sudo.
# 3. Creates a virtualenv ($NANGO_DESKTOP_VENV, default ~/.local/share/nango-desktop/venv), pip-installs the app
#    there, links ~/.local/bin/nango-desktop to it, warns when that link is not what `nango-desktop` runs (not on
#    PATH, or another copy earlier on PATH), and runs it with the given arguments.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NANGO_DESKTOP_VENV:-$HOME/.local/share/nango-desktop/venv}"
BIN_DIR="$HOME/.local/bin"
say() { printf '%s\n' "$*" >&2; }

# --- 1. Python >= 3.11, before anything is installed ----------------------------------------------------
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
PY=""
if [[ -n "${PYTHON:-}" ]]; then
    new_enough "$PYTHON" || {
        say "PYTHON=$PYTHON is not Python 3.11 or newer ($("$PYTHON" --version 2>&1 || echo 'not runnable'))."
        exit 1
    }
    PY="$PYTHON"
else
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null && new_enough "$candidate"; then
            PY="$candidate"
            break
        fi
    done
fi
if [[ -z "$PY" ]]; then
    found="$(python3 --version 2>&1 || echo 'no python3')"
    say "Nango Desktop needs Python 3.11 or newer; this system has $found and no python3.11 or newer on PATH."
    say "Install one (Debian 12 and Ubuntu 24.04 ship it as python3), then run again, e.g.:"
    say "    PYTHON=/path/to/python3.11 bash packaging/install-from-source.sh"
    exit 1
fi
PY_VERSION="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"

# --- 2. system packages (Debian/Ubuntu) ---------------------------------------------------------------------
PACKAGES=(
    gnome-keyring
    libegl1 libgl1 libopengl0 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6 fonts-dejavu-core
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
    libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0
)
# venv needs ensurepip, which Debian packages separately (python3.11-venv for Python 3.11, ...)
[[ -x "$VENV/bin/python" ]] || "$PY" -c 'import ensurepip' 2>/dev/null || PACKAGES+=("python$PY_VERSION-venv")
if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
    missing=()
    for pkg in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)" == ii* ]] || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        as_root=()
        [[ "$(id -u)" == 0 ]] || as_root=(sudo)
        say "Installing system packages: ${missing[*]}"
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi

# --- 3. virtualenv, link, PATH ---------------------------------------------------------------------------
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$ROOT"
mkdir -p "$BIN_DIR"
ln -sf "$VENV/bin/nango-desktop" "$BIN_DIR/nango-desktop"
say "Installed $("$VENV/bin/nango-desktop" --version) in $VENV, linked as $BIN_DIR/nango-desktop."

# What does a new shell run for `nango-desktop`? Compare resolved paths (PATH may hold ~/.local/bin spelled
# differently, or a symlinked home).
on_path=0
IFS=: read -r -a path_dirs <<<"${PATH:-}"
for dir in "${path_dirs[@]}"; do
    [[ -n "$dir" && -d "$dir" ]] || continue
    if [[ "$(realpath "$dir")" == "$(realpath "$BIN_DIR")" ]]; then
        on_path=1
        break
    fi
done
# shellcheck disable=SC2016  # the line to add is printed literally
path_line='export PATH="$HOME/.local/bin:$PATH"'
if ((on_path == 0)); then
    say "Warning: $BIN_DIR is not on your PATH, so \`nango-desktop\` will not be found in a new shell."
    say "Add this line to ~/.profile (or ~/.bashrc), then open a new terminal:"
    say "    $path_line"
else
    runs="$(command -v nango-desktop || true)"
    if [[ -n "$runs" && "$(realpath "$runs")" != "$(realpath "$BIN_DIR/nango-desktop")" ]]; then
        say "Warning: \`nango-desktop\` runs $runs (earlier on PATH), not this installation."
        say "Remove that copy, or put $BIN_DIR first: add this line to ~/.profile (or ~/.bashrc):"
        say "    $path_line"
    fi
fi
say "Check it with: $BIN_DIR/nango-desktop --version"

exec "$VENV/bin/nango-desktop" "$@"
