"""Request parsing and answers for the webhook listener, leaner than ``http.server``'s (issue 16).

``BaseHTTPRequestHandler.parse_request`` hands the header block to ``email``'s parser and every header
access goes through ``email.message``: a quarter of the listener's CPU per request. :class:`LeanHTTPHandling`
(a mixin placed before ``BaseHTTPRequestHandler``) reads the request line exactly as ``http.server`` does
(same 400 / 505 answers, HTTP/0.9 rules, ``Connection`` and ``Expect: 100-continue`` handling), then the
header block itself into :class:`Headers`: 431 past ``MAX_HEADER_BYTES`` or 100 lines (``http.client``'s
count), 400 for a line that is not a header (``email`` silently dropped it and every header after it).
Obsolete folded lines are joined to the previous value as ``email`` kept them. ``send_json`` writes a whole
answer (status line, headers, body) in one write, with a ``Date`` formatted once a second.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024  # all header lines together


_MAX_HEADER_LINE = 65536  # as http.client
_MAX_HEADERS = 100  # as http.client
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
_REASONS = {int(s): s.phrase for s in HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _reason(status: int) -> str:
    return _REASONS.get(status, "")


def _http_date() -> str:
    """The Date header's value, formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class Headers:
    """A request's header fields: what ``email.message.Message`` offered the handler (``get`` first value,
    ``get_all``, ``items``, iteration over names), case-insensitive, without the cost of ``email``'s parser."""

    __slots__ = ("_by_name", "_pairs")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._by_name: dict[str, list[str]] = {}
        for name, value in pairs:
            self._by_name.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._by_name.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str, default: Any = None) -> list[str] | Any:
        values = self._by_name.get(name.lower())
        return list(values) if values else default

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def keys(self) -> list[str]:
        return [name for name, _ in self._pairs]

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


class LeanHTTPHandling:
    """Mixin for a ``BaseHTTPRequestHandler`` subclass: ``parse_request`` and ``send_json``."""

    # provided by BaseHTTPRequestHandler
    raw_requestline: bytes
    requestline: str
    command: str
    path: str
    request_version: str
    default_request_version: str
    protocol_version: str
    server_version: str
    close_connection: bool
    headers: Any
    rfile: Any
    wfile: Any
    _answered: bool

    if TYPE_CHECKING:

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None: ...
        def handle_expect_100(self) -> bool: ...
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None: ...

    def parse_request(self) -> bool:
        """The request line as ``http.server`` reads it (same answers: 400 / 505), then the header block
        parsed here into :class:`_Headers` instead of ``email``'s parser (a quarter of the listener's CPU)."""
        self.command = None  # type: ignore[assignment]  # set in case of error on the first line
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:  # enough to determine the protocol version
            version = words[-1]
            numbers = version[5:].split(".") if version.startswith("HTTP/") else []
            if len(numbers) != 2 or not all(n.isdigit() and n.isascii() and len(n) <= 10 for n in numbers):
                self.send_error(400, f"Bad request version ({version!r})")
                return False
            number = int(numbers[0]), int(numbers[1])
            if number >= (1, 1):
                self.close_connection = False
            if number >= (2, 0):
                self.send_error(505, f"Invalid HTTP version ({version[5:]})")
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(400, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(400, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.send_error(414)
            return False
        problem = self._read_headers()
        if problem is not None:
            self.send_error(*problem)
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if (
            (self.headers.get("Expect") or "").lower() == "100-continue"
            and self.request_version >= "HTTP/1.1"
            and not self.handle_expect_100()
        ):
            return False
        return True

    def _read_headers(self) -> tuple[int, str] | None:
        """Read the header block into ``self.headers``; ``(status, message)`` when it is refused: 431 past
        MAX_HEADER_BYTES or 100 lines (as ``http.client`` counts them), 400 for a line that is not a header."""
        pairs: list[list[str]] = []
        total = 0
        readline = self.rfile.readline
        while True:
            line = readline(_MAX_HEADER_LINE + 1)
            if len(line) > _MAX_HEADER_LINE:
                return 431, "Line too long"
            if line in (b"\r\n", b"\n", b""):
                break
            total += len(line) + 2
            if total > MAX_HEADER_BYTES:
                return 431, "Request header fields too large"
            if len(pairs) >= _MAX_HEADERS:
                return 431, "Too many headers"
            text = line.decode("iso-8859-1")
            if text[0] in " \t":  # an obsolete folded continuation of the previous header
                if not pairs:
                    return 400, "Bad header line"
                pairs[-1][1] += text
                continue
            name, colon, value = text.partition(":")
            if not colon or not _HEADER_NAME.fullmatch(name):
                return 400, "Bad header line"
            pairs.append([name, value.lstrip(" \t")])
        self.headers = Headers([(name, value.rstrip("\r\n")) for name, value in pairs])  # type: ignore[assignment]
        return None

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """The whole answer (status line, headers, JSON body) in one write."""
        self._answered = True
        data = json.dumps(payload).encode()
        self.log_request(status)
        if self.request_version == "HTTP/0.9":  # body only, no status line
            self.wfile.write(data)
            return
        lines = [
            f"{self.protocol_version} {status} {_reason(status)}\r\nServer: {self.server_version}\r\n"
            f"Date: {_http_date()}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        ]
        lines.extend(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        out = "".join(lines).encode("latin-1")
        self.wfile.write(out + data if self.command != "HEAD" else out)
