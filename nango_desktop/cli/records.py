"""`records list|models`: synced records of a connection (GET /records, every page, streamed)."""

from __future__ import annotations

import argparse
import csv
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from nango_desktop.cli.common import EXIT_OK, CliContext, print_table
from nango_desktop.domain.records import cell_value, compact, record_keys, table_columns
from nango_desktop.domain.workbench import RECORD_FILTERS, RECORDS_MAX_IDS, RECORDS_MAX_LIMIT

log = logging.getLogger(__name__)
FORMATS = ("table", "json", "jsonl", "csv")
TABLE_CELL = 40  # characters per table cell (json/jsonl/csv are complete)


def modified_after_arg(value: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date-time: {value!r} (e.g. 2026-05-31T11:46:13.390Z)"
        ) from None
    return value


def page_size_arg(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= RECORDS_MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"page size must be 1..{RECORDS_MAX_LIMIT}, not {value!r}")
    return size


def ids_arg(value: str) -> list[str]:
    ids = [v.strip() for v in value.split(",") if v.strip()]
    if not ids or len(ids) > RECORDS_MAX_IDS:
        raise argparse.ArgumentTypeError(f"1..{RECORDS_MAX_IDS} comma-separated ids")
    return ids


def _records(args: argparse.Namespace, ctx: CliContext) -> Iterator[list[dict[str, Any]]]:
    from nango_desktop.services.workbench import Workbench

    with ctx.client() as client:
        pages = Workbench(client).iter_records(
            args.connection,
            args.integration,
            args.model,
            page_size=args.page_size,
            filter=args.filter,
            modified_after=args.modified_after,
            ids=args.ids,
            variant=args.variant,
        )
        for page in pages:
            yield page.records


def cmd_records_list(args: argparse.Namespace, ctx: CliContext) -> int:
    count = _WRITERS[args.format](ctx.stdout, _records(args, ctx))
    log.info("Listed %d %s records", count, args.model)
    if args.format == "table":
        ctx.print(f"\n{count} record(s)")
    return EXIT_OK


def _write_jsonl(out: IO[str], pages: Iterable[list[dict]]) -> int:
    count = 0
    for records in pages:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += len(records)
        out.flush()
    return count


def _write_json(out: IO[str], pages: Iterable[list[dict]]) -> int:
    count = 0
    out.write("[")
    for records in pages:
        for record in records:
            out.write(",\n" if count else "\n")
            out.write(json.dumps(record, ensure_ascii=False))
            count += 1
        out.flush()
    out.write("\n]\n" if count else "]\n")
    return count


def _write_csv(out: IO[str], pages: Iterable[list[dict]]) -> int:
    """Columns from the first page's keys (then the metadata columns); keys first seen on a later page go
    to a final ``_extra`` column as JSON, so the stream never has to be rewritten."""
    writer = csv.writer(out, lineterminator="\n")
    columns: list[str] | None = None
    known: set[str] = set()
    count = 0
    for records in pages:
        if columns is None:
            keys = record_keys(records)
            known = set(keys)
            columns = [c for c, _ in table_columns(keys)]
            writer.writerow([*columns, "_extra"])
        for record in records:
            extra = {k: v for k, v in record.items() if k not in known and k != "_nango_metadata"}
            writer.writerow(
                [_csv(cell_value(record, c)) for c in columns]
                + [json.dumps(extra, ensure_ascii=False) if extra else ""]
            )
        count += len(records)
        out.flush()
    if columns is None:
        writer.writerow([c for c, _ in table_columns([])] + ["_extra"])
    return count


def _csv(value: Any) -> str:
    return compact(value, limit=10**9) if not isinstance(value, str) else value


def _write_table(out: IO[str], pages: Iterable[list[dict]]) -> int:
    rows = [r for records in pages for r in records]
    columns = table_columns(record_keys(rows))
    table = [[compact(cell_value(r, c), TABLE_CELL) for c, _ in columns] for r in rows]
    print_table(out, [title.upper() for _, title in columns], table)
    return len(rows)


_WRITERS = {"table": _write_table, "json": _write_json, "jsonl": _write_jsonl, "csv": _write_csv}


def cmd_records_models(args: argparse.Namespace, ctx: CliContext) -> int:
    """The models of the connection's syncs, with their record counts."""
    from nango_desktop.services.workbench import Workbench

    with ctx.client() as client:
        syncs = Workbench(client).sync_status(args.integration, args.connection)
    rows = []
    for sync in syncs:
        for model, count in (sync.recordCount or {}).items():
            rows.append([model, sync.name, sync.variant or "base", str(count)])
    print_table(ctx.stdout, ["MODEL", "SYNC", "VARIANT", "RECORDS"], rows)
    return EXIT_OK


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connection", metavar="ID", required=True, help="connection id")
    parser.add_argument("--integration", metavar="I", required=True, help="integration id (unique key)")


def register(sub: argparse._SubParsersAction) -> None:
    records = sub.add_parser("records", help="synced records of a connection")
    rsub = records.add_subparsers(dest="records_command", metavar="COMMAND", required=True)

    lst = rsub.add_parser("list", help="every record of one model (all pages, streamed)")
    add_connection_args(lst)
    lst.add_argument("--model", metavar="M", required=True, help="the model (see `records models`)")
    lst.add_argument("--filter", choices=RECORD_FILTERS, help="only added, updated or deleted records")
    lst.add_argument("--modified-after", metavar="T", type=modified_after_arg, help="ISO 8601 date-time")
    lst.add_argument(
        "--ids", metavar="ID,ID", type=ids_arg, help=f"only these record ids (<= {RECORDS_MAX_IDS})"
    )
    lst.add_argument("--variant", metavar="V", help="the sync variant (default: base)")
    lst.add_argument("--format", choices=FORMATS, default="table")
    lst.add_argument("--page-size", type=page_size_arg, default=1000, metavar="N", help="records per request")
    lst.set_defaults(func=cmd_records_list)

    models = rsub.add_parser("models", help="the models of the connection's syncs, with record counts")
    add_connection_args(models)
    models.set_defaults(func=cmd_records_models)
