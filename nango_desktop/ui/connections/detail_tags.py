"""The Tags and Metadata panels of the connection detail (mixins of ``ConnectionDetail``).

Edits are read-modify-write: the ``save_tags`` operation re-reads the tags with the list endpoint (no
credentials), merges the user's edits (``merge_tags``), checks Nango's rules and PATCHes the whole set;
``set_metadata`` replaces the metadata (POST). Both change notices re-read the row everywhere.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.tags import normalize_tags, validate_tags
from nango_desktop.services.errors import BadRequestError
from nango_desktop.session import operations
from nango_desktop.ui.connections.detail_widgets import DetailPanel, json_text, make_button, make_error_label
from nango_desktop.ui.connections.model import key_of


class TagsPanel(DetailPanel):
    _tags_original: dict[str, str]
    tags_model: QStandardItemModel
    tags_view: QTableView
    tags_errors: QLabel
    tags_save: QWidget

    def _build_tags(self) -> QWidget:
        page = QWidget()
        self.tags_model = QStandardItemModel(0, 2, self)
        self.tags_model.setHorizontalHeaderLabels(["Key", "Value"])
        self.tags_model.dataChanged.connect(self._validate_tags)
        self.tags_model.rowsRemoved.connect(self._validate_tags)
        self.tags_model.rowsInserted.connect(self._validate_tags)
        self.tags_view = QTableView()
        self.tags_view.setObjectName("detailTagsTable")
        self.tags_view.setModel(self.tags_model)
        self.tags_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tags_view.verticalHeader().hide()
        self.tags_errors = make_error_label("detailTagsErrors")
        buttons = QHBoxLayout()
        buttons.addWidget(make_button("detailTagAdd", "Add", "add", self.add_tag_row))
        buttons.addWidget(make_button("detailTagRemove", "Remove", "delete", self.remove_tag_rows))
        buttons.addStretch(1)
        buttons.addWidget(make_button("detailTagsRevert", "Revert", None, self._revert_tags))
        self.tags_save = make_button(
            "detailTagsSave",
            "Save tags",
            None,
            self.save_tags,
            "Re-reads the tags, applies your changes and replaces the whole set (PATCH)",
        )
        buttons.addWidget(self.tags_save)
        layout = QVBoxLayout(page)
        layout.addWidget(self.tags_view, 1)
        layout.addWidget(self.tags_errors)
        layout.addLayout(buttons)
        return page

    # -- tags -------------------------------------------------------------------------------------------
    def _set_tags(self, tags: dict[str, str]) -> None:
        self._tags_original = dict(tags)
        self.tags_model.removeRows(0, self.tags_model.rowCount())
        for key, value in sorted(tags.items()):
            self.tags_model.appendRow([QStandardItem(key), QStandardItem(value)])
        self._validate_tags()

    def edited_tags(self) -> dict[str, str]:
        """The tags as edited in the table (rows with an empty key are ignored)."""
        result: dict[str, str] = {}
        for row in range(self.tags_model.rowCount()):
            key = (self.tags_model.item(row, 0).text() or "").strip()
            if key:
                result[key] = (self.tags_model.item(row, 1).text() or "").strip()
        return result

    def _tags_dirty(self) -> bool:
        return normalize_tags(self.edited_tags()) != normalize_tags(self._tags_original)

    @Slot()
    def add_tag_row(self) -> None:
        self.tags_model.appendRow([QStandardItem(""), QStandardItem("")])
        index = self.tags_model.index(self.tags_model.rowCount() - 1, 0)
        self.tags_view.setCurrentIndex(index)
        self.tags_view.edit(index)

    @Slot()
    def remove_tag_rows(self) -> None:
        rows = sorted({i.row() for i in self.tags_view.selectionModel().selectedIndexes()}, reverse=True)
        for row in rows:
            self.tags_model.removeRow(row)

    @Slot()
    def _revert_tags(self) -> None:
        self._set_tags(self._tags_original)

    @Slot()
    def _validate_tags(self, *_args: object) -> list[str]:
        problems = validate_tags(self.edited_tags())
        self._show_problems(self.tags_errors, problems)
        self.tags_save.setEnabled(not problems)
        return problems

    @staticmethod
    def merge_tags(
        current: dict[str, str], original: dict[str, str], edited: dict[str, str]
    ) -> dict[str, str]:
        """Apply the user's edits (``original`` -> ``edited``) on top of the server's ``current`` tags."""
        original, edited = normalize_tags(original), normalize_tags(edited)
        merged = normalize_tags(current)
        for key in original.keys() - edited.keys():
            merged.pop(key, None)
        for key, value in edited.items():
            if original.get(key) != value:
                merged[key] = value
        return merged

    @Slot()
    def save_tags(self) -> None:
        conn = self.connection
        if conn is None or self._validate_tags():
            return
        cid, iid = key_of(conn)
        original, edited = dict(self._tags_original), self.edited_tags()

        def done(merged: dict[str, str]) -> None:
            if self._is_current(cid, iid):
                self._set_tags(merged)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, BadRequestError) and self._is_current(cid, iid):
                self._show_problems(self.tags_errors, [exc.title, *([exc.detail] if exc.detail else [])])
            self._show_error(exc)

        op = operations.save_tags(
            self.ctx.session, conn, lambda current: self.merge_tags(current, original, edited)
        )
        op.success(done).failure(failed).run(busy=self.busy, message="Saving tags…")


class MetadataPanel(DetailPanel):
    metadata: QPlainTextEdit
    metadata_errors: QLabel
    metadata_save: QWidget

    def _build_metadata(self) -> QWidget:
        page = QWidget()
        self.metadata = QPlainTextEdit()
        self.metadata.setObjectName("detailMetadata")
        self.metadata.setPlaceholderText("{}")
        self.metadata.textChanged.connect(self._validate_metadata)
        self.metadata_errors = make_error_label("detailMetadataErrors")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(make_button("detailMetadataRevert", "Revert", None, self._revert_metadata))
        self.metadata_save = make_button(
            "detailMetadataSave", "Save metadata", None, self.save_metadata, "Replaces the metadata (POST)"
        )
        buttons.addWidget(self.metadata_save)
        layout = QVBoxLayout(page)
        layout.addWidget(self.metadata, 1)
        layout.addWidget(self.metadata_errors)
        layout.addLayout(buttons)
        return page

    # -- metadata ---------------------------------------------------------------------------------------
    def _parsed_metadata(self) -> tuple[dict | None, str | None]:
        text = self.metadata.toPlainText().strip()
        if not text:
            return {}, None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        if not isinstance(value, dict):
            return None, "Metadata must be a JSON object ({…})."
        return value, None

    @Slot()
    def _validate_metadata(self) -> None:
        _value, problem = self._parsed_metadata()
        self._show_problems(self.metadata_errors, [problem] if problem else [])
        self.metadata_save.setEnabled(problem is None)

    @Slot()
    def _revert_metadata(self) -> None:
        conn = self.connection
        self.metadata.setPlainText(json_text(conn.metadata) if conn is not None and conn.metadata else "{}")
        self.metadata.document().setModified(False)

    @Slot()
    def save_metadata(self) -> None:
        conn = self.connection
        value, problem = self._parsed_metadata()
        if conn is None or value is None:
            return
        cid, iid = key_of(conn)

        def done(_result: object) -> None:
            if self._is_current(cid, iid):
                self.metadata.document().setModified(False)

        op = operations.set_metadata(self.ctx.session, conn, value, parent=self)
        op.success(done).failure(self._show_error).run(busy=self.busy, message="Saving metadata…")
