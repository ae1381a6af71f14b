"""Sync control tab: each sync's status, frequency, last and next run, record counts and latest result;
Trigger (incremental / full refresh), Pause, Start and a frequency override, the state refreshed after each.
A production profile confirms anything but Trigger (type the connection id)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.models import SyncStatus
from nango_desktop.session import workbench as ops
from nango_desktop.ui import icons
from nango_desktop.ui.widgets import BusyBar
from nango_desktop.ui.workbench.confirm import confirm_change

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

COLUMNS = ("Sync", "Status", "Frequency", "Last run", "Next run", "Records", "Latest result")
STATUS_COLORS = {
    "ERROR": "error",
    "PAUSED": "warning",
    "STOPPED": "warning",
    "SUCCESS": "ok",
    "RUNNING": "ok",
}


def sync_label(sync: SyncStatus) -> str:
    return sync.name if (sync.variant or "base") == "base" else f"{sync.name}::{sync.variant}"


def _when(value: str | None) -> str:
    if not value:
        return "—"
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M")


def _latest(sync: SyncStatus) -> str:
    parts = []
    for model, result in (sync.latestResult or {}).items():
        if isinstance(result, dict):
            parts.append(
                f"{model}: +{result.get('added', 0)} ~{result.get('updated', 0)} −{result.get('deleted', 0)}"
            )
    return ", ".join(parts) or "—"


class SyncControlTab(QWidget):
    """``set_connection`` then ``refresh``; ``syncsLoaded`` carries the statuses (the Records tab's models)."""

    syncsLoaded = Signal(object)  # list[SyncStatus]

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workbenchSyncs")
        self.ctx = ctx
        self.connection_id: str | None = None
        self.integration_id: str | None = None
        self.syncs: list[SyncStatus] = []
        self._seq = 0

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.view = QTableView()
        self.view.setObjectName("syncsTable")
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setWordWrap(False)
        self.busy = BusyBar(self)
        self.message = QLabel("")
        self.message.setObjectName("syncsMessage")
        self.message.setWordWrap(True)
        self.message.hide()

        def button(name: str, text: str, icon: str, slot: Any, tip: str) -> QPushButton:
            b = QPushButton(icons.icon(icon), text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            return b

        self.refresh_button = button(
            "syncsRefresh", "Refresh", "refresh", self.refresh, "Reload the sync status"
        )
        self.trigger_button = button(
            "syncsTrigger",
            "Trigger",
            "play",
            lambda: self.command("incremental"),
            "Run the selected syncs now (incremental)",
        )
        self.full_button = button(
            "syncsFullRefresh",
            "Full refresh",
            "play",
            lambda: self.command("full_refresh"),
            "Run the selected syncs from scratch",
        )
        self.pause_button = button(
            "syncsPause",
            "Pause",
            "stop",
            lambda: self.command("pause"),
            "Pause the schedule of the selected syncs",
        )
        self.start_button = button(
            "syncsStart",
            "Start",
            "play",
            lambda: self.command("start"),
            "Start (resume) the schedule of the selected syncs",
        )
        self.frequency_button = button(
            "syncsFrequency",
            "Frequency…",
            "edit",
            self.change_frequency,
            "Override the frequency for this connection",
        )
        buttons = QHBoxLayout()
        for b in (
            self.trigger_button,
            self.full_button,
            self.pause_button,
            self.start_button,
            self.frequency_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.view, 1)

    # -- state ---------------------------------------------------------------------------------------------
    def set_connection(self, connection_id: str | None, integration_id: str | None) -> None:
        if (connection_id, integration_id) != (self.connection_id, self.integration_id):
            self.connection_id, self.integration_id = connection_id, integration_id
            self._seq += 1
            self.show_syncs([])

    @property
    def production(self) -> bool:
        profile = getattr(self.ctx, "profile", None)
        return bool(profile is not None and profile.production)

    @Slot()
    def refresh(self) -> None:
        if self.connection_id is None or self.integration_id is None:
            return
        seq = self._begin("Loading sync status…")
        ops.load_syncs(
            self.ctx.session,
            self.connection_id,
            self.integration_id,
            on_done=lambda syncs: self._loaded(seq, syncs),
            on_error=lambda exc: self._failed(seq, exc),
        )

    def _begin(self, message: str) -> int:
        self._seq += 1
        self.busy.start(message)
        self._note("")
        return self._seq

    def _loaded(self, seq: int, syncs: list[SyncStatus], note: str = "") -> None:
        if seq != self._seq:
            return
        self.busy.finish()
        self.show_syncs(syncs)
        if note:
            self._note(note)
        self.syncsLoaded.emit(syncs)

    def _failed(self, seq: int, exc: BaseException) -> None:
        if seq != self._seq:
            return
        self.busy.finish()
        self._note(f"{getattr(exc, 'title', exc)}\n{getattr(exc, 'detail', '')}".strip())

    def show_syncs(self, syncs: list[SyncStatus]) -> None:
        selected = set(self.selected())
        self.syncs = list(syncs)
        self.model.removeRows(0, self.model.rowCount())
        for sync in syncs:
            counts = ", ".join(
                f"{m}: {n:,}" if isinstance(n, int) else f"{m}: {n}"
                for m, n in (sync.recordCount or {}).items()
            )
            cells = [
                sync_label(sync),
                (sync.status or "").capitalize(),
                sync.frequency or "—",
                _when(sync.finishedAt),
                _when(sync.nextScheduledSyncAt),
                counts or "—",
                _latest(sync),
            ]
            items = [QStandardItem(c) for c in cells]
            color = STATUS_COLORS.get((sync.status or "").upper())
            if color:
                items[1].setForeground(QColor(icons.STATUS_COLORS[color]))
                items[1].setIcon(
                    icons.icon({"error": "error", "warning": "warning", "ok": "ok"}[color], color)
                )
            self.model.appendRow(items)
        self.view.resizeColumnsToContents()
        for row, sync in enumerate(syncs):
            if sync_label(sync) in selected:
                self.view.selectRow(row)
        enabled = bool(syncs)
        for b in (
            self.trigger_button,
            self.full_button,
            self.pause_button,
            self.start_button,
            self.frequency_button,
        ):
            b.setEnabled(enabled)
        if not syncs and self.connection_id:
            self._note("No syncs for this connection.")

    def _note(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def selected(self) -> list[str]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.model.item(r, 0).text() for r in rows]

    def targets(self) -> list[str]:
        return self.selected() or [sync_label(s) for s in self.syncs]

    # -- commands -----------------------------------------------------------------------------------------
    def command(self, command: str) -> None:
        """ "incremental", "full_refresh", "pause" or "start" on the selected syncs (all when none)."""
        if self.connection_id is None or self.integration_id is None or not self.syncs:
            return
        names = self.targets()
        verbs = {
            "incremental": "Trigger",
            "full_refresh": "Full refresh of",
            "pause": "Pause",
            "start": "Start",
        }
        if command != "incremental" and self.production:
            if not confirm_change(
                self,
                f"{verbs[command]} syncs on production",
                f"{verbs[command]} {', '.join(names)} for connection {self.connection_id}?",
                production=True,
                connection_id=self.connection_id,
            ):
                return
        seq = self._begin(f"{verbs[command]} {', '.join(names)}…")
        note = {
            "incremental": "Triggered",
            "full_refresh": "Full refresh triggered for",
            "pause": "Paused",
            "start": "Started",
        }[command]
        ops.sync_command(
            self.ctx.session,
            command,
            self.connection_id,
            self.integration_id,
            names,
            on_done=lambda syncs: self._loaded(seq, syncs, f"{note} {', '.join(names)}."),
            on_error=lambda exc: self._failed(seq, exc),
        )

    @Slot()
    def change_frequency(self, frequency: str | None = None, sync: str | None = None) -> None:
        if self.connection_id is None or self.integration_id is None or not self.syncs:
            return
        sync = sync or (self.selected() or [sync_label(self.syncs[0])])[0]
        current = next((s.frequency for s in self.syncs if sync_label(s) == sync), "") or ""
        if frequency is None:
            text, ok = QInputDialog.getText(
                self,
                "Sync frequency",
                f"Frequency of {sync} for {self.connection_id} (e.g. “every 2 hours”, “30m”; empty = the default):",
                text=current,
            )
            if not ok:
                return
            frequency = text
        value = frequency.strip() or None
        if self.production and not confirm_change(
            self,
            "Change the frequency on production",
            f"Set {sync} to {value or 'its default frequency'} for connection {self.connection_id}?",
            production=True,
            connection_id=self.connection_id,
        ):
            return
        seq = self._begin("Changing the frequency…")
        ops.set_frequency(
            self.ctx.session,
            self.connection_id,
            self.integration_id,
            sync,
            value,
            on_done=lambda syncs: self._loaded(seq, syncs, f"{sync}: {value or 'default frequency'}."),
            on_error=lambda exc: self._failed(seq, exc),
        )
