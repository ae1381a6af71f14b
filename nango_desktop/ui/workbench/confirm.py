"""Confirmations of the workbench: a plain Yes/No for writes, and on a production profile a dialog where the
user types the connection id (the OK button stays disabled until it matches)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)


class TypeToConfirmDialog(QDialog):
    """ "Type the connection id to confirm". ``accepted`` only when the text matches ``expected``."""

    def __init__(self, title: str, message: str, expected: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("typeToConfirm")
        self.setWindowTitle(title)
        self.expected = expected
        text = QLabel(message + f"\n\nType the connection id “{expected}” to confirm:")
        text.setWordWrap(True)
        self.edit = QLineEdit()
        self.edit.setObjectName("typeToConfirmEdit")
        self.edit.setPlaceholderText(expected)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("typeToConfirmOk")
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.edit.textChanged.connect(lambda t: self.ok_button.setEnabled(t.strip() == expected))
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.edit)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)

    def accept(self) -> None:
        if self.edit.text().strip() == self.expected:
            super().accept()


def confirm_change(
    parent: QWidget, title: str, message: str, *, production: bool, connection_id: str
) -> bool:
    """Yes/No, or on a production profile the type-the-connection-id dialog."""
    if production:
        dialog = TypeToConfirmDialog(title, message, connection_id, parent)
        return dialog.exec() == QDialog.DialogCode.Accepted
    box = QMessageBox(
        QMessageBox.Icon.Question,
        title,
        message,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("confirmChange")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box.exec() == QMessageBox.StandardButton.Yes
