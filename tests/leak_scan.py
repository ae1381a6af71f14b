"""Find secrets in the files the app wrote (issue 7, "secrets never leak").

``scan(roots, secrets)`` walks every file under ``roots`` (the app home's config/data/logs/cache dirs, the
QSettings ini, export folders...) and looks for each secret in the forms it could take on disk:

- as is (UTF-8), and UTF-16 (Qt, Windows tools);
- base64 (standard and URL-safe, with and without padding) of the secret *and* of ``user:secret`` shapes
  such as a Basic auth header: every one of the three base64 alignments is checked, so a secret embedded
  anywhere in a base64-encoded blob is found;
- URL-encoded (``quote`` and ``quote_plus``) and JSON-escaped;
- hex (lower/upper case).

SQLite files are scanned as raw bytes, and their ``-wal``/``-journal`` companions too (free pages of a
database can keep old rows). Returns a list of :class:`Hit` (empty = clean). Test helper; not shipped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

MIN_SECRET = 6  # shorter "secrets" match by accident


@dataclass(frozen=True)
class Hit:
    path: Path
    secret_label: str  # which secret (a label, never the value: this text ends up in test output)
    form: str  # "plain", "base64", "url", ...
    offset: int

    def __str__(self) -> str:
        return f"{self.secret_label} ({self.form}) in {self.path} at byte {self.offset}"


def _b64_fragments(value: bytes) -> list[tuple[str, bytes]]:
    """Substrings that appear in any base64 encoding of a text containing ``value``.

    For each of the three alignments of ``value`` inside the encoded stream, the characters encoding only
    bytes of ``value`` are fixed; those fragments are what we search for.
    """
    out: list[tuple[str, bytes]] = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value)
        # drop the characters that also encode the prefix or the (unknown) following bytes
        start = -(-(shift * 8) // 6)  # ceil: first character made of bits of ``value`` only
        end = ((shift + len(value)) * 8) // 6  # floor: past the last such character
        fragment = encoded[start:end]
        if len(fragment) >= MIN_SECRET:
            out.append(("base64", fragment))
            out.append(("base64url", fragment.replace(b"+", b"-").replace(b"/", b"_")))
    return out


def encodings(secret: str) -> list[tuple[str, bytes]]:
    """Every (form, bytes) under which ``secret`` is searched for."""
    raw = secret.encode("utf-8")
    forms: list[tuple[str, bytes]] = [
        ("plain", raw),
        ("utf-16-le", secret.encode("utf-16-le")),
        ("url", quote(secret, safe="").encode()),
        ("url+", quote_plus(secret).encode()),
        ("json", json.dumps(secret)[1:-1].encode()),
        ("hex", binascii.hexlify(raw)),
        ("HEX", binascii.hexlify(raw).upper()),
    ]
    forms += _b64_fragments(raw)
    seen: set[bytes] = set()
    unique = []
    for form, data in forms:
        if data not in seen:
            seen.add(data)
            unique.append((form, data))
    return unique


def iter_files(roots: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(p for p in sorted(root.rglob("*")) if p.is_file())
    return sorted(set(files))


def scan(
    roots: Iterable[Path],
    secrets: dict[str, Sequence[str]] | Sequence[str],
    *,
    exclude: Iterable[Path] = (),
) -> list[Hit]:
    """Hits of any secret, in any known encoding, in any file under ``roots`` (minus ``exclude``).

    ``secrets`` is ``{label: [values...]}`` (labels appear in failure messages, values never do) or a
    plain list (labelled ``secret #n``).
    """
    if not isinstance(secrets, dict):
        secrets = {f"secret #{i}": [s] for i, s in enumerate(secrets)}
    needles: list[tuple[str, str, bytes]] = []
    for label, values in secrets.items():
        for value in values:
            if value and len(value) >= MIN_SECRET:
                needles.extend((label, form, data) for form, data in encodings(value))
    skip = {Path(p).resolve() for p in exclude}
    hits: list[Hit] = []
    for path in iter_files(roots):
        if path.resolve() in skip:
            continue
        data = path.read_bytes()
        for label, form, needle in needles:
            offset = data.find(needle)
            if offset >= 0:
                hits.append(Hit(path, label, form, offset))
    return hits


def app_roots(home: Path) -> list[Path]:
    """Where the app writes under ``NANGO_DESKTOP_HOME``: config (incl. the QSettings ini), data, logs, cache."""
    return [home / sub for sub in ("config", "data", "logs", "cache")]
