"""The page registry: one ``PageSpec`` line per page of the main window (navigation entry, Ctrl+N shortcut in
this order, ``ctx.navigate`` name). Pages are named by module so the UI root imports no feature folder; a page is
imported and built when first shown (``ui.lazy_pages``), and one that fails to import or build becomes a
``PlaceholderPage`` saying why.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from nango_desktop.ui.widgets import PlaceholderPage

if TYPE_CHECKING:
    from nango_desktop.ui.context import AppContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageSpec:
    key: str  # ctx.navigate() name
    title: str
    icon: str
    module: str
    cls: str


PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec("overview", "Overview", "overview", "nango_desktop.ui.overview.page", "OverviewPage"),
    PageSpec(
        "connections", "Connections", "connections", "nango_desktop.ui.connections.page", "ConnectionsPage"
    ),
    PageSpec("endusers", "End users", "users", "nango_desktop.ui.endusers.page", "EndUsersPage"),
    PageSpec("links", "Links", "link", "nango_desktop.ui.links.page", "LinksPage"),
    PageSpec("webhooks", "Webhooks", "webhook", "nango_desktop.ui.webhooks.page", "WebhooksPage"),
    PageSpec(
        "integrations",
        "Integrations",
        "folder",
        "nango_desktop.ui.workbench.integrations",
        "IntegrationsPage",
    ),
)

PAGES: tuple[str, ...] = tuple(spec.key for spec in PAGE_SPECS)


def build_page(spec: PageSpec, ctx: AppContext) -> QWidget:
    """Construct a page, or a PlaceholderPage explaining why it is not available."""
    try:
        module = importlib.import_module(spec.module)
        page = getattr(module, spec.cls)(ctx)
    except Exception as exc:  # noqa: BLE001 - a broken page must not stop the app
        log.warning("Page %s unavailable: %r", spec.key, exc, exc_info=not isinstance(exc, ImportError))
        page = PlaceholderPage(spec.title, f"{type(exc).__name__}: {exc}")
    if not page.objectName():
        page.setObjectName(f"{spec.key}Page")
    return page
