"""Issue 18: a server whose pages never end stops the listing with a clear error (loopback HTTP server).

The hostile server answers GET /connections on 127.0.0.1 with a full page every time: either the same rows
(it ignores ``page``), fresh rows forever, or more rows than ``limit``. Each listing must stop with
EndlessPaginationError after yielding what it received, on the client, the CLI and the GUI's loader.
"""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from nango_desktop import cli
from nango_desktop.services.api import NangoClient
from nango_desktop.services.pagination import MAX_SERVER_OFFSET, EndlessPaginationError, PageGuard
from tests.nango_server import list_item, make_connections

POOL = [list_item(c) for c in make_connections(60, seed=18)]


class Endless:
    """Loopback server: every page is full. ``mode``: 'same' (ignores page), 'fresh' (new ids forever),
    'oversize' (twice the limit)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.pages: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                limit = int(query.get("limit", ["1000"])[0])
                page = int(query.get("page", ["0"])[0])
                outer.pages.append(page)
                body = json.dumps({"connections": outer.rows(page, limit)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def rows(self, page: int, limit: int) -> list[dict]:
        if self.mode == "same":
            return POOL[:limit]
        count = limit * 2 if self.mode == "oversize" else limit
        out = []
        for i in range(count):
            row = dict(POOL[i % len(POOL)])
            row["id"] = page * 100_000 + i + 1
            row["connection_id"] = f"endless-{page}-{i}"
            out.append(row)
        return out

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def endless():
    servers: list[Endless] = []

    def make(mode: str) -> Endless:
        servers.append(Endless(mode))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _collect(client: NangoClient, **kw) -> tuple[list, EndlessPaginationError]:
    got: list = []
    with pytest.raises(EndlessPaginationError) as info:
        for page in client.iter_connection_pages(**kw):
            got.extend(page)
    return got, info.value


def test_a_server_repeating_the_same_page_is_stopped(endless):
    server = endless("same")
    with NangoClient(server.url, "sk-test-endless") as client:
        got, err = _collect(client, page_size=20)
    assert len(got) == 20  # the first page is kept
    assert server.pages == [0, 1]
    assert err.title == "The server repeats the same page of connections; the listing was stopped"
    assert "page 1 holds only rows of earlier pages" in err.detail and "20 connections loaded" in err.detail


def test_fresh_pages_forever_stop_at_the_row_ceiling(endless):
    server = endless("fresh")
    with NangoClient(server.url, "sk-test-endless") as client:
        got, err = _collect(client, page_size=25, max_rows=100, concurrency=4)
    assert len(got) == 100 and len({c.id for c in got}) == 100
    assert err.title == "Stopped at the row ceiling of 100 connections"
    assert "--max-rows" in err.detail
    assert max(server.pages) <= 3 + 4  # at most the pages requested ahead


def test_more_rows_than_the_limit_is_stopped(endless):
    server = endless("oversize")
    with NangoClient(server.url, "sk-test-endless") as client:
        got, err = _collect(client, page_size=10)
    assert got == []
    assert err.title == "The server sent more connections than asked for; the listing was stopped"
    assert "20 rows for limit=10" in err.detail


def test_the_offset_past_the_servers_limit_is_stopped():
    guard = PageGuard(2000, max_rows=None)
    last_ok = MAX_SERVER_OFFSET // 2000 - 1
    guard.check(last_ok, 2000, 2000)
    with pytest.raises(EndlessPaginationError) as info:
        guard.check(last_ok + 1, 2000, 2000)
    assert "past the server's limit" in info.value.detail


def test_cli_list_stops_with_a_clear_error_and_keeps_the_rows(endless, monkeypatch, capsys):
    server = endless("fresh")
    monkeypatch.setenv("NANGO_SECRET_KEY", "sk-test-endless")
    argv = ["--api-url", server.url, "connections", "list", "--format", "json", "--page-size", "10"]
    code = cli.main([*argv, "--max-rows", "30"], stdin=io.StringIO(""))
    out, err = capsys.readouterr()
    assert code != 0
    assert len(json.loads(out)) == 30  # stdout is one valid array of what arrived
    assert "Stopped at the row ceiling of 30 connections" in err


def test_cli_rejects_a_negative_ceiling(capsys):
    assert cli.main(["connections", "list", "--max-rows", "-1"]) == 2
    assert "the row ceiling must be a whole number >= 0" in capsys.readouterr().err


def test_cli_ceiling_comes_from_the_profiles_max_connection_rows(endless, monkeypatch, capsys, tmp_path):
    """The error names a setting that exists: the profile's max_connection_rows (File → Edit profile's Row
    ceiling, `profile add --max-connection-rows`) is the CLI's default ceiling; --max-rows overrides it."""
    from nango_desktop.settings import load_settings

    server = endless("fresh")
    monkeypatch.setenv("NANGO_DESKTOP_HOME", str(tmp_path))
    monkeypatch.setenv("NANGO_SECRET_KEY", "sk-test-endless")
    add = ["profile", "add", "p", "--url", server.url, "--no-key", "--use", "--max-connection-rows", "40"]
    assert cli.main(add, stdin=io.StringIO("")) == 0
    assert load_settings().get("p").max_connection_rows == 40
    capsys.readouterr()
    argv = ["--profile", "p", "connections", "list", "--format", "json", "--page-size", "10"]
    assert cli.main(argv, stdin=io.StringIO("")) == 1
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 40
    assert "Stopped at the row ceiling of 40 connections" in err
    assert "max_connection_rows" in err and "Row ceiling" in err
    assert cli.main([*argv, "--max-rows", "20"], stdin=io.StringIO("")) == 1
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 20
    # replacing the profile keeps its ceiling unless given again
    assert cli.main([*add[:-2], "--force"], stdin=io.StringIO("")) == 0
    assert load_settings().get("p").max_connection_rows == 40
