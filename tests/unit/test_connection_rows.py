"""Compact connection rows (domain/connection_rows.py, services/raw_page.connection_rows), without Qt (issue 16).

The session's list and the connections table hold one compact row per connection instead of a pydantic model;
the full model is built on demand. A row built from the server's plain dict must be the row of the model built
from the same dict, and its full model must be that model.
"""

from __future__ import annotations

import json
import sys

import pytest
from pydantic import BaseModel

from nango_desktop.domain.connection_rows import (
    COLUMNS,
    ConnectionRow,
    PageSource,
    models_of,
    row_of_connection,
    row_of_mapping,
)
from nango_desktop.domain.models import Connection
from nango_desktop.services.errors import MalformedResponseError
from nango_desktop.services.raw_page import connection_rows, raw_connections
from tests.nango_server import make_connections


def page_of(items: list[dict]):
    return raw_connections(json.dumps({"connections": items}).encode())


def edge_cases() -> list[dict]:
    base = {"provider": "github", "provider_config_key": "gh-prod", "metadata": None}
    return [
        # a legacy end user and an empty tag value: the customer comes from the legacy object
        {**base, "id": 1, "connection_id": "a", "created": "2026-05-01T10:00:00.000Z",
         "tags": {"end_user_email": "", "Plan": "Pro"}, "errors": None,
         "end_user": {"id": "u1", "email": "Ann@Example.com", "display_name": "Ann",
                      "organization": {"id": "o1", "display_name": "Acme"}}},
        # both kinds of error (auth wins), a naive timestamp
        {**base, "id": 2, "connection_id": "b", "created": "2026-05-01T10:00:00",
         "tags": {}, "errors": [{"type": "sync", "log_id": "l1"}, {"type": "auth"}], "end_user": None},
        # an unparseable date (shown as sent, sorted first), no end user at all, an unknown error type
        {**base, "id": 3, "connection_id": "user 10", "created": "yesterday", "errors": [{"type": "other"}]},
        # tags only, digits in the name (natural order key)
        {**base, "id": 4, "connection_id": "d", "created": "2026-05-02T00:00:00+02:00",
         "tags": {"end_user_id": "u9", "end_user_display_name": "User 9", "organization_id": "org"}},
    ]  # fmt: skip


def test_a_row_from_the_servers_dict_is_the_row_of_the_model():
    items = make_connections(300, 5) + edge_cases()
    rows = connection_rows(page_of(items))
    assert len(rows) == len(items)
    for item, row in zip(items, rows, strict=True):
        model = Connection.model_validate(item)
        expected = row_of_connection(model)
        assert tuple(row)[:-2] == tuple(expected)[:-2], item["connection_id"]  # every field but the source
        assert row.connection() == model
        assert (row.key, row.cells, row.sort_keys, row.haystack, row.tag_map) == (
            expected.key, expected.cells, expected.sort_keys, expected.haystack, expected.tag_map,
        )  # fmt: skip
        # reads like the connection for what the list's readers use
        assert row.customer == model.customer and row.status == model.status
        assert (row.connection_id, row.provider_config_key, row.provider, row.created, row.id) == (
            model.connection_id, model.provider_config_key, model.provider, model.created, model.id,
        )  # fmt: skip
        assert row.has_auth_error == model.has_auth_error and row.errors == model.errors
        assert row.tags == model.tags and row.metadata == model.metadata  # from the full model


def test_edge_cases_display_and_sort_keys():
    legacy, both, odd, tagged = connection_rows(page_of(edge_cases()))
    assert legacy.cells[:5] == ("Ann", "Ann@Example.com", "Acme", "gh-prod", "a")
    assert legacy.tag_map == {
        "end_user_id": "u1", "end_user_email": "", "end_user_display_name": "ann", "organization_id": "o1",
        "organization_display_name": "acme", "plan": "pro",
    }  # fmt: skip
    assert both.status == "auth_error" and both.cells[COLUMNS.index("Created")] == "2026-05-01 10:00"
    assert odd.status == "ok" and odd.errors and odd.cells[0] == "user 10" and odd.cell(5) == "yesterday"
    assert odd.sort_key(5) == 0.0
    assert tagged.sort_key(0) < odd.sort_key(0)  # "user 9" before "user 10" (natural order)


def test_rows_hold_no_model_and_build_one_on_demand_once():
    items = make_connections(50, 3)
    rows = connection_rows(page_of(items))
    assert all(isinstance(r, ConnectionRow) and type(r).__base__ is tuple for r in rows)
    assert not any(isinstance(f, BaseModel) for r in rows for f in r)  # compact: no pydantic model kept
    assert len({id(r[-2]) for r in rows}) == 1 and isinstance(rows[0][-2], PageSource)  # one page source
    first = rows[7].connection()
    assert rows[7].connection() is first  # the same object while it is in use (selection, persistent index)
    assert first == Connection.model_validate(items[7])


def test_interned_values_are_shared_between_rows():
    rows = connection_rows(page_of(make_connections(200, 3)))
    by_integration: dict[str, list[ConnectionRow]] = {}
    for r in rows:
        by_integration.setdefault(r.provider_config_key, []).append(r)
    for same in by_integration.values():
        assert len({id(r.provider_config_key) for r in same}) == 1
    assert sys.intern(rows[0].provider) is rows[0].provider


def test_a_narrowed_page_keeps_each_rows_json():
    items = make_connections(5, 2)
    narrowed = list(page_of(items))[1:]  # rows dropped by the client (shifted offsets): no page text
    rows = connection_rows(narrowed)
    assert [r.connection() for r in rows] == [Connection.model_validate(i) for i in items[1:]]
    assert all(isinstance(r[-2], str) for r in rows)


def test_unusual_shapes_go_through_the_model_and_bad_ones_are_named():
    good = make_connections(3, 2)
    coerced = {**good[0], "errors": [{"type": "auth", "log_id": None, "extra": 1}], "tags": None}
    rows = connection_rows(page_of([coerced, good[1]]))
    assert rows[0].status == "auth_error" and rows[0].connection() == Connection.model_validate(coerced)
    bad = {**good[2], "tags": {"plan": 3}}
    with pytest.raises(MalformedResponseError) as info:
        connection_rows(page_of([good[0], bad]))
    assert "connections.1.tags.plan" in str(info.value.detail)
    for broken in ({"end_user": "someone"}, {"errors": {"type": "auth"}}, {"metadata": [1]}):
        with pytest.raises(MalformedResponseError):
            connection_rows(page_of([{**good[0], **broken}]))


def test_models_of_keeps_the_order_across_pages():
    items = make_connections(30, 4)
    rows = connection_rows(page_of(items[:15])) + connection_rows(page_of(items[15:]))
    order = list(reversed(range(30)))[::2] + list(range(30))[::2]
    picked = [rows[i] for i in order]
    assert models_of(picked) == [Connection.model_validate(items[i]) for i in order]
    model = Connection.model_validate(items[0])
    assert models_of([row_of_connection(model)])[0] is model


def test_a_row_from_a_model_keeps_that_model():
    model = Connection.model_validate(make_connections(1, 9)[0])
    row = row_of_connection(model)
    assert row.connection() is model and row_of_mapping(model.model_dump(), "{}")[:-2] == row[:-2]


GENTLE_BODIES = [
    json.dumps({"connections": make_connections(120, 5)}).encode(),
    b'{ "next" : null ,\n "connections" :\n [\n  '
    + json.dumps(make_connections(2, 1)[0], indent=2).encode()
    + b"  ,\t"
    + json.dumps(make_connections(2, 1)[1]).encode()
    + b'\n ] , "x": [1, {"connections": 3}] }\n',
    b'{"connections": [ ]}',
    b'{"connections": []}',
]
BAD_BODIES = [
    b'{"connections": [{"id": 1}',
    b'{"connections": [1 2]}',
    b'{"connections": [{}, ]}',
    b'{"connections": [',
]


def parse_in_thread(body: bytes, gentle: bool):
    """raw_connections on a thread with gentle parsing on or off (the flag is per thread)."""
    import threading

    from nango_desktop.services.raw_page import gentle_parsing

    out: list = []

    def run() -> None:
        gentle_parsing(gentle)
        try:
            page = raw_connections(body)
            out.append((list(page), page.text))
        except MalformedResponseError as exc:
            out.append(type(exc))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out[0]


@pytest.mark.parametrize("body", GENTLE_BODIES + BAD_BODIES)
def test_gentle_parsing_of_a_page_gives_the_same_page(body):
    """The store's worker parses a page's array one object at a time (short GIL holds): same rows, same text,
    same errors as the single C call the CLI uses."""
    assert parse_in_thread(body, True) == parse_in_thread(body, False)


def test_gentle_parsing_is_per_thread():
    from nango_desktop.services import raw_page

    calls: list[int] = []
    real = raw_page._scan_array

    def spy(text, i):
        calls.append(i)
        return real(text, i)

    raw_page._scan_array = spy
    try:
        parse_in_thread(GENTLE_BODIES[0], True)
        assert len(calls) == 1
        raw_connections(GENTLE_BODIES[0])  # this thread: not switched on
        parse_in_thread(GENTLE_BODIES[0], False)
        assert len(calls) == 1
    finally:
        raw_page._scan_array = real
