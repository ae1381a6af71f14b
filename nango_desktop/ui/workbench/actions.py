"""Action runner tab: pick an action of the integration, edit its JSON input (checked against the action's
input schema when Nango gives one), run it synchronously or with X-Async and polling, see the result or the
error with its code, payload and log id; a short per-profile history of runs (input, duration, outcome)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.jsonschema_lite import validate
from nango_desktop.domain.workbench import ActionOutcome, ScriptFunction
from nango_desktop.session import workbench as ops
from nango_desktop.ui import icons
from nango_desktop.ui.widgets import BusyBar

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext


def example_input(schema: dict[str, Any] | None) -> Any:
    """A skeleton input from the schema: required properties with empty values of their type."""
    if not schema:
        return {}
    props = schema.get("properties") or {}
    result: dict[str, Any] = {}
    for name in schema.get("required") or list(props)[:3]:
        kind = (props.get(name) or {}).get("type")
        kind = kind[0] if isinstance(kind, list) else kind
        result[name] = {
            "string": "",
            "integer": 0,
            "number": 0,
            "boolean": False,
            "array": [],
            "object": {},
        }.get(str(kind), None)
    return result


class ActionRunnerTab(QWidget):
    finished = Signal(object)  # ActionOutcome

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workbenchActions")
        self.ctx = ctx
        self.connection_id: str | None = None
        self.integration_id: str | None = None
        self.scripts: list[ScriptFunction] = []
        self._task: Any = None
        self._seq = 0
        self._inputs: dict[str, str] = {}  # action -> edited input text (kept while switching)
        self.poll_interval = 1.0

        self.action_combo = QComboBox()
        self.action_combo.setObjectName("actionName")
        self.action_combo.setMinimumContentsLength(18)
        self.action_combo.currentIndexChanged.connect(self._action_changed)
        self.async_box = QCheckBox("Asynchronous (X-Async, poll for the result)")
        self.async_box.setObjectName("actionAsync")
        self.retries = QSpinBox()
        self.retries.setObjectName("actionMaxRetries")
        self.retries.setRange(0, 5)
        self.retries.setPrefix("retries ")
        self.retries.setToolTip("X-Max-Retries: how often Nango retries a failed asynchronous run (0-5)")
        self.retries.setEnabled(False)
        self.async_box.toggled.connect(self.retries.setEnabled)
        self.run_button = QPushButton(icons.icon("play"), "Run")
        self.run_button.setObjectName("actionRun")
        self.run_button.clicked.connect(self.run)
        self.reload_button = QPushButton(icons.icon("refresh"), "")
        self.reload_button.setToolTip("Reload the integration's actions (scripts config)")
        self.reload_button.clicked.connect(self.load_actions)
        top = QHBoxLayout()
        top.addWidget(QLabel("Action"))
        top.addWidget(self.action_combo, 1)
        top.addWidget(self.reload_button)
        top.addWidget(self.async_box)
        top.addWidget(self.retries)
        top.addWidget(self.run_button)
        self.description = QLabel("")
        self.description.setObjectName("actionDescription")
        self.description.setWordWrap(True)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.input_edit = QPlainTextEdit()
        self.input_edit.setObjectName("actionInput")
        self.input_edit.setFont(mono)
        self.input_edit.setPlaceholderText("JSON input (empty: no input)")
        self.input_edit.textChanged.connect(self._input_changed)
        self.input_problems = QLabel("")
        self.input_problems.setObjectName("actionInputProblems")
        self.input_problems.setWordWrap(True)
        self.input_problems.setStyleSheet(f"color: {icons.STATUS_COLORS['error']};")
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(250)
        self._check_timer.timeout.connect(self.check_input)

        self.busy = BusyBar(self)
        self.busy.cancelRequested.connect(self.cancel)
        self.outcome_label = QLabel("")
        self.outcome_label.setObjectName("actionOutcome")
        self.outcome_label.setWordWrap(True)
        self.outcome_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_view = QPlainTextEdit()
        self.result_view.setObjectName("actionResult")
        self.result_view.setReadOnly(True)
        self.result_view.setFont(mono)
        self.history = QListWidget()
        self.history.setObjectName("actionHistory")
        self.history.itemActivated.connect(self._reuse)
        self.history.setToolTip("Recent runs of this profile (double-click to reuse the input)")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Input"))
        left_layout.addWidget(self.input_edit, 1)
        left_layout.addWidget(self.input_problems)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.outcome_label)
        right_layout.addWidget(self.result_view, 1)
        right_layout.addWidget(QLabel("Recent runs"))
        right_layout.addWidget(self.history)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.description)
        layout.addWidget(self.busy)
        layout.addWidget(splitter, 1)

    # -- state -------------------------------------------------------------------------------------------
    def set_connection(self, connection_id: str | None, integration_id: str | None) -> None:
        if (connection_id, integration_id) == (self.connection_id, self.integration_id):
            return
        integration_changed = integration_id != self.integration_id
        self.cancel()
        self.connection_id, self.integration_id = connection_id, integration_id
        if integration_changed:
            self.scripts = []
            self.action_combo.clear()
            self._inputs.clear()
        self.outcome_label.setText("")
        self.result_view.clear()

    @Slot()
    def load_actions(self) -> None:
        if self.integration_id is None:
            return
        integration = self.integration_id
        self._seq += 1
        seq = self._seq
        self.busy.start("Loading the integration's actions…")

        def done(scripts: Any) -> None:
            if seq == self._seq and integration == self.integration_id:
                self.busy.finish()
                self.set_actions(scripts.actions)

        def failed(exc: BaseException) -> None:
            if seq == self._seq:
                self.busy.finish()
                self.outcome_label.setText(f"Could not load the actions: {getattr(exc, 'title', exc)}")

        ops.load_scripts(self.ctx.session, integration, on_done=done, on_error=failed)
        self.load_history()

    def set_actions(self, actions: list[ScriptFunction]) -> None:
        current = self.action_combo.currentText()
        self.scripts = list(actions)
        self.action_combo.blockSignals(True)
        self.action_combo.clear()
        for action in actions:
            self.action_combo.addItem(action.name)
        self.action_combo.blockSignals(False)
        index = self.action_combo.findText(current)
        self.action_combo.setCurrentIndex(max(index, 0))
        self._action_changed()
        if not actions:
            self.description.setText("No actions are deployed for this integration.")
        self.run_button.setEnabled(bool(actions))

    def current_action(self) -> ScriptFunction | None:
        name = self.action_combo.currentText()
        return next((a for a in self.scripts if a.name == name), None)

    @Slot()
    def _action_changed(self) -> None:
        action = self.current_action()
        if action is None:
            self.description.setText("")
            return
        schema = action.input_schema()
        hint = "Input checked against the action's schema." if schema else "No input schema from Nango."
        self.description.setText(f"{(action.description or '').strip()}  {hint}".strip())
        text = self._inputs.get(action.name)
        if text is None:
            text = json.dumps(example_input(schema), indent=2) if schema else ""
        self.input_edit.blockSignals(True)
        self.input_edit.setPlainText(text)
        self.input_edit.blockSignals(False)
        self.check_input()

    @Slot()
    def _input_changed(self) -> None:
        action = self.current_action()
        if action is not None:
            self._inputs[action.name] = self.input_edit.toPlainText()
        self._check_timer.start()

    def parsed_input(self) -> tuple[Any, list[str]]:
        """(input, problems): JSON errors, then schema problems."""
        text = self.input_edit.toPlainText().strip()
        if not text:
            payload = None
        else:
            try:
                payload = json.loads(text)
            except ValueError as exc:
                return None, [f"Not valid JSON: {exc}"]
        action = self.current_action()
        schema = action.input_schema() if action else None
        if schema is None:
            return payload, []
        return payload, validate(payload if payload is not None else {}, schema)

    @Slot()
    def check_input(self) -> list[str]:
        _payload, problems = self.parsed_input()
        self.input_problems.setText("\n".join(problems[:6]))
        self.input_problems.setVisible(bool(problems))
        return problems

    # -- running -----------------------------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        action = self.current_action()
        if (
            action is None
            or self.connection_id is None
            or self.integration_id is None
            or self._task is not None
        ):
            return
        payload, problems = self.parsed_input()
        if problems:
            self.check_input()
            self.outcome_label.setText("Fix the input first.")
            return
        run_async = self.async_box.isChecked()
        cid, iid, name = self.connection_id, self.integration_id, action.name
        self._seq += 1
        seq = self._seq
        started = ops.now()
        self.busy.start(f"Running {name}…", cancellable=True)
        self.run_button.setEnabled(False)
        self.outcome_label.setText("")
        self.result_view.clear()

        def done(outcome: ActionOutcome) -> None:
            self._task = None
            self.run_button.setEnabled(True)
            self.busy.finish()
            self._record(cid, iid, name, payload, outcome)
            if seq == self._seq:
                self.show_outcome(outcome)

        def failed(exc: BaseException) -> None:
            self._task = None
            self.run_button.setEnabled(True)
            self.busy.finish()
            outcome = ActionOutcome(
                ok=False,
                error_title=getattr(exc, "title", str(exc)),
                error_detail=getattr(exc, "detail", ""),
                duration=ops.now() - started,
            )
            self._record(cid, iid, name, payload, outcome)
            if seq == self._seq:
                self.show_outcome(outcome)

        self._task = ops.run_action(
            self.ctx.session,
            cid,
            iid,
            name,
            payload,
            run_async=run_async,
            max_retries=self.retries.value() if run_async and self.retries.value() else None,
            on_done=done,
            on_error=failed,
            on_progress=lambda d, t, m: self.busy.set_progress(d, t, m),
            poll_interval=self.poll_interval,
        )

    @Slot()
    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def show_outcome(self, outcome: ActionOutcome) -> None:
        took = f"{outcome.duration * 1000:.0f} ms" if outcome.duration < 10 else f"{outcome.duration:.1f} s"
        if outcome.ok:
            self.outcome_label.setText(
                f"✔ Succeeded in {took}" + (f" (async id {outcome.async_id})" if outcome.async_id else "")
            )
            self.outcome_label.setStyleSheet(f"color: {icons.STATUS_COLORS['ok']};")
            self.result_view.setPlainText(json.dumps(outcome.result, indent=2, ensure_ascii=False))
        else:
            parts = [f"✖ {outcome.error_title or 'Failed'}"]
            meta = [
                f"HTTP {outcome.status}" if outcome.status else "",
                f"code {outcome.error_code}" if outcome.error_code else "",
                f"log id {outcome.log_id}" if outcome.log_id else "",
                took,
            ]
            parts.append(" · ".join(m for m in meta if m))
            self.outcome_label.setText("\n".join(parts))
            self.outcome_label.setStyleSheet(f"color: {icons.STATUS_COLORS['error']};")
            body: dict[str, Any] = {}
            if outcome.error_payload is not None:
                body["payload"] = outcome.error_payload
            if outcome.error_detail:
                body["detail"] = outcome.error_detail
            self.result_view.setPlainText(json.dumps(body, indent=2, ensure_ascii=False) if body else "")
        self.finished.emit(outcome)

    # -- history ------------------------------------------------------------------------------------------
    def _record(self, cid: str, iid: str, name: str, payload: Any, outcome: ActionOutcome) -> None:
        summary = (
            "ok"
            if outcome.ok
            else (outcome.error_title or "failed") + (f" (log {outcome.log_id})" if outcome.log_id else "")
        )
        task = ops.record_run(
            self.ctx.session, "action", integration_id=iid, connection_id=cid, name=name, request=payload,
            duration=outcome.duration, ok=outcome.ok, status=outcome.status, summary=summary,
        )  # fmt: skip
        task.signals.done.connect(self.load_history)

    @Slot()
    def load_history(self) -> None:
        ops.recent_runs(self.ctx.session, "action", on_done=self._show_history)

    def _show_history(self, runs: list[Any]) -> None:
        from datetime import datetime

        self.history.clear()
        for run in runs[:20]:
            when = datetime.fromtimestamp(run.created_at).strftime("%H:%M:%S")
            mark = "✔" if run.ok else "✖"
            item = QListWidgetItem(
                f"{mark} {when}  {run.name} · {run.connection_id} · {run.duration * 1000:.0f} ms  {'' if run.ok else run.summary}"
            )
            item.setData(Qt.ItemDataRole.UserRole, run)
            item.setToolTip(
                json.dumps(run.request, indent=2, ensure_ascii=False)
                if run.request is not None
                else "(no input)"
            )
            self.history.addItem(item)

    @Slot(QListWidgetItem)
    def _reuse(self, item: QListWidgetItem) -> None:
        run = item.data(Qt.ItemDataRole.UserRole)
        index = self.action_combo.findText(run.name)
        if index >= 0:
            self.action_combo.setCurrentIndex(index)
            self.input_edit.setPlainText(json.dumps(run.request, indent=2) if run.request is not None else "")
