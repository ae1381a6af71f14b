"""Synced records as a table (Qt-free): columns from the records' keys, compact cells, ``_nango_metadata``
columns, and CSV / JSONL export of loaded records."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

from nango_desktop.domain.workbench import METADATA_COLUMNS, METADATA_KEY

CELL_MAX = 200  # characters of a nested value shown in a cell (the detail view has the rest)
# Record keys shown first when present (the rest follow in first-seen order).
PREFERRED_KEYS = ("id", "name", "title", "email")


def record_keys(records: Iterable[dict[str, Any]], known: Sequence[str] = ()) -> list[str]:
    """Data keys (no ``_nango_metadata``) in a stable order: ``known`` first (columns already shown stay
    where they are), then ``id``/``name``/... , then first-seen order."""
    seen = dict.fromkeys(known)
    fresh: dict[str, None] = {}
    for record in records:
        for key in record:
            if key != METADATA_KEY and key not in seen and key not in fresh:
                fresh[key] = None
    preferred = [k for k in PREFERRED_KEYS if k in fresh]
    return [*seen, *preferred, *(k for k in fresh if k not in PREFERRED_KEYS)]


def compact(value: Any, limit: int = CELL_MAX) -> str:
    """A one-line cell: strings as they are, nested values as compact JSON, cut at ``limit``."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    text = " ".join(text.split()) if ("\n" in text or "\t" in text) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def metadata(record: dict[str, Any], field: str) -> Any:
    meta = record.get(METADATA_KEY)
    return meta.get(field) if isinstance(meta, dict) else None


def table_columns(keys: Sequence[str]) -> list[tuple[str, str]]:
    """(column id, title): the data keys, then the metadata columns (ids ``_nango_metadata.<field>``)."""
    return [(k, k) for k in keys] + [(f"{METADATA_KEY}.{f}", title) for f, title in METADATA_COLUMNS]


def cell_value(record: dict[str, Any], column: str) -> Any:
    if column.startswith(METADATA_KEY + "."):
        return metadata(record, column[len(METADATA_KEY) + 1 :])
    return record.get(column)


def write_jsonl(out: IO[str], records: Iterable[dict[str, Any]]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


def write_csv(out: IO[str], records: Sequence[dict[str, Any]], keys: Sequence[str] | None = None) -> int:
    """CSV of the records: one column per data key (nested values as JSON), then the metadata columns."""
    keys = list(keys) if keys is not None else record_keys(records)
    columns = table_columns(keys)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c for c, _ in columns])
    for record in records:
        writer.writerow([_csv_cell(cell_value(record, c)) for c, _ in columns])
    return len(records)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
