"""Provider logos for the Integrations page: fetched once, kept on disk, never on the GUI thread.

Nango gives each integration an absolute ``logo`` URL (an SVG under ``<public url>/images/template-logos/``).
:class:`LogoCache` downloads it on a worker, checks that the answer is a small image (an SVG or a PNG/JPEG/
GIF/WebP, at most :data:`MAX_BYTES`), and stores it under the cache directory named by the URL's hash, so a
later start shows logos without the network. A URL that failed is not retried in the same session (an
offline machine does not wait on every refresh); the page keeps its initials badge for it.

No credentials are ever sent: logos are public assets, and the request goes out without the API key.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024
TIMEOUT = 10.0
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def looks_like_image(data: bytes) -> bool:
    """An SVG document or a raster image we can show (checked by content, not by the server's word)."""
    if data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<svg") or (
        head.startswith((b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in data[:4096].lower()
    )


class LogoCache:
    """Logo bytes by URL: from the disk cache, else downloaded (on the caller's thread, a worker)."""

    def __init__(
        self,
        directory: Path,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.directory = directory
        self._transport = transport
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._failed: set[str] = set()
        self._lock = threading.Lock()

    def path_for(self, url: str) -> Path:
        return self.directory / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".logo")

    def cached(self, url: str) -> bytes | None:
        try:
            data = self.path_for(url).read_bytes()
        except OSError:
            return None
        return data if looks_like_image(data) else None

    def failed(self, url: str) -> bool:
        with self._lock:
            return url in self._failed

    def get(self, url: str, client: httpx.Client | None = None) -> bytes | None:
        """The logo at ``url`` or None (not an http(s) URL, unreachable, not an image, too big)."""
        data = self.cached(url)
        if data is not None:
            return data
        if self.failed(url) or urlsplit(url).scheme not in ("http", "https"):
            return None
        try:
            data = self._download(url, client)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.info("Logo not fetched (%s): %s", url, exc)
            with self._lock:
                self._failed.add(url)
            return None
        self._store(url, data)
        return data

    def get_many(self, urls: Iterable[str], cancel: threading.Event | None = None) -> dict[str, bytes]:
        """Every logo that could be had, by URL (one connection pool for all downloads)."""
        found: dict[str, bytes] = {}
        with self._client() as client:
            for url in dict.fromkeys(urls):
                if cancel is not None and cancel.is_set():
                    break
                data = self.get(url, client)
                if data is not None:
                    found[url] = data
        return found

    # -- internals ---------------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=self._transport, timeout=self._timeout, follow_redirects=True, trust_env=True
        )

    def _download(self, url: str, client: httpx.Client | None) -> bytes:
        own = client is None
        client = client or self._client()
        try:
            with client.stream("GET", url, headers={"Accept": "image/svg+xml,image/*"}) as response:
                if response.status_code != 200:
                    raise ValueError(f"HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isascii() and declared.isdigit() and int(declared) > self._max_bytes:
                    raise ValueError(f"{declared} bytes, more than {self._max_bytes}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise ValueError(f"more than {self._max_bytes} bytes")
                    chunks.append(chunk)
        finally:
            if own:
                client.close()
        data = b"".join(chunks)
        if not looks_like_image(data):
            raise ValueError("not an image")
        return data

    def _store(self, url: str, data: bytes) -> None:
        """Atomically (a cache file is whole or absent); a cache that cannot be written is only slower."""
        path = self.path_for(url)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            log.info("Logo cache not written (%s): %s", path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
