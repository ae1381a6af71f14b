"""``nango-desktop --smoke-test``: prove an installed or frozen build works, end to end, in a few seconds.

Checks, each printed as ``ok``/``FAIL`` with a figure:
1. the keyring: which backend keyring picked, and that the OS backends were bundled (frozen builds have lost
   entry-point backends before: jaraco/keyring#324);
2. Qt: a QApplication (offscreen unless QT_QPA_PLATFORM says otherwise), the main window built, shown and painted;
3. the webhook listener on a free loopback port with a throwaway signing key: one correctly signed webhook is
   stored as ``verified``, one wrongly signed as ``invalid``, over real HTTP.
Exit code 0 when every check passed, 1 otherwise. Everything is written under a temporary NANGO_DESKTOP_HOME, so
the user's profiles, keyring and event store are never touched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

# Backends keyring must be able to load in a build for each platform.
_OS_BACKENDS = {
    "linux": "keyring.backends.SecretService",
    "darwin": "keyring.backends.macOS",
    "win32": "keyring.backends.Windows",
}


class _Report:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, name: str, fn: Callable[[], str]) -> None:
        try:
            detail = fn()
        except Exception as exc:
            self.failed += 1
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}", flush=True)
            if os.environ.get("NANGO_SMOKE_TRACEBACK"):
                traceback.print_exc()
        else:
            print(f"ok    {name}: {detail}", flush=True)


def _keyring_check(require_secure: bool) -> str:
    import importlib

    import keyring

    from nango_desktop.services.secrets import SecretStore

    module = _OS_BACKENDS.get(sys.platform)
    if module:
        importlib.import_module(module)  # raises if the backend was not bundled
    store = SecretStore()
    name = store.backend_name
    active = type(keyring.get_keyring()).__module__
    if require_secure and not store.is_secure:
        raise RuntimeError(f"no secure keyring backend is usable (active: {name}, {active})")
    return f"{name} ({active}; secure={store.is_secure})"


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    import http.client  # the listener check's own client: not on the way to the window (--startup-only)

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _listener_check(data_dir: Path) -> str:
    import secrets

    from nango_desktop.services.signing import sign_headers
    from nango_desktop.services.webhook_server import WebhookServer
    from nango_desktop.store.events import EventStore

    key = secrets.token_hex(16)
    store = EventStore(data_dir / "smoke-events.sqlite3")
    server = WebhookServer(store, profile="smoke", host="127.0.0.1", port=0, keys=lambda: [key])
    server.start()
    try:
        payload = {
            "connectionId": "smoke-connection",
            "from": "nango",
            "operation": "creation",
            "provider": "github",
            "providerConfigKey": "github",
            "success": True,
            "type": "auth",
        }
        good = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        bad = json.dumps(
            {**payload, "connectionId": "tampered"}, separators=(",", ":"), sort_keys=True
        ).encode()
        port, path = server.bound_port, server.path
        status_good = _post(port, path, good, sign_headers(key, good))
        status_bad = _post(port, path, bad, sign_headers("wrong-" + key, bad))
        events = {e.json().get("connectionId"): e for e in store.list(limit=10)}
    finally:
        server.stop()
        store.close()
    good_event, bad_event = events.get("smoke-connection"), events.get("tampered")
    if status_good // 100 != 2 or good_event is None or str(good_event.verification.status) != "verified":
        raise RuntimeError(f"signed webhook: HTTP {status_good}, stored={good_event is not None}")
    if bad_event is None or str(bad_event.verification.status) != "invalid":
        raise RuntimeError(f"wrongly signed webhook: HTTP {status_bad}, stored={bad_event is not None}")
    return f"signed -> HTTP {status_good} verified; wrongly signed -> HTTP {status_bad} invalid"


def _start_page_check(state: dict[str, object]) -> str:
    """After the first paint, as the app does: the context is attached (its settings read with their models),
    the start page is built, then the keyring work starts."""
    window, startup = state["window"], state["startup"]
    state["ctx"] = startup.finish()  # type: ignore[attr-defined]  # the context attached, then after_painted
    page = window.current_page()  # type: ignore[attr-defined]
    image = window.grab()  # type: ignore[attr-defined]
    name = page.objectName() if page is not None else ""
    if not name or name.endswith("PagePending"):
        raise RuntimeError(f"the start page was not built (current: {name or 'nothing'})")
    return f"{name} built and painted ({image.width()}x{image.height()})"


def run(*, startup_only: bool = False, require_secure_keyring: bool = False) -> int:
    """Run the smoke test; returns the process exit code."""
    t0 = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="nango-smoke-") as tmp:
        # NANGO_SMOKE_HOME: start with that home's saved profiles (benchmarks/bench_startup.py); else a fresh one
        os.environ["NANGO_DESKTOP_HOME"] = os.environ.get("NANGO_SMOKE_HOME") or tmp
        report = _Report()
        state: dict[str, object] = {}

        def gui() -> str:
            from nango_desktop import app

            qapp = app.create_application([sys.argv[0]])
            import gc

            if gc.isenabled():  # qtutil/collector.py: Qt objects in cycles must not die on a worker thread
                raise RuntimeError("the cyclic garbage collector still runs on whichever thread allocates")
            startup = app.Startup(qapp)  # as the app: the shell paints first, the context follows
            window = startup.open()
            window.resize(1280, 800)
            window.show()
            qapp.processEvents()
            image = window.grab()  # forces a paint of the whole window
            state["startup"], state["window"], state["ctx"] = startup, window, startup.ctx
            elapsed = (time.perf_counter() - t0) * 1000
            return (
                f"main window painted ({image.width()}x{image.height()}, {qapp.platformName()}) in {elapsed:.0f} ms;"
                " reference cycles collected on the GUI thread"
            )

        report.check("qt main window", gui)
        if not startup_only and state.get("window") is not None:
            report.check("start page", lambda: _start_page_check(state))
        if not startup_only:
            report.check("keyring", lambda: _keyring_check(require_secure_keyring))
            report.check("webhook listener", lambda: _listener_check(Path(tmp)))
        window, ctx = state.get("window"), state.get("ctx")
        if window is not None:
            window.close()  # type: ignore[attr-defined]
        if ctx is not None:
            ctx.shutdown(timeout=5.0)  # type: ignore[attr-defined]
    verdict = "passed" if not report.failed else f"FAILED ({report.failed} check(s))"
    print(f"smoke test {verdict} in {(time.perf_counter() - t0) * 1000:.0f} ms", flush=True)
    return 0 if not report.failed else 1
