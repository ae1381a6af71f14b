"""Provider logos (services/logos.py) against FakeNango's public logo URLs: downloaded once without the API
key, kept on disk for the next start, checked to be a small image, failures remembered for the session."""

from __future__ import annotations

import threading

import pytest

from nango_desktop.services.logos import MAX_BYTES, LogoCache, looks_like_image
from tests.nango_server import FakeNango, logo_svg


@pytest.fixture
def server():
    with FakeNango(connections=3, integrations=("github", "slack")) as fake:
        yield fake


def _logo_url(server: FakeNango, provider: str) -> str:
    return f"{server.url}/images/template-logos/{provider}.svg"


def _logo_requests(server: FakeNango) -> list:
    return [r for r in server.requests if r.path.startswith("/images/")]


def test_integrations_carry_logo_urls_served_by_the_server(server):
    from nango_desktop.services.api import NangoClient

    with NangoClient(server.url, server.secret_key) as client:
        urls = {i.provider: i.logo for i in client.list_integrations()}
    assert urls == {p: _logo_url(server, p) for p in ("github", "slack")}


def test_logos_are_downloaded_once_without_the_key_and_kept_on_disk(server, tmp_path):
    urls = [_logo_url(server, "github"), _logo_url(server, "slack")]
    found = LogoCache(tmp_path / "logos").get_many(urls)
    assert found == {urls[0]: logo_svg("github"), urls[1]: logo_svg("slack")}
    assert all("authorization" not in r.headers for r in _logo_requests(server))
    server.stop()  # a later start: from the disk cache, no network
    again = LogoCache(tmp_path / "logos")
    assert again.get_many(urls) == found
    assert sorted(p.suffix for p in (tmp_path / "logos").iterdir()) == [".logo", ".logo"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html><body>Sign in</body></html>", "not an image"),
        (b"<svg>" + b" " * MAX_BYTES + b"</svg>", "too big"),
    ],
)
def test_a_bad_answer_is_no_logo_and_not_asked_again(server, tmp_path, body, why):
    server.logos["github"] = body
    cache = LogoCache(tmp_path / "logos")
    url = _logo_url(server, "github")
    assert cache.get(url) is None, why
    assert cache.get(url) is None
    assert len(_logo_requests(server)) == 1  # remembered for the session
    assert not (tmp_path / "logos").exists() or not any((tmp_path / "logos").iterdir())


def test_missing_logo_and_unreachable_host_are_no_logo(server, tmp_path):
    cache = LogoCache(tmp_path / "logos", timeout=5)
    assert cache.get(f"{server.url}/images/template-logos/nope.svg") is None
    url = _logo_url(server, "github")
    server.stop()
    assert cache.get(url) is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:image/svg+xml,<svg/>", "ftp://x/y.svg", ""])
def test_only_http_urls_are_fetched(tmp_path, url):
    assert LogoCache(tmp_path / "logos").get(url) is None


def test_an_unwritable_cache_still_gives_the_logo(server, tmp_path):
    blocker = tmp_path / "logos"
    blocker.write_text("a file where the cache directory should be")
    assert LogoCache(blocker).get(_logo_url(server, "slack")) == logo_svg("slack")


def test_cancel_stops_between_downloads(server, tmp_path):
    cancel = threading.Event()
    cancel.set()
    assert LogoCache(tmp_path / "logos").get_many([_logo_url(server, "github")], cancel) == {}
    assert _logo_requests(server) == []


@pytest.mark.parametrize(
    ("data", "image"),
    [
        (b"\x89PNG\r\n\x1a\n....", True),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', True),
        (b"\xef\xbb\xbf  <SVG viewBox='0 0 1 1'/>", True),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
        (b'{"error": "not found"}', False),
        (b"<?xml version='1.0'?><feed/>", False),
        (b"", False),
    ],
)
def test_looks_like_image(data, image):
    assert looks_like_image(data) is image
