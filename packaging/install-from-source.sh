#!/usr/bin/env bash
# Install Nango Desktop from this checkout and start it: the README's install command.
#
#   bash packaging/install-from-source.sh            # install, then start the GUI
#   bash packaging/install-from-source.sh --version  # install, then print the version (any nango-desktop arguments)
#
# On Debian/Ubuntu it first installs the system packages that are missing (python3-venv, the libraries Qt's xcb
# platform plugin loads, gnome-keyring for the Secret Service), as root or through sudo. Then it creates a
# virtualenv ($NANGO_DESKTOP_VENV, default ~/.local/share/nango-desktop/venv), pip-installs the app there, links
# ~/.local/bin/nango-desktop to it and runs it with the given arguments.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NANGO_DESKTOP_VENV:-$HOME/.local/share/nango-desktop/venv}"
PY="${PYTHON:-python3}"

PACKAGES=(
    python3 python3-venv python3-pip gnome-keyring
    libegl1 libgl1 libopengl0 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6 fonts-dejavu-core
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
    libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0
)
if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
    missing=()
    for pkg in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)" == ii* ]] || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        as_root=()
        [[ "$(id -u)" == 0 ]] || as_root=(sudo)
        echo "Installing system packages: ${missing[*]}" >&2
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "Nango Desktop needs Python 3.11 or newer ($("$PY" --version 2>&1))" >&2
    exit 1
}
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$ROOT"
mkdir -p "$HOME/.local/bin"
ln -sf "$VENV/bin/nango-desktop" "$HOME/.local/bin/nango-desktop"
exec "$VENV/bin/nango-desktop" "$@"
