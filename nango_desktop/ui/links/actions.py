"""Entry points for the rest of the GUI: ``new_link(ctx, parent, prefill)`` and ``reconnect_links(ctx, parent, conns)``.

``AppContext.request_new_link`` / ``request_reconnect_links`` call these. New links go through
:class:`NewLinkDialog`; one connection gets its reconnect link at once (its current tags read first);
several open :class:`BulkReconnectDialog`. Every issued link opens a non-modal :class:`LinkResultDialog`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QDialog, QWidget

from nango_desktop.services.links import IssuedLink
from nango_desktop.session import links as link_ops
from nango_desktop.session.link_tracker import tracker_for
from nango_desktop.ui.links.bulk import BulkReconnectDialog
from nango_desktop.ui.links.dialog import NewLinkDialog
from nango_desktop.ui.links.result import LinkResultDialog

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

_OPEN: set[QDialog] = set()  # parentless dialogs must outlive the caller's reference


def _keep(dialog: QDialog) -> QDialog:
    """Hold a reference to a parentless dialog until it is closed."""
    if dialog.parent() is None:
        _OPEN.add(dialog)
        dialog.finished.connect(lambda _code: _OPEN.discard(dialog))
    return dialog


def show_result(ctx: AppContext, parent: QWidget | None, issued: IssuedLink) -> LinkResultDialog:
    dialog = LinkResultDialog(tracker_for(ctx), issued.record, issued.url, parent)
    _keep(dialog).show()
    dialog.raise_()
    return dialog


def new_link(ctx: AppContext, parent: QWidget | None, prefill: Mapping[str, Any] | None = None) -> NewLinkDialog:
    """Open the new-link dialog (non-modal); the result view opens when the link is created."""
    dialog = NewLinkDialog(ctx, tracker_for(ctx), prefill, parent)
    dialog.linkIssued.connect(lambda issued: show_result(ctx, parent, issued))
    dialog.finished.connect(dialog.deleteLater)
    _keep(dialog).open()
    return dialog


def reconnect_links(ctx: AppContext, parent: QWidget | None, connections: Sequence[Any]) -> QDialog | None:
    """One connection: create its reconnect link now and show it. Several: the bulk dialog."""
    connections = list(connections)
    if not connections:
        return None
    tracker = tracker_for(ctx)
    if len(connections) > 1:
        dialog = BulkReconnectDialog(ctx, tracker, connections, parent)
        dialog.finished.connect(dialog.deleteLater)
        _keep(dialog).open()
        return dialog

    def done(issued: IssuedLink) -> None:
        tracker.add(issued)
        show_result(ctx, parent, issued)

    op = link_ops.reconnect_link(ctx.session, tracker, connections[0])
    op.success(done).failure(lambda exc: ctx.show_error(exc, parent)).run()
    return None
