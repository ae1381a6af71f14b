"""The "Advanced: limits" group of the listener settings panel (issue 16): connection slots, their reserved and
per-address shares, the first-byte timeout and the throttle of unverified requests (``ListenerSettings``
fields). Collapsed by default; ranges come from the settings model itself, so the form cannot offer a value
the model refuses."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.services.listener_slots import slot_counts
from nango_desktop.settings import ListenerSettings
from nango_desktop.ui import icons

PERCENT_FIELDS = ("reserved_share", "per_peer_share")  # shares shown as whole percents


def bounds(name: str) -> tuple[float, float]:
    """(minimum, maximum) of a ListenerSettings field, from its ``ge`` / ``le`` constraints."""
    low, high = 0.0, 1e9
    for rule in ListenerSettings.model_fields[name].metadata:
        low = float(getattr(rule, "ge", low))
        high = float(getattr(rule, "le", high))
    return low, high


class ListenerLimits(QWidget):
    """A collapsible group of the listener's limits; ``load(settings)`` and ``values()`` (a dict of fields)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setObjectName("listenerLimitsToggle")
        self.toggle.setText("Advanced: limits")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setIcon(icons.icon("chevron-right"))
        self.toggle.toggled.connect(self._set_open)
        self.body = QFrame()
        self.body.setObjectName("listenerLimits")
        self.body.setVisible(False)
        grid = QGridLayout(self.body)
        grid.setContentsMargins(18, 0, 0, 0)
        self.fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        rows = (
            ("max_connections", "Connections at once", "", "Requests served at the same time; more get 503 + Retry-After"),
            ("reserved_share", "Reserved for complete requests", " %", "Slots only a request that arrived whole may take: "
             "idle or drip-feeding connections never starve a real delivery"),
            ("per_peer_share", "One remote address may hold", " % of the rest", "Cap per remote address (loopback, "
             "where a tunnel's deliveries come from, is not capped)"),
            ("first_byte_timeout", "Close silent connections after", " s", "A connection that sends nothing this long is closed"),
            ("unverified_rate", "Unverified requests per address", " /s", "Requests that do not verify, per second and "
             "address, before 429; verified webhooks are never throttled"),
            ("unverified_burst", "Burst of unverified requests", "", "How many may come at once before the rate applies"),
        )  # fmt: skip
        for index, (name, label, suffix, tip) in enumerate(rows):
            editor = self._editor(name, suffix, tip)
            text = QLabel(label)
            text.setBuddy(editor)
            text.setToolTip(tip)
            grid.addWidget(text, index // 2, (index % 2) * 2)
            grid.addWidget(editor, index // 2, (index % 2) * 2 + 1)
        self.summary = QLabel()
        self.summary.setObjectName("listenerLimitsSummary")
        self.summary.setWordWrap(True)
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setObjectName("listenerLimitsDefaults")
        self.defaults_button.setToolTip("Put back the default limits (then Apply)")
        self.defaults_button.clicked.connect(lambda: self.load(ListenerSettings.model_validate({})))
        grid.addWidget(self.summary, 3, 0, 1, 3)
        grid.addWidget(self.defaults_button, 3, 3, Qt.AlignmentFlag.AlignLeft)
        grid.setColumnStretch(4, 1)  # editors keep their own width; the space goes right
        grid.setHorizontalSpacing(12)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        box.addWidget(self.body)

    def _editor(self, name: str, suffix: str, tip: str) -> QSpinBox | QDoubleSpinBox:
        low, high = bounds(name)
        editor: QSpinBox | QDoubleSpinBox
        if name in PERCENT_FIELDS:
            editor = QSpinBox()
            editor.setRange(round(low * 100), round(high * 100))
        elif isinstance(ListenerSettings.model_fields[name].default, int):
            editor = QSpinBox()
            editor.setRange(int(low), int(high))
        else:
            editor = QDoubleSpinBox()
            editor.setDecimals(1)
            editor.setRange(low, high)
        editor.setObjectName("listenerLimit_" + name)
        editor.setMinimumWidth(150)
        editor.setSuffix(suffix)
        editor.setToolTip(tip)
        editor.setAccessibleName(name.replace("_", " "))
        editor.valueChanged.connect(self._update_summary)
        self.fields[name] = editor
        return editor

    @Slot(bool)
    def _set_open(self, on: bool) -> None:
        self.body.setVisible(on)
        self.toggle.setIcon(icons.icon("chevron-down" if on else "chevron-right"))

    def load(self, settings: ListenerSettings) -> None:
        for name, editor in self.fields.items():
            value = getattr(settings, name)
            editor.setValue(round(value * 100) if name in PERCENT_FIELDS else value)
        self._update_summary()

    def values(self) -> dict[str, Any]:
        return {
            name: editor.value() / 100 if name in PERCENT_FIELDS else editor.value()
            for name, editor in self.fields.items()
        }

    @Slot()
    def _update_summary(self) -> None:
        values = self.values()
        reserved, general, per_peer = slot_counts(
            int(values["max_connections"]), values["reserved_share"], values["per_peer_share"]
        )
        self.summary.setText(
            f"{general} general slots ({per_peer} per remote address) and {reserved} reserved for requests "
            "that arrive complete"
        )
