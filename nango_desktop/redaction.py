"""One place that decides what is secret in text and headers (Qt-free, standard library only).

Everything that writes text a user or a log can see goes through :func:`redact`: the log filter
(``logsetup``), the CLI's ``Error:`` lines, the client's error details (``services.errors``), the GUI's
error dialogs and crash reports (``qtutil.errors``). It masks

- every secret value registered with :func:`register` (API keys, signing keys, credentials read), **and the
  common encodings of each**: any letter case, JSON string escapes, URL-encoding (``quote``/``quote_plus``), hex of its bytes,
  and base64 (standard and URL-safe, padded or not, also where the value sits inside a longer base64 text,
  such as ``Basic base64(user:key)``, at any of the three byte alignments). A server that echoes the key
  transformed in an error message does not get it printed;
- secret shapes without knowing the value: bearer/basic credentials, Nango secret keys and connect-session
  tokens, 64-hex-digit digests, the values of credential-like fields in JSON, query strings and
  ``key=value`` text.

:func:`is_sensitive_header` decides by pattern which request headers are stored or shown masked
(``Authorization``, cookies, and any name that says key, token, secret, password, credential, session or
auth: ``X-Nango-Secret-Key``, ``X-Api-Key``, ``X-Auth-Token``, ``Stripe-Secret``...).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
MIN_SECRET_CHARS = 6  # shorter values would mask ordinary words
_MIN_FRAGMENT = 8  # shortest base64 fragment kept for a value embedded in longer base64

_SENSITIVE_FIELDS = (
    r"access_token|refresh_token|id_token|session_token|token|api_key|apikey|api_secret|secret_key|secret"
    r"|secretKey|client_secret|password|passwd|private_key|signing_key|webhook_secret|authorization"
    r"|x-nango-hmac-sha256|x-nango-signature|oauth_token_secret|consumer_secret|credentials?"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token> / Basic <b64>
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"), rf"\1 {MASK}"),
    # Connect session tokens and Nango secret keys by shape.
    (re.compile(r"nango_connect_session_[A-Za-z0-9_-]+"), f"nango_connect_session_{MASK}"),
    (re.compile(r"\b(?:nango_sk|sk|nango_secret)[-_][A-Za-z0-9_-]{8,}"), MASK),
    # "field": "value" (JSON, reprs with quotes)
    (
        re.compile(rf"""(?i)(["']?(?:{_SENSITIVE_FIELDS})["']?\s*[:=]\s*)(["'])((?:\\.|(?!\2).)*)\2"""),
        rf"\1\2{MASK}\2",
    ),
    # field=value / field: value without quotes (query strings, headers, key=value logs)
    (
        re.compile(
            rf"(?i)\b((?:{_SENSITIVE_FIELDS})\b\s*[:=]\s*)"
            rf"(?![\"'\[{{(]|(?:bearer|basic)\s|[^\s&,;]*{re.escape(MASK)})[^\s&,;\"'}})\]]+"
        ),
        rf"\1{MASK}",
    ),
    # Bare UUIDs that follow a key-ish word (Nango secret keys are UUIDs); plain connection UUIDs stay.
    (
        re.compile(
            r"(?i)\b((?:key|secret)\w*\W{1,4})[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
        ),
        rf"\1{MASK}",
    ),
    # Hex digests of 64 chars (HMAC-SHA256 / sha256 signatures) anywhere.
    (re.compile(r"\b[0-9a-fA-F]{64}\b"), MASK),
)

_SENSITIVE_HEADER = re.compile(
    r"(?:^|[-_])(?:authorization|cookie|set-cookie)$"  # also prefixed: Proxy-Authorization, Nango-Proxy-Cookie
    r"|(?:^|[-_])(?:key|apikey|token|secret|password|passwd|credentials?|session|auth)(?:$|[-_])"
    r"|api-?key|secret|token|password"
)
_NOT_SENSITIVE_HEADERS = frozenset({"x-nango-hmac-sha256", "x-nango-signature", "provider-config-key"})
# received signatures are shown for the signature check (they sign one body, they are not keys); Nango's
# Provider-Config-Key names an integration.

_lock = threading.Lock()
_secrets: set[str] = set()
_variants: set[str] = set()
_pattern: re.Pattern[str] | None = None


def variants(value: str) -> set[str]:
    """The forms in which ``value`` may come back in a server's message."""
    raw = value.encode("utf-8")
    forms = {value, quote(value, safe=""), quote_plus(value), raw.hex(), json.dumps(value)[1:-1]}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode("ascii")
        forms |= {whole, whole.rstrip("=")}
        for offset in (0, 1, 2):  # the value inside a longer base64 text, at each byte alignment
            encoded = encode(b"\0" * offset + raw + b"\0\0").decode("ascii")
            first = -(-offset // 3) * 4  # the first 4-char group made of the value's bytes only
            last = (offset + len(raw)) // 3 * 4  # the end of the last such group
            fragment = encoded[first:last]
            if len(fragment) >= _MIN_FRAGMENT:
                forms.add(fragment)
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


def register(value: str | None) -> None:
    """Mask this value, and its encodings, everywhere from now on (keys of this run, credentials read)."""
    if not value or len(value) < MIN_SECRET_CHARS:
        return
    global _pattern
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _variants.update(variants(value))
        _pattern = _compile(_variants)


def registered() -> tuple[str, ...]:
    with _lock:
        return tuple(_secrets)


def forget(value: str) -> None:
    """Stop masking ``value`` (tests; a key removed for good)."""
    global _pattern
    with _lock:
        _secrets.discard(value)
        _variants.clear()
        for kept in _secrets:
            _variants.update(variants(kept))
        _pattern = _compile(_variants)


def _compile(forms: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(forms), key=len, reverse=True)  # the longest form wins where forms overlap
    return re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with registered secrets (and ``secrets``), their encodings, and secret shapes masked."""
    if not text:
        return text
    with _lock:
        pattern = _pattern
    extra = [s for s in secrets if s and len(s) >= MIN_SECRET_CHARS and s not in _secrets]
    if extra:
        pattern = _compile({*_variants, *(form for s in extra for form in variants(s))})
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for shape, replacement in _PATTERNS:
        text = shape.sub(replacement, text)
    return text


def is_sensitive_header(name: str) -> bool:
    """True for headers whose values are credentials, by name pattern (not a fixed list)."""
    lower = name.strip().lower()
    return lower not in _NOT_SENSITIVE_HEADERS and bool(_SENSITIVE_HEADER.search(lower))


def redact_headers(headers: Mapping[str, str], mask: str = MASK) -> dict[str, str]:
    """A copy of ``headers`` with the values of sensitive ones replaced by ``mask``."""
    return {name: (mask if is_sensitive_header(name) else value) for name, value in headers.items()}
