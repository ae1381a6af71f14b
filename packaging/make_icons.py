"""Render the SVG master icon into the raster sizes each platform wants.

    python packaging/make_icons.py

Writes resources/app/icons/nango-desktop-<N>.png (16..512), resources/app/nango-desktop.ico (Windows) and
resources/app/nango-desktop.icns (macOS), and copies the SVG into the package (nango_desktop/resources/app/) so the
running app and the frozen build find it through importlib.resources. Uses Qt's own SVG renderer and its ico/icns
image plugins (PySide6-Essentials ships both), so no extra imaging library is needed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MASTER = ROOT / "resources" / "app" / "nango-desktop.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def write(image: QImage, path: Path, fmt: bytes) -> None:
    writer = QImageWriter(str(path), fmt)
    if not writer.write(image):
        raise SystemExit(f"cannot write {path}: {writer.errorString()}")


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(MASTER))
    if not renderer.isValid():
        raise SystemExit(f"invalid SVG: {MASTER}")
    out = ROOT / "resources" / "app" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        write(render(renderer, size), out / f"nango-desktop-{size}.png", b"png")
    write(render(renderer, 256), ROOT / "resources" / "app" / "nango-desktop.ico", b"ico")
    write(render(renderer, 512), ROOT / "resources" / "app" / "nango-desktop.icns", b"icns")
    pkg = ROOT / "nango_desktop" / "resources" / "app"
    pkg.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MASTER, pkg / "nango-desktop.svg")
    shutil.copyfile(out / "nango-desktop-256.png", pkg / "nango-desktop-256.png")
    print(f"icons written to {out} and {pkg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
