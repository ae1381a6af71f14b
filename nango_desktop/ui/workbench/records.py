"""Records tab: browse the synced records of one model of the connection.

Pages load in the background (first rows show at once, progress and Cancel), columns come from the records'
keys (nested values compact) followed by the ``_nango_metadata`` columns, with a local filter and sort, the
JSON of the selected record, and export of the loaded records to CSV or JSONL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import (
    QModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.records import cell_value, compact
from nango_desktop.domain.workbench import METADATA_COLUMNS, RECORD_FILTERS, RECORDS_MAX_IDS
from nango_desktop.qtutil.bridge import EventBridge
from nango_desktop.session import workbench as ops
from nango_desktop.ui import icons, theme
from nango_desktop.ui.widgets import BusyBar
from nango_desktop.ui.workbench.records_model import RecordsFilter, RecordsModel, model_key

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

FLUSH_MS = 250  # pages arriving meanwhile are inserted together


class RecordsTab(QWidget):
    """The Records tab of a connection (``set_connection``; models from ``set_models``)."""

    loaded = Signal(int)  # number of records, after the last page
    searchIndexed = Signal()  # the local filter's text of every loaded record is ready

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workbenchRecords")
        self.ctx = ctx
        self.connection_id: str | None = None
        self.integration_id: str | None = None
        self._task: Any = None
        self._bridge = EventBridge(self)
        self._bridge.received.connect(self._on_page)
        self._generation = 0
        self._pages = 0
        self._cancelling = False
        # records per request (Nango allows up to 10,000; see benchmarks/bench_records.py)
        self.page_size = 500
        self._pending: list[dict[str, Any]] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)

        top, second = self._build_query()
        self._build_search()
        self.busy = BusyBar(self)
        self.busy.setObjectName("recordsBusy")
        self.busy.cancelRequested.connect(self.cancel)

        splitter = self._build_table()
        self._build_layout(top, second, splitter)

    # -- construction -------------------------------------------------------------------------------------
    def _build_query(self) -> tuple[QHBoxLayout, QHBoxLayout]:
        """Model, filters, ids, Load and Export: two rows, so a narrow detail pane never cuts them."""
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("recordsModel")
        self.model_combo.setMinimumContentsLength(16)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setEditable(True)
        line = self.model_combo.lineEdit()
        if line is not None:
            line.setPlaceholderText("Model")
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("recordsFilter")
        self.filter_combo.addItem("All records", None)
        for name in RECORD_FILTERS:
            self.filter_combo.addItem(name.capitalize(), name)
        self.modified_after = QLineEdit()
        self.modified_after.setObjectName("recordsModifiedAfter")
        self.modified_after.setPlaceholderText("Modified after (ISO date-time)")
        self.modified_after.setClearButtonEnabled(True)
        self.ids_edit = QLineEdit()
        self.ids_edit.setObjectName("recordsIds")
        self.ids_edit.setPlaceholderText(f"Record ids (comma-separated, up to {RECORDS_MAX_IDS})")
        self.ids_edit.setClearButtonEnabled(True)
        self.load_button = QPushButton(icons.icon("refresh"), "Load")
        self.load_button.setObjectName("recordsLoad")
        self.load_button.clicked.connect(self.load)
        self.export_button = QPushButton(icons.icon("export"), "Export…")
        self.export_button.setObjectName("recordsExport")
        self.export_button.clicked.connect(self.export)
        self.export_button.setEnabled(False)
        top = QHBoxLayout()  # two rows: a narrow detail pane never cuts the model name or the date
        top.addWidget(self.model_combo, 1)
        top.addWidget(self.load_button)
        top.addWidget(self.export_button)
        second = QHBoxLayout()
        second.addWidget(self.filter_combo)
        second.addWidget(self.modified_after, 1)
        second.addWidget(self.ids_edit, 1)
        return top, second

    def _build_search(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("recordsSearch")
        self.search.setPlaceholderText("Filter the loaded records (words in any field)")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.count_label = QLabel("")
        self.count_label.setObjectName("recordsCount")
        self.error_label = QLabel("")
        self.error_label.setObjectName("recordsError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ERROR};")
        self.error_label.hide()

    def _build_table(self) -> QSplitter:
        """The records table with the selected record's JSON below it."""
        self.model = RecordsModel(self)
        self.proxy = RecordsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setObjectName("recordsTable")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.view.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self._sort)
        header.setDefaultSectionSize(140)
        self.view.selectionModel().currentRowChanged.connect(self._show_detail)

        self.detail = QPlainTextEdit()
        self.detail.setObjectName("recordsDetail")
        self.detail.setReadOnly(True)
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setPlaceholderText("Select a record to see its JSON.")
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        splitter = QSplitter(Qt.Orientation.Vertical)  # the JSON below the table: readable in a narrow pane
        splitter.setObjectName("recordsSplitter")
        splitter.addWidget(self.view)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        return splitter

    def _build_layout(self, top: QHBoxLayout, second: QHBoxLayout, splitter: QSplitter) -> None:
        bottom = QHBoxLayout()
        bottom.addWidget(self.search, 1)
        bottom.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.busy)
        layout.addWidget(self.error_label)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

    # -- connection and models ----------------------------------------------------------------------------
    def set_connection(self, connection_id: str | None, integration_id: str | None) -> None:
        if (connection_id, integration_id) == (self.connection_id, self.integration_id):
            return
        self.cancel()
        self.connection_id, self.integration_id = connection_id, integration_id
        self.model.clear()
        self.model_combo.clear()
        self.detail.clear()
        self._update_count()

    def set_models(self, models: list[tuple[str, str | None, int | None]]) -> None:
        """(model, variant, record count) from the connection's syncs."""
        current = self.current_model()
        self.model_combo.clear()
        for model, variant, count in models:
            label = model if not variant or variant == "base" else f"{model} ({variant})"
            if count is not None:
                label += f" — {count:,} records"
            self.model_combo.addItem(label, model_key(model, variant))
        if current is not None:
            index = self.model_combo.findData(model_key(*current))
            if index >= 0:
                self.model_combo.setCurrentIndex(index)

    def current_model(self) -> tuple[str, str | None] | None:
        data = self.model_combo.currentData()
        if isinstance(data, str) and self.model_combo.currentText() == self.model_combo.itemText(
            self.model_combo.currentIndex()
        ):
            model, _, variant = data.partition("::")
            return model, variant or None
        text = self.model_combo.currentText().strip()
        return (text, None) if text else None

    # -- loading ------------------------------------------------------------------------------------------
    @Slot()
    def load(self) -> None:
        chosen = self.current_model()
        if self.connection_id is None or self.integration_id is None or chosen is None:
            self._show_error("Choose a model to load (the connection's syncs list them).")
            return
        model, variant = chosen
        filters: dict[str, Any] = {"filter": self.filter_combo.currentData()}
        after = self.modified_after.text().strip()
        if after:
            from datetime import datetime

            try:
                datetime.fromisoformat(after.replace("Z", "+00:00"))
            except ValueError:
                self._show_error(f"“{after}” is not an ISO 8601 date-time (e.g. 2026-05-31T11:46:13Z).")
                return
            filters["modified_after"] = after
        ids = [i.strip() for i in self.ids_edit.text().split(",") if i.strip()]
        if len(ids) > RECORDS_MAX_IDS:
            self._show_error(f"At most {RECORDS_MAX_IDS} record ids at a time ({len(ids)} given).")
            return
        if ids:
            filters["ids"] = ids
        if variant:
            filters["variant"] = variant
        self.cancel()
        self._show_error("")
        self._generation += 1
        self._pages = 0
        self._cancelling = False
        self._pending = []
        self._flush_timer.stop()
        self.model.clear()
        self.detail.clear()
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.busy.start(f"Loading {model} records…", cancellable=True)
        self.load_button.setEnabled(False)
        generation = self._generation
        self._task = ops.load_records(
            self.ctx.session,
            self.connection_id,
            self.integration_id,
            model,
            bridge=self._bridge,
            filters=filters,
            page_size=self.page_size,
            on_done=lambda count: self._finished(generation, count),
            on_error=lambda exc: self._failed(generation, exc),
        )
        self._task_generation = generation

    @Slot(object)
    def _on_page(self, item: object) -> None:
        records, more = cast("tuple[list[Any], bool]", item)
        if (
            self._task is None
            or self._cancelling
            or getattr(self, "_task_generation", None) != self._generation
        ):
            return  # a page already in flight when the user cancelled is dropped
        self._pages += 1
        self._pending.extend(records)
        if self.model.rowCount() == 0 or not more:
            self._flush()  # the first rows at once, and the last ones
        elif not self._flush_timer.isActive():
            self._flush_timer.start()  # later pages join in batches: fewer, larger inserts into the view

    @Slot()
    def _flush(self) -> None:
        self._flush_timer.stop()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        first = self.model.rowCount() == 0
        self.model.append(pending)
        if first and self.model.columns:
            self._fit_columns()
        loading = self._task is not None
        self.busy.set_progress(0, None, f"{self.model.rowCount():,} records loaded{'…' if loading else ''}")
        self._update_count()

    def _fit_columns(self) -> None:
        header = self.view.horizontalHeader()
        metrics = self.fontMetrics()
        for section, (column, title) in enumerate(self.model.columns):
            sample = [compact(cell_value(r, column), 40) for r in self.model.rows[:50]]
            width = (
                max([metrics.horizontalAdvance(title), *(metrics.horizontalAdvance(s) for s in sample)]) + 24
            )
            header.resizeSection(section, min(max(width, 60), 320))

    def _finished(self, generation: int, count: int) -> None:
        if generation != self._generation:
            return
        self._task = None
        self._flush()
        self.busy.finish()
        self.load_button.setEnabled(True)
        self.export_button.setEnabled(self.model.rowCount() > 0)
        self._update_count()
        self._index_search_text(generation)
        self.loaded.emit(count)

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        from nango_desktop.services.errors import CancelledError

        self._task = None
        self._flush()
        self.busy.finish()
        self.load_button.setEnabled(True)
        self.export_button.setEnabled(self.model.rowCount() > 0)
        if isinstance(exc, CancelledError):
            self._show_error(f"Cancelled: {self.model.rowCount():,} records loaded (export keeps them).")
        else:
            title = getattr(exc, "title", str(exc))
            detail = getattr(exc, "detail", "")
            self._show_error(f"{title}\n{detail}".strip())
        self._update_count()

    def _index_search_text(self, generation: int) -> None:
        """Build the local filter's search text of every loaded record on a worker (the first filter on
        tens of thousands of records would otherwise serialize them all on the GUI thread)."""
        rows = list(self.model.rows)

        def build() -> dict[int, str]:
            return {id(r): json.dumps(r, ensure_ascii=False, default=str).casefold() for r in rows}

        def done(texts: dict[int, str]) -> None:
            if generation == self._generation:
                self.model._text.update(texts)
                self.searchIndexed.emit()

        self.ctx.run(build, on_done=done, on_error=lambda exc: None)

    @Slot()
    def cancel(self) -> None:
        if self._task is not None:
            self._cancelling = True
            self._task.cancel()

    def is_loading(self) -> bool:
        return self._task is not None

    # -- view ---------------------------------------------------------------------------------------------
    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _update_count(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.count_label.setText(
            f"{shown:,} of {total:,} records" if shown != total else f"{total:,} records"
        )

    @Slot()
    def _apply_search(self) -> None:
        self.proxy.set_text(self.search.text())
        self._update_count()

    @Slot(int, Qt.SortOrder)
    def _sort(self, column: int, order: Qt.SortOrder) -> None:
        self.model.sort(column, order)

    @Slot(QModelIndex, QModelIndex)
    def _show_detail(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.detail.clear()
            return
        record = self.model.rows[self.proxy.mapToSource(current).row()]
        self.detail.setPlainText(json.dumps(record, indent=2, ensure_ascii=False, default=str))

    def selected_record(self) -> dict[str, Any] | None:
        index = self.view.currentIndex()
        return self.model.rows[self.proxy.mapToSource(index).row()] if index.isValid() else None

    # -- export -------------------------------------------------------------------------------------------
    @Slot()
    def export(self, path: str | None = None) -> None:
        if not self.model.rows:
            return
        if not path:
            chosen = self.current_model()
            name = f"{self.connection_id}-{chosen[0] if chosen else 'records'}.csv"
            path, _ = QFileDialog.getSaveFileName(
                self, "Export records", name, "CSV (*.csv);;JSON Lines (*.jsonl)"
            )
            if not path:
                return
        target = Path(path)
        rows = list(self.model.rows)  # a snapshot: later pages or sorting do not change the file

        def done(count: int) -> None:
            self.ctx.notify("Records exported", f"{count:,} records to {target.name}")

        ops.export_records(
            self.ctx.session, rows, list(self.model.keys), target, on_done=done, on_error=self.ctx.show_error
        )


__all__ = ["METADATA_COLUMNS", "RecordsModel", "RecordsTab"]
