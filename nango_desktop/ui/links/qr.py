"""QR codes for connect links: segno encodes, Qt displays (GUI thread only for QPixmap).

``qr_png`` is Qt-free; ``qr_image``/``qr_pixmap`` decode the PNG with Qt. ``read_modules`` samples a
rendered image back into a module matrix, which tests compare with ``segno.make_qr(text).matrix``.
"""

from __future__ import annotations

import io

import segno
from PySide6.QtGui import QImage, QPixmap

SCALE = 6
BORDER = 4  # the quiet zone the QR spec asks for


def qr_code(text: str) -> segno.QRCode:
    # Always a full QR code (never a Micro QR, which phone cameras often cannot read); medium error correction.
    return segno.make_qr(text, error="m")


def qr_png(text: str, *, scale: int = SCALE, border: int = BORDER) -> bytes:
    buffer = io.BytesIO()
    qr_code(text).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_image(text: str, *, scale: int = SCALE, border: int = BORDER) -> QImage:
    image = QImage.fromData(qr_png(text, scale=scale, border=border), "PNG")  # type: ignore[arg-type]
    if image.isNull():
        raise ValueError("Could not render the QR code")
    return image


def qr_pixmap(text: str, *, scale: int = SCALE, border: int = BORDER) -> QPixmap:
    return QPixmap.fromImage(qr_image(text, scale=scale, border=border))


def read_modules(image: QImage, *, scale: int = SCALE, border: int = BORDER) -> list[list[bool]]:
    """The dark/light modules of a rendered QR image (True = dark), sampled at each module's centre."""
    size = image.width() // scale - 2 * border
    offset = border * scale + scale // 2
    return [
        [image.pixelColor(offset + x * scale, offset + y * scale).lightness() < 128 for x in range(size)]
        for y in range(size)
    ]
