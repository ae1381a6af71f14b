#!/usr/bin/env bash
# Build the Linux packages of Nango Desktop from a checkout:
#   packaging/linux/out/nango-desktop_<version>_<arch>.deb
#   packaging/linux/out/nango-desktop-<version>-linux-<arch>.tar.gz
# Usage: bash packaging/linux/build.sh        (needs python3 with pip; installs PyInstaller and the app's deps)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT="$ROOT/packaging/linux/out"
WORK="$ROOT/build/linux"
PY=${PYTHON:-python3}

VERSION=$("$PY" -c 'import re,pathlib;print(re.search(r"__version__ = \"([^\"]+)\"", pathlib.Path("nango_desktop/__init__.py").read_text()).group(1))')
ARCH=$(dpkg --print-architecture)
echo "==> Nango Desktop $VERSION ($ARCH)"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need dpkg-deb; then echo "dpkg-deb is required" >&2; exit 1; fi
"$PY" -c 'import PyInstaller' 2>/dev/null || "$PY" -m pip install -q ".[package]"
"$PY" -c 'import PySide6, httpx, keyring, pydantic, platformdirs, segno' 2>/dev/null || "$PY" -m pip install -q .

echo "==> PyInstaller (onedir)"
rm -rf "$WORK" "$OUT"
mkdir -p "$WORK" "$OUT"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$WORK/dist" --workpath "$WORK/pyi" packaging/pyinstaller/nango-desktop.spec
BUNDLE="$WORK/dist/nango-desktop"
test -x "$BUNDLE/nango-desktop"

echo "==> tarball"
TARBALL="$OUT/nango-desktop-$VERSION-linux-$ARCH.tar.gz"
tar -C "$WORK/dist" -czf "$TARBALL" nango-desktop

echo "==> .deb tree"
PKG="$WORK/deb"
rm -rf "$PKG"
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" "$PKG/usr/share/metainfo" \
         "$PKG/usr/share/icons/hicolor/scalable/apps" "$PKG/usr/share/doc/nango-desktop"
cp -a "$BUNDLE" "$PKG/opt/nango-desktop"
cat > "$PKG/usr/bin/nango-desktop" <<'LAUNCHER'
#!/bin/sh
exec /opt/nango-desktop/nango-desktop "$@"
LAUNCHER
chmod 755 "$PKG/usr/bin/nango-desktop"
install -m 644 resources/app/dev.nango.desktop.desktop "$PKG/usr/share/applications/"
install -m 644 resources/app/dev.nango.desktop.metainfo.xml "$PKG/usr/share/metainfo/"
install -m 644 resources/app/nango-desktop.svg "$PKG/usr/share/icons/hicolor/scalable/apps/nango-desktop.svg"
for size in 16 24 32 48 64 128 256 512; do
    dir="$PKG/usr/share/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    install -m 644 "resources/app/icons/nango-desktop-$size.png" "$dir/nango-desktop.png"
done
cat > "$PKG/usr/share/doc/nango-desktop/copyright" <<'COPYRIGHT'
Nango Desktop. Bundles Qt 6 and PySide6 (LGPLv3), Python (PSF) and the Python packages listed in
/opt/nango-desktop/_internal (see each package's metadata for its licence).
COPYRIGHT

# Runtime libraries: what the bundled Qt (xcb platform plugin, GL integration, Gui, DBus) links against and
# the bundle does not carry itself, resolved to Debian packages on the build machine, plus a baseline list so a
# build machine that happens to lack one still declares it.
echo "==> dependencies"
baseline="libc6 libstdc++6 libgcc-s1 zlib1g libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6 libegl1 libgl1 \
libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 \
libxkbcommon0 libxkbcommon-x11-0"
resolved=$(find "$BUNDLE" -name '*.so*' -type f \( -path '*platforms/libqxcb*' -o -path '*xcbglintegrations*' \
            -o -name 'libQt6XcbQpa*' -o -name 'libQt6Gui*' -o -name 'libQt6Core*' -o -name 'libQt6DBus*' \
            -o -name 'libQt6Widgets*' -o -name 'libQt6Svg*' \) -print0 \
    | xargs -0 ldd 2>/dev/null | awk '/=> \// {print $3}' | grep -v "$BUNDLE" | sort -u \
    | while read -r lib; do
        real=$(readlink -f "$lib")
        dpkg -S "$real" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null || true
      done | cut -d: -f1 | sort -u)
depends=$(printf '%s\n' $baseline $resolved | sort -u | paste -sd, - | sed 's/,/, /g')
installed_kb=$(du -sk "$PKG" | cut -f1)
cat > "$PKG/DEBIAN/control" <<CONTROL
Package: nango-desktop
Version: $VERSION
Section: devel
Priority: optional
Architecture: $ARCH
Maintainer: Nango Desktop developers <dev@nango-desktop.local>
Installed-Size: $installed_kb
Depends: $depends
Recommends: gnome-keyring | kwalletmanager | keepassxc, dbus-user-session | dbus-x11
Homepage: https://nango.dev
Description: Desktop admin tool for Nango environments
 Lists every connection and end user of a Nango environment, issues connect and
 reconnect links and tracks their completion, and receives, verifies and stores
 Nango webhooks on a local listener. Keys are kept in the system keyring only.
CONTROL
cat > "$PKG/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true; fi
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q /usr/share/applications || true; fi
POSTINST
chmod 755 "$PKG/DEBIAN/postinst"
cp "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/postrm"

DEB="$OUT/nango-desktop_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "==> built"
ls -la "$OUT"
echo "Depends: $depends"
