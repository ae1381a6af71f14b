#!/usr/bin/env bash
# macOS: build the .app with PyInstaller, sign it, wrap it in a .dmg, notarize and staple.
# Runs on macOS only (GitHub Actions macos runner). Signing and notarization are driven by environment variables
# and skipped, with a warning, when they are absent (an unsigned dmg is still produced for testing):
#   MACOS_CODESIGN_IDENTITY   "Developer ID Application: Example Inc (TEAMID)"
#   MACOS_NOTARY_APPLE_ID, MACOS_NOTARY_TEAM_ID, MACOS_NOTARY_PASSWORD   (app-specific password)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VERSION=$(python3 -c 'import nango_desktop; print(nango_desktop.__version__)')
python3 -m PyInstaller --noconfirm --clean packaging/pyinstaller/nango-desktop.spec
APP="dist/Nango Desktop.app"
test -d "$APP"

if [[ -n "${MACOS_CODESIGN_IDENTITY:-}" ]]; then
    codesign --force --deep --options runtime --timestamp \
        --entitlements packaging/macos/entitlements.plist --sign "$MACOS_CODESIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
else
    echo "warning: MACOS_CODESIGN_IDENTITY not set; the app is not signed" >&2
fi

mkdir -p packaging/macos/out
DMG="packaging/macos/out/NangoDesktop-$VERSION.dmg"
STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Nango Desktop" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
rm -rf "$STAGE"

if [[ -n "${MACOS_CODESIGN_IDENTITY:-}" ]]; then
    codesign --force --timestamp --sign "$MACOS_CODESIGN_IDENTITY" "$DMG"
fi
if [[ -n "${MACOS_NOTARY_APPLE_ID:-}" && -n "${MACOS_NOTARY_TEAM_ID:-}" && -n "${MACOS_NOTARY_PASSWORD:-}" ]]; then
    xcrun notarytool submit "$DMG" --apple-id "$MACOS_NOTARY_APPLE_ID" --team-id "$MACOS_NOTARY_TEAM_ID" \
        --password "$MACOS_NOTARY_PASSWORD" --wait
    xcrun stapler staple "$DMG"
else
    echo "warning: notarization variables not set; the dmg is not notarized" >&2
fi
echo "$DMG"
