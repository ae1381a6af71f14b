"""NangoClient.iter_connection_pages with concurrent page requests; the GC pause used while parsing."""

from __future__ import annotations

import gc
import threading
from urllib.parse import parse_qsl

import httpx
import pytest

from nango_desktop.services.api import NangoClient, gc_paused
from nango_desktop.services.errors import CancelledError, ServerError


def conn_row(i: int) -> dict:
    return {
        "id": i,
        "connection_id": f"c{i}",
        "provider": "github",
        "provider_config_key": "github",
        "created": "2026-05-01T10:00:00.000Z",
        "tags": {"end_user_id": f"u{i}"},
        "errors": [],
    }


class Pages:
    """GET /connections over ``total`` rows (newest first), thread-safe, recording the pages asked for."""

    def __init__(self, total: int, *, fail_page: int | None = None, gate: threading.Event | None = None):
        self.rows = [conn_row(i) for i in range(total, 0, -1)]
        self.asked: list[int] = []
        self.fail_page = fail_page
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.url.query.decode()))
        limit, page = int(params.get("limit", "10000")), int(params.get("page", "0"))
        with self.lock:
            self.asked.append(page)
        if self.gate is not None and page > 0:
            self.gate.wait(5)
        if page == self.fail_page:
            return httpx.Response(500, json={"error": {"code": "server_error"}})
        return httpx.Response(200, json={"connections": self.rows[page * limit : (page + 1) * limit]})


def make_client(pages: Pages) -> NangoClient:
    return NangoClient(
        "https://api.test",
        "sk-test",
        transport=httpx.MockTransport(pages),
        max_retries=0,
        sleep=lambda s: None,
    )


@pytest.mark.parametrize("concurrency", [1, 2, 4, 8])
@pytest.mark.parametrize("total", [0, 7, 10, 25, 40])
def test_concurrent_pages_are_yielded_in_order_and_complete(total, concurrency):
    pages = Pages(total)
    with make_client(pages) as client:
        got = list(client.iter_connection_pages(page_size=10, concurrency=concurrency))
    assert [c.id for page in got for c in page] == list(range(total, 0, -1))
    assert all(len(page) == 10 for page in got[:-1])
    # the first short page ends the listing; at most `concurrency` requests were sent past it
    last_needed = total // 10
    assert set(range(last_needed + 1)) <= set(pages.asked)
    assert max(pages.asked) <= last_needed + concurrency
    assert len(pages.asked) == len(set(pages.asked))


def test_one_page_result_costs_one_request():
    pages = Pages(3)
    with make_client(pages) as client:
        assert len(client.list_all_connections(page_size=10, concurrency=4)) == 3
    assert pages.asked == [0]


def test_an_error_on_a_later_page_is_raised_in_order():
    pages = Pages(100, fail_page=2)
    with make_client(pages) as client:
        it = client.iter_connection_pages(page_size=10, concurrency=4)
        assert [c.id for c in next(it)][0] == 100
        assert [c.id for c in next(it)][0] == 90
        with pytest.raises(ServerError):
            next(it)


def test_cancel_stops_requesting_pages():
    gate = threading.Event()
    pages = Pages(1000, gate=gate)
    cancel = threading.Event()
    with make_client(pages) as client:
        it = client.iter_connection_pages(page_size=10, concurrency=3, cancel=cancel)
        assert len(next(it)) == 10
        cancel.set()
        gate.set()
        with pytest.raises(CancelledError):
            next(it)
        it.close()
    assert max(pages.asked) <= 3  # page 0, then at most the 3 already in flight


def test_no_worker_thread_outlives_the_listing():
    before = {t.name for t in threading.enumerate()}
    with make_client(Pages(95)) as client:
        rows = client.list_all_connections(page_size=10, concurrency=4)
        it = client.iter_connection_pages(page_size=10, concurrency=4)
        next(it)
        it.close()  # abandoned early
    assert len(rows) == 95
    assert not [t for t in threading.enumerate() if t.name.startswith("nango-pages") and t.name not in before]


@pytest.fixture
def collector_on():
    """The automatic collector on (the CLI's state) for the test, then the state it found: a GUI test before
    this one may have moved collection to the GUI thread (qtutil/collector.py: automatic collector off)."""
    was_enabled = gc.isenabled()
    gc.collect()  # nothing left for a collection on the test's other thread
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_gc_pause_nests_across_threads_and_restores_the_previous_state(collector_on):
    assert gc.isenabled()
    inner_done = threading.Event()

    def other() -> None:
        with gc_paused():
            inner_done.wait(5)

    thread = threading.Thread(target=other)
    with gc_paused():
        assert not gc.isenabled()
        thread.start()
    assert not gc.isenabled()  # the other thread still holds a pause
    inner_done.set()
    thread.join()
    assert gc.isenabled()

    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()
