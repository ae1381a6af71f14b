"""``Copy as curl`` for proxy requests (Qt-free). The API key is NEVER in the command: the Authorization
header refers to an environment variable (``$NANGO_SECRET_KEY``) that the user sets in their shell."""

from __future__ import annotations

import shlex
from urllib.parse import quote, urlencode

from nango_desktop.domain.workbench import ProxyRequest
from nango_desktop.redaction import is_sensitive_header

KEY_ENV = "NANGO_SECRET_KEY"
# Header values the user typed that look like credentials are replaced too (they would end up in a chat):
# nango_desktop.redaction.is_sensitive_header decides, as for everything else.


def proxy_url(base_url: str, request: ProxyRequest) -> str:
    path = request.path if request.path.startswith("/") else "/" + request.path
    url = base_url.rstrip("/") + "/proxy" + quote(path, safe="/:@!$&'()*+,;=-._~%")
    if request.query:
        url += "?" + urlencode(request.query)
    return url


def proxy_headers(request: ProxyRequest) -> list[tuple[str, str]]:
    """The headers Nango's proxy expects (without Authorization)."""
    headers = [("Connection-Id", request.connection_id), ("Provider-Config-Key", request.integration_id)]
    if request.retries is not None:
        headers.append(("Retries", str(request.retries)))
    if request.base_url_override:
        headers.append(("Base-Url-Override", request.base_url_override))
    for name, value in request.headers:
        headers.append((name if name.lower().startswith("nango-proxy-") else f"Nango-Proxy-{name}", value))
    return headers


def as_curl(base_url: str, request: ProxyRequest, *, key_env: str = KEY_ENV) -> str:
    """A curl command line for ``request``; the key is ``$NANGO_SECRET_KEY``, secret-looking provider
    headers become ``$PROXY_HEADER_<N>`` placeholders."""
    parts = ["curl", "-sS", "-X", request.method.upper(), shlex.quote(proxy_url(base_url, request))]
    # Double quotes so the shell expands the variable; the name itself is a fixed identifier.
    parts += ["-H", f'"Authorization: Bearer ${{{key_env}}}"']
    for index, (name, value) in enumerate(proxy_headers(request)):
        if name.lower().startswith("nango-proxy-") and is_sensitive_header(name):
            parts += ["-H", f'"{name}: ${{PROXY_HEADER_{index}}}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.body:
        if not any(n.lower() in ("content-type", "nango-proxy-content-type") for n, _ in request.headers):
            parts += ["-H", shlex.quote("Content-Type: application/json")]
        parts += ["--data-raw", shlex.quote(request.body)]
    return " ".join(parts)
