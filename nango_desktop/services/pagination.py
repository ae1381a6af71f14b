"""Guard against pagination that never ends (issue 18).

Nango's GET /connections has no total and no cursor: the client pages until a short page. A server (or a
proxy in front of it) that answers every page full, forever, would keep a listing running without bound and
growing memory. :class:`PageGuard` stops it with a clear :class:`EndlessPaginationError` when

- a full page holds only rows already seen (the server ignores ``page`` or repeats itself),
- a page holds more rows than asked for (the server ignores ``limit``),
- the offset ``page * limit`` passes what the server itself can address (a 32-bit signed offset), or
- the row ceiling is reached (``--max-rows`` / the profile's ``max_connection_rows``; 0 = no ceiling).

Rows already received stay with the caller: the error is raised after the pages before it were yielded.
"""

from __future__ import annotations

from nango_desktop.services.errors import NangoError

# Default row ceiling: far above any real environment listed by this app, low enough that a runaway listing
# stops before it takes the machine's memory (~1 KiB per connection row in the GUI).
DEFAULT_MAX_ROWS = 500_000
# Nango computes the offset as page * limit in a signed 32-bit integer parameter.
MAX_SERVER_OFFSET = 2**31 - 1


class EndlessPaginationError(NangoError):
    default_title = "The server's pages never end; the listing was stopped"


class PageGuard:
    """Checks each page of a listing; raises :class:`EndlessPaginationError` when it must stop."""

    def __init__(self, page_size: int, *, max_rows: int | None = DEFAULT_MAX_ROWS, what: str = "connections"):
        self.page_size = page_size
        self.max_rows = max_rows or None
        self.what = what
        self.rows = 0

    def check(self, page: int, received: int, fresh: int) -> None:
        """``page``: index of the page just received; ``received``: its rows; ``fresh``: rows not seen before
        (after dropping the few an offset shift repeats). Call before yielding the page's fresh rows."""
        self.rows += fresh
        loaded = f"{self.rows:,} {self.what} loaded from {page + 1:,} page(s)"
        if received > self.page_size:
            raise EndlessPaginationError(
                f"The server sent more {self.what} than asked for; the listing was stopped",
                f"page {page}: {received:,} rows for limit={self.page_size:,}; {loaded}",
            )
        if received >= self.page_size and fresh == 0:
            raise EndlessPaginationError(
                f"The server repeats the same page of {self.what}; the listing was stopped",
                f"page {page} holds only rows of earlier pages (the server may ignore 'page'); {loaded}",
            )
        if received >= self.page_size and (page + 1) * self.page_size > MAX_SERVER_OFFSET:
            raise EndlessPaginationError(
                None,
                f"page {page + 1} would start at offset {(page + 1) * self.page_size:,}, past the server's "
                f"limit ({MAX_SERVER_OFFSET:,}); {loaded}",
            )
        if self.max_rows is not None and self.rows >= self.max_rows and received >= self.page_size:
            raise EndlessPaginationError(
                f"Stopped at the row ceiling of {self.max_rows:,} {self.what}",
                f"{loaded}; to list more raise the ceiling: the profile's Row ceiling (File → Edit profile; "
                "max_connection_rows, `profile add --max-connection-rows`) or --max-rows; 0 = none",
            )
