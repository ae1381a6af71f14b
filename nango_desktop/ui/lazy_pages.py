"""Pages built when first shown: the window paints its shell and the start page only.

``LazyPages`` is the main window's ``pages`` mapping (key -> page widget). The stack holds an empty
stand-in per page until the page is first shown or looked up; then the page is built (``build(key)``), put in
the stand-in's place and the stand-in deleted. Looking a page up always gives the real page, so shortcuts,
navigation and code that reaches a page by key behave as if every page had been built at start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from PySide6.QtWidgets import QStackedWidget, QWidget

log = logging.getLogger(__name__)


class LazyPages(Mapping[str, QWidget]):
    def __init__(self, stack: QStackedWidget, keys: Sequence[str], build: Callable[[str], QWidget]) -> None:
        self._stack = stack
        self._keys = list(keys)
        self._build = build
        self._built: dict[str, QWidget] = {}
        for key in self._keys:
            stand_in = QWidget(stack)
            stand_in.setObjectName(f"{key}PagePending")
            stack.addWidget(stand_in)

    def __getitem__(self, key: str) -> QWidget:
        page = self._built.get(key)
        if page is None:
            if key not in self._keys:
                raise KeyError(key)
            page = self._create(key)
        return page

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def is_built(self, key: str) -> bool:
        return key in self._built

    def built(self) -> dict[str, QWidget]:
        """The pages built so far, by key."""
        return dict(self._built)

    def _create(self, key: str) -> QWidget:
        index = self._keys.index(key)
        t0 = time.perf_counter()
        page = self._build(key)
        self._built[key] = page
        stand_in = self._stack.widget(index)
        was_current = self._stack.currentIndex() == index
        self._stack.insertWidget(index, page)
        if was_current:
            self._stack.setCurrentIndex(index)
        if stand_in is not None and stand_in is not page:
            self._stack.removeWidget(stand_in)
            stand_in.deleteLater()
        log.debug("Page %s built in %.0f ms", key, (time.perf_counter() - t0) * 1000)
        return page
