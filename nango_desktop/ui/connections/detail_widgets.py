"""What the panels of the connection detail share: small widget helpers and ``DetailPanel``, the state each
panel (tags, metadata, credentials) reads from the ``ConnectionDetail`` it is mixed into."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from nango_desktop.ui import icons
from nango_desktop.ui.connections.model import format_created
from nango_desktop.ui.theme import STATUS_COLORS

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTabWidget

    from nango_desktop.domain.models import Connection
    from nango_desktop.services.errors import RefreshState
    from nango_desktop.ui.context import AppContext
    from nango_desktop.ui.widgets import BusyBar

    _Base = QWidget
else:
    _Base = object


class DetailPanel(_Base):
    """One panel of the connection detail (a mixin of ``ConnectionDetail``, which provides these)."""

    ctx: AppContext
    connection: Connection | None
    busy: BusyBar
    tabs: QTabWidget
    info_labels: dict[str, QLabel]
    notice: QWidget

    if TYPE_CHECKING:

        def _is_current(self, cid: str, iid: str) -> bool: ...
        def _show_error(self, exc: BaseException) -> None: ...
        def show_notice(self, text: str, *, state: RefreshState | None = None) -> None: ...

    @staticmethod
    def _show_problems(label: QLabel, problems: list[str]) -> None:
        label.setText("\n".join(problems))
        label.setVisible(bool(problems))


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def when(value: str | datetime | None) -> str:
    """Local date and time of an ISO 8601 text or datetime; "—" when there is none."""
    if not value:
        return "—"
    return format_created(value if isinstance(value, str) else value.isoformat())


def make_label(object_name: str, text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def make_button(
    object_name: str, text: str, icon_name: str | None, slot: Callable, tip: str = ""
) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(object_name)
    if icon_name:
        button.setIcon(icons.icon(icon_name))
    if tip:
        button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


def make_error_label(object_name: str) -> QLabel:
    label_ = make_label(object_name)
    label_.setStyleSheet(f"color: {STATUS_COLORS['auth_error']};")
    label_.hide()
    return label_
