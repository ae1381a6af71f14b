#!/usr/bin/env bash
# Install the built .deb on this machine with apt (pulls in its dependencies), run the smoke test from the
# installed files offscreen and under Xvfb, then remove the package. Needs root.
# Usage: bash packaging/linux/test-deb.sh [path/to/nango-desktop_*.deb]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEB=${1:-$(ls "$ROOT"/packaging/linux/out/nango-desktop_*.deb | head -n1)}
export DEBIAN_FRONTEND=noninteractive

cleanup() { apt-get remove -y -q nango-desktop >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "==> installing $DEB"
apt-get install -y -q "$(readlink -f "$DEB")" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$(readlink -f "$DEB")"; }
test -x /usr/bin/nango-desktop
test -f /usr/share/applications/dev.nango.desktop.desktop
test -f /usr/share/icons/hicolor/256x256/apps/nango-desktop.png
/usr/bin/nango-desktop --version

run_smoke() {
    # A real Secret Service (gnome-keyring) when available, so the smoke test proves the bundled backend works:
    # then a missing secure backend fails the test (--require-secure-keyring).
    if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
        dbus-run-session -- sh -c 'echo -n smoke | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; '"$* --require-secure-keyring" \
            2> >(grep -v 'Failed to set fd limit' >&2)
    else
        sh -c "$*"
    fi
}

echo "==> smoke test (offscreen)"
run_smoke "QT_QPA_PLATFORM=offscreen /usr/bin/nango-desktop --smoke-test"
if command -v xvfb-run >/dev/null; then
    echo "==> smoke test (Xvfb, xcb platform plugin)"
    run_smoke "QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1280x800x24' /usr/bin/nango-desktop --smoke-test"
fi
echo "==> removing"
apt-get remove -y -q nango-desktop >/dev/null
test ! -e /opt/nango-desktop/nango-desktop
echo "deb install + smoke test: OK"
