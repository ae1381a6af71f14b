"""The main window's webhook-listener status: the current profile's listener in the status bar
(``statusListener``) and its Start/Stop action, every other running listener (``statusListeners``), the
listeners set to start with the app, and a listener error in the banner (withdrawn once it listens again).

A mixin of ``MainWindow``: it uses the window's ``ctx``, ``status_listener``, ``status_listeners``,
``error_banner``, ``action_toggle_listener`` and its ``_bound`` tracker for the current listener.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Slot

from nango_desktop.ui import icons

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLabel

    from nango_desktop.session.binding import SignalTracker
    from nango_desktop.ui.context import AppContext
    from nango_desktop.ui.widgets import ErrorBanner

LISTENER_ERROR_TITLE = "The webhook listener stopped with an error"


class ListenerStatus:
    ctx: AppContext
    status_listener: QLabel
    status_listeners: QLabel
    error_banner: ErrorBanner
    action_toggle_listener: QAction
    _bound: SignalTracker
    _listener: Any
    _listener_state: str
    _listeners_started: bool

    def start_listeners(self) -> None:
        """After the first paint (deferred start): the listeners set to start with the app, and the current
        profile's listener in the status bar (their HTTP stack and event stores load here, not before)."""
        if self._listeners_started:
            return
        self._listeners_started = True
        self._start_enabled_listeners()
        self._connect_listener()

    def _start_enabled_listeners(self) -> None:
        """ "Start with the app" is per profile: every profile whose listener is enabled starts now, the
        current one or not (each on its own port)."""
        current = self.ctx.profile.name if self.ctx.profile is not None else None
        for profile in self.ctx.settings.profiles:
            if profile.listener.enabled and profile.name != current:
                listener = self.ctx.listener_registry.listener_for(profile.name)
                if listener is not None and listener.state != "listening":
                    listener.start()

    @Slot()
    def _update_listeners_label(self) -> None:
        """The status bar lists every running listener; the current profile's is in statusListener."""
        current = self.ctx.profile.name if self.ctx.profile is not None else None
        others = {n: c for n, c in self.ctx.listener_registry.running().items() if n != current}
        if not others:
            self.status_listeners.hide()
            self.status_listeners.setText("")
            return
        parts = [f"{name} :{_port_of(c.url or c.message)}" for name, c in sorted(others.items())]
        self.status_listeners.setText("Also listening: " + ", ".join(parts))
        self.status_listeners.setToolTip(
            "\n".join(f"{n}: {c.url or c.message}" for n, c in sorted(others.items()))
        )
        self.status_listeners.setStyleSheet(f"color: {icons.STATUS_COLORS['ok']};")
        self.status_listeners.show()

    def _connect_listener(self) -> None:
        session = self.ctx.session
        listener = session.listener if session is not None else None
        if listener is self._listener:
            return
        self._bound.disconnect_all()
        self._listener = listener
        self._update_listeners_label()
        if listener is None:
            self._on_listener_state("unavailable" if self.ctx.profile is not None else "stopped", "")
            return
        self._bound.track(listener.stateChanged, self._on_listener_state)
        self._on_listener_state(listener.state, getattr(listener, "message", ""))
        profile = session.profile if session is not None else None
        if profile is not None and profile.listener.enabled and listener.state != "listening":
            listener.start()  # "start with the app" (errors arrive through stateChanged)

    @Slot(str, str)
    def _on_listener_state(self, state: str, message: str) -> None:
        self._listener_state = state
        text = {
            "listening": f"Listener: listening on {message}" if message else "Listener: listening",
            "stopped": "Listener: stopped",
            "error": "Listener: error",
            "unavailable": "Listener: not available",
        }.get(state, f"Listener: {state}")
        self.status_listener.setText(text)
        self.status_listener.setToolTip(message)
        color = {"listening": "ok", "error": "error"}.get(state)
        self.status_listener.setStyleSheet(f"color: {icons.STATUS_COLORS[color]};" if color else "")
        running = state == "listening"
        if running:  # whatever stopped it is fixed: its error no longer belongs in the banner
            self.error_banner.withdraw(LISTENER_ERROR_TITLE)
        self.action_toggle_listener.setText(
            "Stop webhook &listener" if running else "Start webhook &listener"
        )
        self.action_toggle_listener.setIcon(icons.icon("stop" if running else "play"))
        if state == "error" and message:
            self.ctx.show_message_error(LISTENER_ERROR_TITLE, message)

    @Slot()
    def toggle_listener(self) -> None:
        self._connect_listener()
        if self._listener is None:
            self.ctx.show_message_error(
                "The webhook listener is not available", "No profile or no event store."
            )
            return
        if self._listener_state == "listening":
            self._listener.stop()
        else:
            self._listener.start()


def _port_of(url: str) -> str:
    """ "http://127.0.0.1:8766/webhooks/nango" -> "8766" (the URL itself when it has no port)."""
    from urllib.parse import urlsplit

    try:
        port = urlsplit(url).port
    except ValueError:
        port = None
    return str(port) if port else url
