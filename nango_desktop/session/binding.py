"""Connections to per-profile objects, recorded so that one call drops them all (Vorta ``base_tab``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import SignalInstance

log = logging.getLogger(__name__)


class SignalTracker:
    """``track(signal, slot)`` connects and remembers; ``disconnect_all()`` drops every tracked connection.

    A page binds to the objects of the current profile (listener, tracker, stores) through ``track`` and calls
    ``disconnect_all()`` before binding to the next profile's, instead of detaching each one by hand.
    """

    def __init__(self) -> None:
        self._tracked: list[tuple[SignalInstance, Callable[..., Any]]] = []
        self._target: Any = None
        self._tracked_target_set = False

    def track(self, signal: SignalInstance, slot: Callable[..., Any]) -> None:
        signal.connect(slot)
        self._tracked.append((signal, slot))

    def rebind(self, *pairs: tuple[SignalInstance, Callable[..., Any]]) -> None:
        """Drop every tracked connection, then track ``(signal, slot)`` pairs (the next session's objects)."""
        self.disconnect_all()
        for signal, slot in pairs:
            self.track(signal, slot)

    def follow(self, target: Any, pairs: Callable[[Any], Iterable[tuple[SignalInstance, Callable[..., Any]]]]) -> bool:
        """Bind to ``target`` (e.g. the current profile's listener) through ``pairs(target)``, dropping the
        bindings to the previous one; nothing when ``target`` is already the followed one; ``None`` only drops.
        True when the followed object changed."""
        if self._tracked_target_set and target is self._target:
            return False
        self._target, self._tracked_target_set = target, True
        self.rebind(*(pairs(target) if target is not None else ()))
        return True

    @property
    def target(self) -> Any:
        """The object ``follow`` binds to (None before the first call)."""
        return self._target

    def disconnect_all(self) -> None:
        tracked, self._tracked = self._tracked, []
        for signal, slot in tracked:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):  # the sender was deleted or is already disconnected
                log.debug("Signal already disconnected: %r", signal)

    def __len__(self) -> int:
        return len(self._tracked)
