"""RecentEventsWidget: the latest webhook events of one connection, for the connection detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nango_desktop.domain.events import EventFilter, StoredEvent
from nango_desktop.services.signing import VerificationStatus
from nango_desktop.ui.webhooks import model as m

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext


class RecentEventsWidget(QWidget):
    """The latest webhook events of one connection (for the connection detail). Click opens the inspector."""

    LIMIT = 20

    def __init__(self, ctx: AppContext, connection_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recentWebhookEvents")
        self._ctx = ctx
        self.connection_id = connection_id
        self.list = QListWidget()
        self.list.setObjectName("recentWebhookEventsList")
        self.list.itemClicked.connect(self._open)
        self.empty = QLabel("No webhooks received for this connection yet.")
        self.empty.setObjectName("recentWebhookEventsEmpty")
        self.empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        self._session = ctx.session  # the profile current when the detail opened this connection
        listener = self._session.listener if self._session is not None else None
        if listener is not None:
            listener.eventsReceived.connect(self._on_events)
        self.refresh()

    def refresh(self) -> None:
        session = self._session
        store = session.event_store if session is not None else None
        if session is None or store is None:
            self._show([])
            return
        flt = EventFilter(connection_id=self.connection_id)
        session.run(store.list, self.LIMIT, 0, flt, on_done=self._show)

    def _show(self, events: list[StoredEvent]) -> None:
        self.list.clear()
        for event in events:
            self._add(event, at_top=False)
        self._update_empty()

    def _add(self, event: StoredEvent, *, at_top: bool) -> None:
        item = QListWidgetItem(m.event_summary_line(event))
        item.setData(m.EventIdRole, event.id)
        item.setToolTip(event.verification.describe())
        color = m.SIGNATURE_COLOR.get(event.verification.status)
        if event.summary is not None and event.summary.success is False:
            color = m.FAILURE_COLOR
        if color is not None and color != m.SIGNATURE_COLOR.get(VerificationStatus.VERIFIED):
            item.setForeground(color)
        if at_top:
            self.list.insertItem(0, item)
            while self.list.count() > self.LIMIT:
                self.list.takeItem(self.list.count() - 1)
        else:
            self.list.addItem(item)

    def _update_empty(self) -> None:
        self.empty.setVisible(self.list.count() == 0)
        self.list.setVisible(self.list.count() > 0)

    @Slot(object)
    def _on_events(self, batch: object) -> None:
        mine = [
            e
            for e, duplicate in batch  # type: ignore[attr-defined]
            if not duplicate and e.summary is not None and e.summary.connection_id == self.connection_id
        ]
        for event in mine:
            self._add(event, at_top=True)
        if mine:
            self._update_empty()

    @Slot(QListWidgetItem)
    def _open(self, item: QListWidgetItem) -> None:
        self._ctx.navigate("webhooks", event_id=item.data(m.EventIdRole))
