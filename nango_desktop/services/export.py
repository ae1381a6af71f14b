"""Export connections to CSV or JSON (Qt-free; run it off the GUI thread).

CSV has one flat row per connection (the columns of the Connections table plus ids, tags and error log
ids); cells that a spreadsheet would run as a formula are prefixed with ``'``. JSON is a list of the
connections as the API returned them, plus the derived ``customer`` and ``status``. The list endpoint
carries no credentials, so neither does an export. Files are written atomically (temporary file in the same
directory, fsync, rename): a cancelled or failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from nango_desktop.services.errors import CancelledError

Format = Literal["csv", "json"]
Progress = Callable[[int, int | None, str], None]

CSV_COLUMNS = (
    "customer",
    "email",
    "organization",
    "integration",
    "connection_id",
    "created",
    "status",
    "end_user_id",
    "organization_id",
    "provider",
    "auth_error_log_id",
    "sync_error_log_id",
    "tags",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHECK_EVERY = 1000


def csv_record(conn: Any) -> dict[str, str]:
    """The flat CSV row of one connection."""
    info = conn.customer
    return {
        "customer": info.customer or conn.connection_id,
        "email": info.email or "",
        "organization": info.organization,
        "integration": conn.provider_config_key,
        "connection_id": conn.connection_id,
        "created": conn.created,
        "status": conn.status,
        "end_user_id": info.end_user_id or "",
        "organization_id": info.organization_id or "",
        "provider": conn.provider,
        "auth_error_log_id": conn.auth_error_log_id or "",
        "sync_error_log_id": conn.sync_error_log_id or "",
        "tags": json.dumps(conn.tags, ensure_ascii=False, sort_keys=True) if conn.tags else "",
    }


def json_record(conn: Any) -> dict[str, Any]:
    """The JSON object of one connection: the API fields plus ``customer`` and ``status``."""
    return {
        **conn.model_dump(mode="json", exclude_none=True),
        "customer": conn.customer.customer or conn.connection_id,
        "status": conn.status,
    }


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): ``=cmd()`` becomes ``'=cmd()``."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def format_for(path: str | os.PathLike[str]) -> Format:
    return "json" if Path(path).suffix.lower() == ".json" else "csv"


def export_connections(
    path: str | os.PathLike[str],
    connections: Sequence[Any],
    fmt: Format | None = None,
    *,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> int:
    """Write ``connections`` to ``path`` (format from ``fmt`` or the suffix); returns the number written."""
    fmt = fmt or format_for(path)
    writer = _write_json if fmt == "json" else _write_csv
    with _atomic(Path(path), newline="" if fmt == "csv" else None) as fh:
        writer(fh, connections, cancel, progress)
    return len(connections)


def _tick(i: int, total: int, cancel: threading.Event | None, progress: Progress | None) -> None:
    if i % _CHECK_EVERY:
        return
    if cancel is not None and cancel.is_set():
        raise CancelledError(None, "Export cancelled")
    if progress is not None:
        progress(i, total, f"Exporting… {i:,} of {total:,}")


def _write_csv(fh: IO[str], connections: Sequence[Any], cancel, progress) -> None:
    writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    total = len(connections)
    for i, conn in enumerate(connections):
        _tick(i, total, cancel, progress)
        writer.writerow({k: safe_cell(v) for k, v in csv_record(conn).items()})


def _write_json(fh: IO[str], connections: Sequence[Any], cancel, progress) -> None:
    total = len(connections)
    fh.write("[")
    for i, conn in enumerate(connections):
        _tick(i, total, cancel, progress)
        fh.write(",\n  " if i else "\n  ")
        fh.write(json.dumps(json_record(conn), ensure_ascii=False, sort_keys=True))
    fh.write("\n]\n" if total else "]\n")


@contextmanager
def _atomic(path: Path, *, newline: str | None) -> Iterator[IO[str]]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_rows(
    path: str | os.PathLike[str],
    rows: Sequence[Any],
    fmt: Format | None = None,
    *,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> int:
    """``export_connections`` of compact rows (``domain.connection_rows``): their full models built here, on
    the worker."""
    from nango_desktop.domain.connection_rows import models_of

    return export_connections(path, models_of(rows), fmt, cancel=cancel, progress=progress)
