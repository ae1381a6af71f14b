"""The filter bar of the Webhooks page (a mixin of ``WebhooksPage``): type, operation, result, signature,
integration, connection, pinned and full-text search; debounced, applied to the events model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
)

from nango_desktop.domain.events import EventFilter
from nango_desktop.ui import icons
from nango_desktop.ui.forms import FlowLayout
from nango_desktop.ui.widgets import SearchLineEdit

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext
    from nango_desktop.ui.webhooks import model as m
    from nango_desktop.ui.webhooks.detail import EventDetail


if TYPE_CHECKING:
    _Base = QWidget
else:
    _Base = object

TYPES = ("auth", "sync", "async_action", "forward", "raw", "unknown")
OPERATIONS = ("creation", "override", "refresh", "INITIAL", "INCREMENTAL", "WEBHOOK")
SIGNATURES = ("verified", "invalid", "unsigned", "no_key")
SCOPE_PROFILE, SCOPE_ALL = "profile", "all"


def _combo(name: str, any_text: str, values: tuple[str, ...], *, editable: bool = False) -> QComboBox:
    """A filter combo whose first item (``any_text``) means "no filter"."""
    combo = QComboBox()
    combo.setObjectName(name)
    combo.addItem(any_text)
    combo.addItems(list(values))
    combo.setEditable(editable)
    combo.setToolTip(any_text)
    combo.setMinimumContentsLength(len(any_text) if editable else 8)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return combo


def _combo_value(combo: QComboBox) -> str | None:
    text = combo.currentText().strip()
    return None if not text or text == combo.itemText(0) else text


class FiltersPanel(_Base):
    """The filters (``WebhooksPage`` provides ``_ctx``, ``_store``, ``model``, ``detail``)."""

    _ctx: AppContext
    _store: Any
    model: m.EventsModel
    detail: EventDetail

    if TYPE_CHECKING:

        def _on_scope_changed(self, _index: int) -> None: ...
        def export_selected(self) -> None: ...
        def export_filtered(self) -> None: ...

    def _build_filters(self) -> None:
        self.type_combo = _combo("webhooksTypeFilter", "Any type", (*TYPES, "malformed"))
        self.operation_combo = _combo("webhooksOperationFilter", "Any operation", OPERATIONS, editable=True)
        self.success_combo = _combo("webhooksSuccessFilter", "Any result", ("success", "failure"))
        self.signature_combo = _combo("webhooksSignatureFilter", "Any signature", SIGNATURES)
        self.integration_combo = _combo("webhooksIntegrationFilter", "Any integration", (), editable=True)
        self.connection_edit = QLineEdit()
        self.connection_edit.setObjectName("webhooksConnectionFilter")
        self.connection_edit.setPlaceholderText("Connection id")
        self.connection_edit.setClearButtonEnabled(True)
        self.scope_combo = QComboBox()
        self.scope_combo.setObjectName("webhooksScope")
        self.scope_combo.addItem("This profile", SCOPE_PROFILE)
        self.scope_combo.addItem("All profiles", SCOPE_ALL)
        self.scope_combo.setToolTip(
            "Events received by this profile's listener, or by every profile's listener (each profile keeps "
            "its own listener running)"
        )
        self.scope_combo.currentIndexChanged.connect(self._on_scope_changed)
        self.pinned_check = QCheckBox("Pinned")
        self.pinned_check.setObjectName("webhooksPinnedFilter")
        self.search_edit = SearchLineEdit(placeholder="Search in bodies…")
        self.search_edit.setObjectName("webhooksSearch")
        self.count_label = QLabel()
        self.count_label.setObjectName("webhooksCount")
        self.export_button = QToolButton()
        self.export_button.setObjectName("webhooksExport")
        self.export_button.setText("Export")
        self.export_button.setIcon(icons.icon("export"))
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.export_selected_action = menu.addAction("Export selected events as JSON…")
        self.export_selected_action.setObjectName("actionExportSelectedWebhooks")
        self.export_selected_action.triggered.connect(self.export_selected)
        self.export_filtered_action = menu.addAction("Export all events matching the filters as JSON…")
        self.export_filtered_action.setObjectName("actionExportFilteredWebhooks")
        self.export_filtered_action.triggered.connect(self.export_filtered)
        self.export_button.setMenu(menu)

        for combo in (self.type_combo, self.success_combo, self.signature_combo):
            combo.currentIndexChanged.connect(self._filters_changed)
        for combo in (self.operation_combo, self.integration_combo):
            combo.currentTextChanged.connect(self._filters_changed_debounced)
        self.connection_edit.textChanged.connect(self._filters_changed_debounced)
        self.pinned_check.toggled.connect(self._filters_changed)
        self.search_edit.searchChanged.connect(self._filters_changed)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(300)
        self._filter_timer.timeout.connect(self.apply_filters)

        self._filters = FlowLayout()  # wraps onto a second row in a narrow window (1024) instead of squeezing
        self.search_edit.setMinimumWidth(220)
        self.connection_edit.setMinimumWidth(150)
        for widget in (
            self.scope_combo,
            self.type_combo,
            self.operation_combo,
            self.success_combo,
            self.signature_combo,
            self.integration_combo,
            self.connection_edit,
            self.pinned_check,
        ):
            self._filters.addWidget(widget)
        self._filters.addWidget(self.search_edit)
        self._filters.addWidget(self.count_label)
        self._filters.addWidget(self.export_button)

    # -- filters --------------------------------------------------------------------------------------
    def current_filter(self) -> EventFilter:
        kind = _combo_value(self.type_combo)
        success = _combo_value(self.success_combo)
        return EventFilter(
            type=None if kind == "malformed" else kind,
            malformed=True if kind == "malformed" else None,
            operation=_combo_value(self.operation_combo),
            success=None if success is None else success == "success",
            verification=_combo_value(self.signature_combo),
            integration=_combo_value(self.integration_combo),
            connection_id=self.connection_edit.text().strip() or None,
            pinned=True if self.pinned_check.isChecked() else None,
            search=self.search_edit.text().strip() or None,
        )

    @Slot()
    def _filters_changed_debounced(self) -> None:
        self._filter_timer.start()

    @Slot()
    def _filters_changed(self) -> None:
        self._filter_timer.start(0)

    @Slot()
    def apply_filters(self) -> None:
        self._filter_timer.stop()
        flt = self.current_filter()
        if flt != self.model.filter:
            self.detail.set_event(None)
            self.model.set_filter(flt)

    def clear_filters(self) -> None:
        for combo in (self.type_combo, self.success_combo, self.signature_combo):
            combo.setCurrentIndex(0)
        for combo in (self.operation_combo, self.integration_combo):
            combo.setCurrentIndex(0)
        self.connection_edit.clear()
        self.pinned_check.setChecked(False)
        self.search_edit.clear()
        self.apply_filters()

    def _refresh_integrations(self) -> None:
        if self._store is not None:
            self._ctx.run(self._store.distinct, "integration", on_done=self._set_integrations)

    def _set_integrations(self, values: list[str]) -> None:
        current = self.integration_combo.currentText()
        any_text = self.integration_combo.itemText(0)
        self.integration_combo.blockSignals(True)
        self.integration_combo.clear()
        self.integration_combo.addItem(any_text)
        self.integration_combo.addItems(values)
        self.integration_combo.setCurrentText(current)
        self.integration_combo.blockSignals(False)

    @Slot()
    def _update_count(self) -> None:
        shown = self.model.rowCount()
        more = "+" if self.model.canFetchMore() and shown else ""
        noun = "event" if shown == 1 and not more else "events"
        self.count_label.setText(f"{shown:,}{more} {noun}" if shown or not more else "events loading…")
