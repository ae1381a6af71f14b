"""Compact rows of the connection list (Qt-free): what the table, its filter and the list's readers need.

100,000 pydantic ``Connection`` models cost ~2 KB each (a ``__dict__``, a fields-set, an extra dict and nested
models per row); the table's display rows built from them cost as much again. A :class:`ConnectionRow` is one
tuple of interned strings and a few precomputed values (~0.7 KB with its unique strings), built from the page's
plain dicts on the loading worker. The full model is built only when someone asks for it
(:meth:`ConnectionRow.connection`: the selected connection, a tooltip, an export), from the server's JSON kept
compressed per page (:class:`PageSource`), or is the model the row was built from (``row_of_connection``).

A row reads like a ``Connection`` for what the list's readers use (``connection_id``, ``provider_config_key``,
``provider``, ``created``, ``status``, ``customer``, ``has_auth_error``, ``id``); anything else
(``errors``, ``metadata``, ``tags``...) is read from the full model.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from nango_desktop.domain import tags as _tags
from nango_desktop.domain.dates import parse_datetime
from nango_desktop.domain.natsort import natural_key
from nango_desktop.domain.tags import CustomerInfo, legacy_end_user_tags

if TYPE_CHECKING:
    from nango_desktop.domain.models import Connection

Key = tuple[str, str]  # (connection_id, integration_id)

STATUS_ORDER = {"auth_error": 0, "sync_error": 1, "ok": 2}
STATUS_TEXT = {"auth_error": "Auth error", "sync_error": "Sync error", "ok": "OK"}

# field numbers of a ConnectionRow
(CID, INTEGRATION, CUSTOMER, EMAIL, ORGANIZATION, STATUS, TIMESTAMP, HAYSTACK, TAGS, CREATED_RAW, ID,
 PROVIDER, END_USER_ID, DISPLAY_NAME, ORGANIZATION_ID, ORGANIZATION_NAME, HAS_ERRORS, CUSTOMER_KEY, SOURCE,
 SOURCE_INDEX) = range(20)  # fmt: skip

# table columns (the Connections table's order)
COLUMNS = ("Customer", "Email", "Organization", "Integration", "Connection ID", "Created", "Status")
(COL_CUSTOMER, COL_EMAIL, COL_ORGANIZATION, COL_INTEGRATION, COL_CONNECTION_ID, COL_CREATED, COL_STATUS) = (
    range(7)
)

_T_ID, _T_EMAIL, _T_NAME = _tags.END_USER_ID, _tags.END_USER_EMAIL, _tags.END_USER_DISPLAY_NAME
_T_ORG_ID, _T_ORG_NAME = _tags.ORGANIZATION_ID, _tags.ORGANIZATION_DISPLAY_NAME
_NO_TAGS: dict[str, str] = {}  # shared by every row without tags (never mutated)
_intern = sys.intern


def local_minutes(timestamp: float) -> str:
    """``time.localtime`` (DST-aware) formatted by hand: several times faster than astimezone + strftime."""
    t = time.localtime(timestamp)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}"


def created_text(parsed: datetime | None, raw: str) -> str:
    if parsed is None:
        return raw
    if parsed.tzinfo is None:
        return f"{parsed:%Y-%m-%d %H:%M}"
    return local_minutes(parsed.timestamp())


def format_created(value: str) -> str:
    """Local time, minutes precision ("2026-03-04 06:07"); the raw text when it is not ISO 8601."""
    return created_text(parse_datetime(value), value)


class PageSource:
    """The JSON text of one page's ``connections`` array, compressed (~6x): the rows of that page build their
    full model from it on demand. Decompressing and parsing a page takes a few ms (a click, not a paint)."""

    __slots__ = ("_blob",)

    def __init__(self, array_text: str) -> None:
        self._blob = zlib.compress(array_text.encode("utf-8"), 1)

    def items(self) -> list[dict[str, Any]]:
        return json.loads(b"[" + zlib.decompress(self._blob) + b"]")  # type: ignore[no-any-return]


class ConnectionRow(tuple):
    """One connection, compact (see the module docstring). Build with :func:`row_of_mapping` or
    :func:`row_of_connection`; compare with ``==`` (field by field)."""

    __slots__ = ()

    connection_id = property(itemgetter(CID))
    provider_config_key = property(itemgetter(INTEGRATION))
    integration_id = provider_config_key
    status = property(itemgetter(STATUS))
    timestamp = property(itemgetter(TIMESTAMP))
    haystack = property(itemgetter(HAYSTACK))
    created = property(itemgetter(CREATED_RAW))
    id = property(itemgetter(ID))
    provider = property(itemgetter(PROVIDER))

    def __getnewargs__(self) -> tuple[tuple[Any, ...]]:  # pickled as a plain tuple of fields
        return (tuple(self),)

    @property
    def key(self) -> Key:
        return (self[CID], self[INTEGRATION])

    @property
    def customer(self) -> CustomerInfo:
        return CustomerInfo(self[END_USER_ID], self[EMAIL] or None, self[DISPLAY_NAME], self[ORGANIZATION_ID],
                            self[ORGANIZATION_NAME])  # fmt: skip

    @property
    def errors(self) -> list[Any]:
        """The connection's errors (from the full model when it has any: prefer ``has_errors`` to test)."""
        return self.connection().errors if self[HAS_ERRORS] else []

    @property
    def has_errors(self) -> bool:
        return self[HAS_ERRORS]  # type: ignore[no-any-return]

    @property
    def has_auth_error(self) -> bool:
        return self[STATUS] == "auth_error"

    @property
    def created_text(self) -> str:
        return format_created(self[CREATED_RAW])

    def cell(self, column: int) -> str:
        """The display text of one table column."""
        if column == COL_CREATED:
            return format_created(self[CREATED_RAW])
        if column == COL_STATUS:
            return STATUS_TEXT[self[STATUS]]
        return self[_CELL_FIELDS[column]]  # type: ignore[no-any-return]

    @property
    def cells(self) -> tuple[str, ...]:
        return tuple(self.cell(c) for c in range(len(COLUMNS)))

    def sort_key(self, column: int) -> Any:
        """The sort key of one column (names in natural order, the rest case-folded; Created by time)."""
        if column == COL_CUSTOMER:
            return self[CUSTOMER_KEY]  # natural order: "User 2" before "User 10"
        if column == COL_CREATED:
            return self[TIMESTAMP]
        if column == COL_STATUS:
            return STATUS_ORDER[self[STATUS]]
        return self[_CELL_FIELDS[column]].casefold()

    @property
    def sort_keys(self) -> tuple[Any, ...]:
        return tuple(self.sort_key(c) for c in range(len(COLUMNS)))

    @property
    def tag_map(self) -> dict[str, str]:
        """Lowercased keys and values: the tags plus the ones of a legacy end user (what the tag filter sees;
        ``tags`` is the connection's own, from the full model)."""
        return self[TAGS]  # type: ignore[no-any-return]

    def connection(self) -> Connection:
        """The full model (built once and kept while it is among the recently used ones)."""
        source = self[SOURCE]
        if not isinstance(source, (PageSource, str)):
            return source  # type: ignore[no-any-return]  # the model the row was built from
        return _models.get(self)

    @property
    def conn(self) -> Connection:
        return self.connection()

    def __getattr__(self, name: str) -> Any:  # what a Connection has and a row does not keep
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.connection(), name)


_CELL_FIELDS = (CUSTOMER, EMAIL, ORGANIZATION, INTEGRATION, CID)


class _ModelCache:
    """The full models of the rows used recently (the selection, a tooltip): the same object each time."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._models: OrderedDict[int, tuple[ConnectionRow, Connection]] = OrderedDict()
        self._page: tuple[PageSource | None, list[dict[str, Any]]] = (None, [])  # the last page decoded

    def get(self, row: ConnectionRow) -> Connection:
        with self._lock:
            hit = self._models.get(id(row))
            if hit is not None and hit[0] is row:
                self._models.move_to_end(id(row))
                return hit[1]
        from nango_desktop.domain.models import Connection

        source = row[SOURCE]
        if isinstance(source, str):
            model = Connection.model_validate_json(source)
        else:
            page, items = self._page
            if page is not source:
                items = source.items()
                self._page = (source, items)
            model = Connection.model_validate(items[row[SOURCE_INDEX]])
        with self._lock:
            self._models[id(row)] = (row, model)  # the row kept alive: its id stays its own
            while len(self._models) > self._size:
                self._models.popitem(last=False)
        return model


_models = _ModelCache()


_customer_key = lru_cache(maxsize=1 << 16)(natural_key)  # customers repeat (one per end user): computed once


def models_of(rows: Iterable[ConnectionRow]) -> list[Connection]:
    """The full models of many rows (an export, a small list), in their order: each page's JSON decoded once."""
    from nango_desktop.domain.models import Connection

    pages: dict[int, list[dict[str, Any]]] = {}
    models = []
    for row in rows:
        source = row[SOURCE]
        if isinstance(source, PageSource):
            items = pages.get(id(source))
            if items is None:
                items = pages[id(source)] = source.items()
            models.append(Connection.model_validate(items[row[SOURCE_INDEX]]))
        elif isinstance(source, str):
            models.append(Connection.model_validate_json(source))
        else:
            models.append(source)
    return models


def _text(value: Any) -> str | None:
    return _intern(value) if isinstance(value, str) and value else None


def _build(
    conn_id: str,
    integration: str,
    provider: str,
    created: str,
    db_id: int,
    errors: Iterable[Any],
    info: CustomerInfo,
    all_tags: Mapping[str, str],
    source: Any,
    index: int,
) -> ConnectionRow:
    kinds = {e.get("type") if isinstance(e, Mapping) else e.type for e in errors} if errors else ()
    status = "auth_error" if "auth" in kinds else "sync_error" if "sync" in kinds else "ok"
    parsed = parse_datetime(created)
    email = _text(info.email) or ""
    organization = _intern(info.organization)
    customer = _intern(info.customer) if info.customer else conn_id
    parts = [customer, email, organization, integration, conn_id, provider, info.end_user_id or "",
             info.organization_id or ""]  # fmt: skip
    parts.extend(f"{k}={v}" for k, v in all_tags.items())
    tags = (
        {_intern(k.lower()): _intern(str(v).lower()) for k, v in all_tags.items()} if all_tags else _NO_TAGS
    )
    fields = (
        conn_id, _intern(integration), customer, email, organization, status,
        parsed.timestamp() if parsed is not None else 0.0, "\x1f".join(parts).lower(), tags, created, db_id,
        _intern(provider), _text(info.end_user_id), _text(info.display_name), _text(info.organization_id),
        _text(info.organization_name), bool(errors), _customer_key(customer), source, index,
    )  # fmt: skip
    return tuple.__new__(ConnectionRow, fields)


def row_of_connection(conn: Connection) -> ConnectionRow:
    """The row of a model (kept as the row's full model: no JSON needed)."""
    return _build(conn.connection_id, conn.provider_config_key, conn.provider, conn.created, conn.id,
                  conn.errors, conn.customer, conn.all_tags, conn, -1)  # fmt: skip


def row_of_mapping(item: Mapping[str, Any], source: PageSource | str, index: int = -1) -> ConnectionRow:
    """The row of one connection as the server sent it (a dict already checked by :func:`is_plain`); its full
    model comes from ``source`` (a page's :class:`PageSource` and the row's ``index`` in it, or its JSON).
    Same values as ``row_of_connection(Connection.model_validate(item))`` (a unit test holds them equal)."""
    tags = item.get("tags") or _NO_TAGS
    end_user = item.get("end_user")
    if end_user:
        legacy = legacy_end_user_tags(end_user)
        all_tags = {**legacy, **tags} if legacy else tags
        get, old = tags.get, legacy.get
        info = CustomerInfo(get(_T_ID) or old(_T_ID), get(_T_EMAIL) or old(_T_EMAIL), get(_T_NAME) or old(_T_NAME),
                            get(_T_ORG_ID) or old(_T_ORG_ID), get(_T_ORG_NAME) or old(_T_ORG_NAME))  # fmt: skip
    else:
        all_tags = tags
        get = tags.get
        info = CustomerInfo(get(_T_ID) or None, get(_T_EMAIL) or None, get(_T_NAME) or None,
                            get(_T_ORG_ID) or None, get(_T_ORG_NAME) or None)  # fmt: skip
    return _build(item["connection_id"], item["provider_config_key"], item["provider"], item["created"],
                  item["id"], item.get("errors") or (), info, all_tags, source, index)  # fmt: skip


def _optional_text(mapping: Mapping[str, Any], *names: str) -> bool:
    return all(type(mapping.get(n)) in (str, type(None)) for n in names)


def is_plain(item: Mapping[str, Any]) -> bool:
    """True when a connection dict (required fields already checked) has the shape the model accepts as is;
    anything else goes through the model's own validation (which names what is wrong)."""
    tags = item.get("tags")
    if tags is not None and (type(tags) is not dict or not all(type(v) is str for v in tags.values())):
        return False
    metadata = item.get("metadata")
    if metadata is not None and type(metadata) is not dict:
        return False
    errors = item.get("errors")
    if errors is not None:
        if type(errors) is not list:
            return False
        for e in errors:
            if type(e) is not dict or type(e.get("type")) is not str or not _optional_text(e, "log_id"):
                return False
    end_user = item.get("end_user")
    if end_user is not None:
        if type(end_user) is not dict or not _optional_text(end_user, "id", "email", "display_name"):
            return False
        if end_user.get("tags") is not None and type(end_user["tags"]) is not dict:
            return False
        org = end_user.get("organization")
        if org is not None and (type(org) is not dict or not _optional_text(org, "id", "display_name")):
            return False
    return True
