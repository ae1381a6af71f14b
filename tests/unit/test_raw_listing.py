"""Raw connection pages (``connections list --format json``): exact object texts, checks, paging, lean imports."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from nango_desktop.services.api import NangoClient, raw_connections
from nango_desktop.services.errors import MalformedResponseError

KEY = "sk-live-6b1d2f0e-aaaa-bbbb-cccc-0123456789ab"


def row(i: int, **extra) -> dict:
    return {
        "id": i,
        "connection_id": f"c{i}",
        "provider": "github",
        "provider_config_key": "github",
        "created": "2026-05-01T10:00:00.000Z",
        "tags": {"end_user_id": f"u{i}"},
        "errors": [],
        **extra,
    }


def test_page_text_is_the_array_exactly_as_sent():
    rows = [row(1, tags=None, note='zoë \u2603 \\"q"'), row(2, metadata={"a": [1, {"b": None}]})]
    inner = (
        json.dumps(rows[0], indent=2, ensure_ascii=False)
        + "  ,\t"
        + json.dumps(rows[1], separators=(",", ":"))
    )
    # Pretty-printed, odd spacing, other keys before and after the array.
    body = (
        '{ "next" : null ,\n "connections" :\n [\n  ' + inner + '\n ] , "x": [1, {"connections": 3}] }\n'
    ).encode()
    page = raw_connections(body)
    assert list(page) == rows
    assert page.text == inner
    assert json.loads("[" + page.text + "]") == rows


def test_empty_page():
    for body in (b'{"connections": []}', b' {"connections":[ ]} '):
        page = raw_connections(body)
        assert page == [] and page.text == ""


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "invalid JSON"),
        (b"not json", "no connections list"),  # not an object
        (b'{"connections": [', "invalid JSON"),
        (b'{"connections": [{"id": 1}', "invalid JSON"),
        (b'{"connections": []} trailing', "invalid JSON"),
        (b'{"connections": [] "x": 1}', "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[]", "no connections list"),
        (b"{}", "no connections list"),
        (b'{"connections": {}}', "no connections list"),
        (b'{"connections": [1]}', "connections.0: not an object"),
        (b'{"connections": [{"connection_id": "c"}]}', "connections.0.id: missing"),
        (json.dumps({"connections": [row(1), row(2, id="2")]}).encode(), "connections.1.id: wrong type"),
        (json.dumps({"connections": [row(1, created=None)]}).encode(), "connections.0.created: missing"),
        (json.dumps({"connections": [row(1, id=True)]}).encode(), "connections.0.id: wrong type"),
    ],
)
def test_malformed_bodies_are_clear_errors(body, why):
    with pytest.raises(MalformedResponseError) as caught:
        raw_connections(body, status=200)
    assert why in caught.value.detail
    assert "HTTP 200" in caught.value.detail


def _paging_server(total: int, shift_at_page: int | None = None):
    rows = [row(i) for i in range(total, 0, -1)]  # newest first

    def handler(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "1000"))
        page = int(request.url.params.get("page", "0"))
        data = rows
        if shift_at_page is not None and page >= shift_at_page:
            data = [row(total + 1)] + rows  # a connection created while paging shifts the offsets
        return httpx.Response(200, json={"connections": data[page * limit : (page + 1) * limit]})

    return handler


@pytest.mark.parametrize("concurrency", [1, 4])
def test_raw_pages_cover_everything_once_even_when_rows_shift(concurrency):
    transport = httpx.MockTransport(_paging_server(25, shift_at_page=2))
    with NangoClient("https://n.test", KEY, transport=transport) as client:
        pages = list(client.iter_connection_pages(page_size=5, raw=True, concurrency=concurrency))
    ids = [obj["id"] for page in pages for obj in page]
    assert sorted(ids) == list(range(1, 26))  # the shifted row is dropped, none lost
    # A page keeps its text only while it is whole: the narrowed one lost it and is re-encoded by the CLI.
    for page in pages:
        text = getattr(page, "text", None)
        assert text is None or json.loads("[" + text + "]") == page
    assert any(getattr(page, "text", None) is None for page in pages)


def test_raw_and_model_pages_list_the_same_connections():
    transport = httpx.MockTransport(_paging_server(12))
    with NangoClient("https://n.test", KEY, transport=transport) as client:
        raw = [obj for page in client.iter_connection_pages(page_size=5, raw=True) for obj in page]
        models = [c for page in client.iter_connection_pages(page_size=5) for c in page]
    assert [r["connection_id"] for r in raw] == [m.connection_id for m in models]


def test_cli_import_path_loads_no_keyring_and_no_qt():
    code = (
        "import sys, nango_desktop.cli, nango_desktop.services.api;"
        "print(sorted(m for m in ('keyring', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_json_is_every_object_as_sent_even_when_rows_shift(monkeypatch, capsys, tmp_path):
    from nango_desktop import cli

    transport = httpx.MockTransport(_paging_server(25, shift_at_page=2))
    real = NangoClient

    def client(*args, **kwargs):
        return real(*args, **{**kwargs, "transport": transport})

    monkeypatch.setattr("nango_desktop.services.api.NangoClient", client)
    monkeypatch.setenv("NANGO_SECRET_KEY", KEY)
    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(tmp_path))
    argv = ["--api-url", "https://n.test", "connections", "list", "--format", "json", "--page-size", "5"]
    assert cli.main(argv) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(r["id"] for r in listed) == list(range(1, 26))
    assert listed == sorted(listed, key=lambda r: -r["id"])  # newest first, as Nango pages them
    assert listed[0] == row(25)
