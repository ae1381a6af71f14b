"""FakeNango.hold(): a gate that keeps matching requests until the test releases them (issue 12)."""

from __future__ import annotations

import threading

import httpx

from tests.nango_server import FakeNango


def get_in_thread(url: str, path: str, results: list) -> threading.Thread:
    def run() -> None:
        try:
            results.append(
                httpx.get(url + path, headers={"Authorization": "Bearer test-secret-key"}, timeout=30)
            )
        except httpx.HTTPError as exc:
            results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_held_request_is_answered_only_after_release():
    with FakeNango(connections=3) as server:
        gate = server.hold("/connections", after=1)
        first: list = []
        get_in_thread(server.url, "/connections", first).join(10)
        assert first[0].status_code == 200  # "after=1" let the first one through
        second: list = []
        thread = get_in_thread(server.url, "/connections", second)
        assert gate.wait_held(1, timeout=10)
        assert second == [] and gate.arrived == 2
        assert [r.path for r in server.requests] == ["/connections", "/connections"]  # recorded while held
        other: list = []
        get_in_thread(server.url, "/integrations", other).join(10)  # other paths are not held
        assert other[0].status_code == 200
        gate.release()
        thread.join(10)
        assert second[0].status_code == 200 and len(second[0].json()["connections"]) == 3
        third: list = []
        get_in_thread(server.url, "/connections", third).join(10)  # released for good
        assert third[0].status_code == 200 and gate.held == 0


def test_match_and_method_narrow_what_is_held():
    with FakeNango(connections=3) as server:
        gate = server.hold("/connections", match=lambda r: r.param("search") == "x")
        plain: list = []
        get_in_thread(server.url, "/connections", plain).join(10)
        assert plain[0].status_code == 200 and gate.arrived == 0
        searched: list = []
        thread = get_in_thread(server.url, "/connections?search=x", searched)
        assert gate.wait_held(1, timeout=10)
        with gate:  # released on exit
            assert searched == []
        thread.join(10)
        assert searched[0].status_code == 200
        post_gate = server.hold("/connections", method="POST")
        listed: list = []
        get_in_thread(server.url, "/connections", listed).join(10)
        assert listed[0].status_code == 200 and post_gate.arrived == 0


def test_stop_releases_held_requests_without_an_answer_and_joins_their_threads():
    before = set(threading.enumerate())
    server = FakeNango(connections=3).start()
    gate = server.hold("/connections")
    results: list = []
    thread = get_in_thread(server.url, "/connections", results)
    assert gate.wait_held(1, timeout=10)
    server.stop()
    thread.join(10)
    assert isinstance(results[0], httpx.HTTPError)  # closed, never answered
    assert set(threading.enumerate()) - before == set()
