"""The app's shared clients: one ``NangoClient`` per profile, shared by every task of that profile (one
rate-limit budget and connection pool); ``close()`` on it does nothing, the context closes it at shutdown."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def close_client(client: Any) -> None:
    try:
        getattr(client, "really_close", client.close)()
    except Exception:  # noqa: BLE001 - closing must not fail shutdown
        log.debug("Closing a client failed", exc_info=True)


_SHARED_CLASS: type | None = None


def shared_client_class() -> type:
    """NangoClient whose close()/__exit__ do nothing, so ``with ctx.client() as c:`` cannot break others."""
    global _SHARED_CLASS
    if _SHARED_CLASS is None:
        from nango_desktop.services.api import NangoClient

        class SharedNangoClient(NangoClient):
            def close(self) -> None:
                """Shared by the app; closed by AppContext.shutdown()."""

            def really_close(self) -> None:
                NangoClient.close(self)

        _SHARED_CLASS = SharedNangoClient
    return _SHARED_CLASS
