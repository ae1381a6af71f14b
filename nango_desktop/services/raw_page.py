"""One page of GET /connections as plain dicts, checked, with the array's text kept (``json`` output of the
CLI writes the rows back out without re-encoding). Split out of services/api.py."""

from __future__ import annotations

import json
import json.scanner
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from nango_desktop.services.errors import MalformedResponseError
from nango_desktop.services.gcpause import gc_paused
from nango_desktop.services.gil_priority import yield_to_gui

if TYPE_CHECKING:
    from nango_desktop.domain.connection_rows import ConnectionRow

YIELD_EVERY = 50  # rows built between two releases of the GIL (a page of 1,000 is ~10 ms of Python)
_RAW_REQUIRED = (("id", int), ("connection_id", str), ("provider", str), ("provider_config_key", str),
                 ("created", str))  # fmt: skip
_WS = re.compile(r"[ \t\n\r]*")
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # scan_once(text, i) -> (v, end)


_gentle = threading.local()  # .on: scan the array object by object, letting other threads take the GIL


def gentle_parsing(on: bool = True) -> None:
    """For the calling thread (a loading worker that shares the GIL with the GUI thread): parse a page's
    ``connections`` array one object at a time, releasing the GIL every ``YIELD_EVERY`` objects, instead of in
    one C call of several ms (longer when the thread is descheduled while holding it). ~2 ms more CPU per page
    of 1,000: the CLI keeps the single call."""
    _gentle.on = on


def _scan_array(text: str, i: int) -> tuple[list, int]:
    """``_SCAN(text, i)`` for the array starting at ``text[i]``, one element per C call (same result)."""
    ws = cast(Callable[[str, int], re.Match[str]], _WS.match)
    items: list = []
    i = ws(text, i + 1).end()
    if text[i] == "]":
        return items, i + 1
    while True:
        value, i = _SCAN(text, i)
        items.append(value)
        if len(items) % YIELD_EVERY == 0:
            yield_to_gui()
        i = ws(text, i).end()
        if text[i] == "]":
            return items, i + 1
        if text[i] != ",":
            raise ValueError(f"expected ',' or ']' at {i}")
        i = ws(text, i + 1).end()


class RawPage(list):
    """One page of connections as plain dicts (``json`` output, no model), with ``text``: the page's
    ``connections`` array as the server sent it, without its brackets, to be written out without
    re-encoding. A page narrowed afterwards (rows dropped) is a plain list again."""

    text: str = ""


def raw_connections(body: bytes, *, status: int = 200) -> RawPage:
    """The ``connections`` of a GET /connections body as a :class:`RawPage`: one ``json`` parse in C, no
    model built, and the array's text kept so it can be written out again without re-encoding.

    Checked as much as a listing relies on: an object with a list of objects, each with the required
    fields of the right type; anything else raises MalformedResponseError."""

    def malformed(why: str) -> MalformedResponseError:
        return MalformedResponseError(detail=f"GET /connections -> HTTP {status}: {why}", status=status)

    try:
        text = body.decode("utf-8")
        with gc_paused():
            rows = _scan_connections(text)
    except (ValueError, StopIteration, IndexError) as exc:
        raise malformed(f"invalid JSON ({type(exc).__name__}: {exc})") from None
    if rows is None:
        raise malformed("no connections list")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise malformed(f"connections.{index}: not an object")
        for name, kind in _RAW_REQUIRED:
            value = row.get(name)
            if type(value) is not kind:
                raise malformed(f"connections.{index}.{name}: {'missing' if value is None else 'wrong type'}")
    return rows


def _scan_connections(text: str) -> RawPage | None:
    """The top-level object's ``connections`` array (with its text); None if the body is an object
    without such an array. Raises ValueError/StopIteration on invalid JSON."""
    ws = cast(Callable[[str, int], re.Match[str]], _WS.match)  # always matches (zero width at least)
    i = ws(text, 0).end()
    if text[i] != "{":
        return None
    i = ws(text, i + 1).end()
    found: RawPage | None = None
    if text[i] == "}":
        return None
    while True:
        if text[i] != '"':
            raise ValueError(f"expected a key at {i}")
        key, i = _SCAN(text, i)
        i = ws(text, i).end()
        if text[i] != ":":
            raise ValueError(f"expected ':' at {i}")
        i = ws(text, i + 1).end()
        if key == "connections" and text[i] == "[":
            value, end = _scan_array(text, i) if getattr(_gentle, "on", False) else _SCAN(text, i)
            found = RawPage(value)
            found.text = text[i + 1 : end - 1].strip()
        else:
            value, end = _SCAN(text, i)
        i = ws(text, end).end()
        if text[i] == "}":
            if ws(text, i + 1).end() != len(text):
                raise ValueError("extra data after the object")
            return found
        if text[i] != ",":
            raise ValueError(f"expected ',' or '}}' at {i}")
        i = ws(text, i + 1).end()


def connection_rows(page: list[dict], *, status: int = 200) -> list[ConnectionRow]:
    """The compact rows of one page of plain dicts (:func:`raw_connections`), for the connections table and
    the session's list: no model built. Each row's full model comes later from the page's JSON, kept
    compressed (a :class:`RawPage` with its text), or from the row's own JSON (a narrowed page). A row whose
    optional fields have an unusual shape is validated by the model now, as a model listing would: a bad
    one raises MalformedResponseError naming the field. Runs on a loading worker: every ``YIELD_EVERY`` rows it
    lets the GUI thread take the GIL (each of its Qt callbacks needs it; ~10 ms of Python per page held it up).
    """
    from pydantic import ValidationError  # not on the CLI's lean path (this module's listing needs neither)

    from nango_desktop.domain.connection_rows import PageSource, is_plain, row_of_connection, row_of_mapping
    from nango_desktop.domain.models import Connection

    text = page.text if isinstance(page, RawPage) and page.text else None
    source = PageSource(text) if text is not None else None
    rows = []
    for index, item in enumerate(page):
        if index % YIELD_EVERY == 0:
            yield_to_gui()  # a waiting GUI thread takes the GIL now (or ends its repaint) before we go on
        if not is_plain(item):
            try:
                rows.append(row_of_connection(Connection.model_validate(item)))
            except ValidationError as exc:
                problems = "; ".join(
                    f"connections.{index}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                    for e in exc.errors(include_input=False)[:5]
                )
                raise MalformedResponseError(
                    detail=f"GET /connections -> HTTP {status}: {problems}", status=status
                ) from None
            continue
        if source is None:
            rows.append(row_of_mapping(item, json.dumps(item, ensure_ascii=False, separators=(",", ":"))))
        else:
            rows.append(row_of_mapping(item, source, index))
    return rows
