"""Nango Desktop: a desktop admin tool for Nango environments."""

__version__ = "0.1.0"
APP_NAME = "Nango Desktop"
APP_ID = "dev.nango.desktop"


def _skip_httpx_cli() -> None:
    """httpx imports its command-line client (click, rich, pygments: ~45 ms) whenever those happen to be
    installed; the app never uses it. A None entry in ``sys.modules`` makes that optional import fail at
    once (httpx then defines a stub ``main``), keeping it off every CLI command's and the GUI's start."""
    import sys

    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment,arg-type]


_skip_httpx_cli()
