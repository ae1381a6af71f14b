"""Rotate the webhook signing key from the Webhooks page's listener settings (issue 14 item 6).

The dialog says what happens (Nango switches at once; the old key keeps verifying here for N minutes),
asks a production profile to type its name, rotates on a worker thread (services/rotation.py) and makes the
running listener re-read its keys at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.services.rotation import DEFAULT_OVERLAP_MINUTES, RotationResult
from nango_desktop.session import operations

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext


class RotateKeyDialog(QDialog):
    """Rotate the signing key of ``profile_name`` (``ctx.settings``); ``rotated(RotationResult)`` when done."""

    rotated = Signal(object)

    def __init__(
        self, ctx: AppContext, profile_name: str, listener: Any = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rotateKeyDialog")
        self.ctx, self.profile_name, self.listener = ctx, profile_name, listener
        profile = ctx.settings.get(profile_name)
        self.production = bool(profile is not None and profile.production)
        self.setWindowTitle("Rotate webhook signing key")
        self.setMinimumWidth(520)

        intro = QLabel(
            f"<b>Rotate the webhook signing key of “{profile_name}”.</b><br>"
            "Nango creates a new key and signs every next webhook with it at once. Webhooks it already "
            "queued or is retrying still carry the old signature, so this app keeps the old key as the "
            "<i>previous key</i> for a while: events it verifies say “verified by the previous key”.<br>"
            "Your own receivers must switch to the new key too."
        )
        intro.setObjectName("rotateIntro")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)

        self.minutes = QSpinBox()
        self.minutes.setObjectName("rotateMinutes")
        self.minutes.setRange(0, 24 * 60)
        self.minutes.setValue(DEFAULT_OVERLAP_MINUTES)
        self.minutes.setSuffix(" min")
        self.minutes.valueChanged.connect(self._update)
        self.expiry = QLabel()
        self.expiry.setObjectName("rotateExpiry")
        self.confirm = QLineEdit()
        self.confirm.setObjectName("rotateConfirm")
        self.confirm.setPlaceholderText(profile_name)
        self.confirm.textChanged.connect(self._update)

        form = QFormLayout()
        form.addRow("Previous key verifies for", self.minutes)
        form.addRow("", self.expiry)
        if self.production:
            warning = QLabel(f"“{profile_name}” is a <b>production</b> profile. Type its name to confirm.")
            warning.setObjectName("rotateProductionWarning")
            warning.setWordWrap(True)
            form.addRow(warning)
            form.addRow("Profile name", self.confirm)
        else:
            self.confirm.hide()

        self.message = QLabel()
        self.message.setObjectName("rotateMessage")
        self.message.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.rotate_button = self.buttons.addButton("Rotate key", QDialogButtonBox.ButtonRole.AcceptRole)
        self.rotate_button.setObjectName("rotateButton")
        self.rotate_button.clicked.connect(self.rotate)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._busy = False
        self._update()

    @Slot()
    def _update(self) -> None:
        minutes = self.minutes.value()
        until = time.strftime("%H:%M", time.localtime(time.time() + minutes * 60))
        self.expiry.setText(
            f"until about {until} (then only the new key verifies)"
            if minutes
            else "the old key stops at once"
        )
        confirmed = not self.production or self.confirm.text().strip() == self.profile_name
        self.rotate_button.setEnabled(confirmed and not self._busy)

    @Slot()
    def rotate(self) -> None:
        if not self.rotate_button.isEnabled():
            return
        self._busy = True
        self._update()
        self.message.setText("Rotating…")
        op = operations.rotate_signing_key(
            self.ctx.session, self.ctx.secrets, self.profile_name, self.minutes.value(), parent=self
        )
        op.success(self._done).failure(self._failed).run()

    def _done(self, result: RotationResult) -> None:
        self._busy = False
        keys = getattr(self.listener, "keys", None)
        if keys is not None and hasattr(keys, "invalidate"):
            keys.invalidate()  # the running listener verifies with the new and previous keys at once
        self.message.setText(result.describe())
        self.rotate_button.hide()
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        self.rotated.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self._update()
        title = getattr(exc, "title", None) or str(exc)
        self.message.setText(f"Not rotated: {title}")
