"""CSV / JSON export of connections."""

from __future__ import annotations

import csv
import json
import threading

import pytest

from nango_desktop.domain.models import Connection
from nango_desktop.services.errors import CancelledError
from nango_desktop.services.export import CSV_COLUMNS, export_connections, format_for, safe_cell


def make(i: int, **extra) -> Connection:
    data = {
        "id": i,
        "connection_id": f"conn-{i}",
        "provider": "github",
        "provider_config_key": "github-prod",
        "created": "2026-03-04T05:06:07.000Z",
        "tags": {
            "end_user_id": f"u{i}",
            "end_user_email": f"user{i}@example.com",
            "organization_id": "o1",
            "organization_display_name": "Acme",
        },
    }
    data.update(extra)
    return Connection.model_validate(data)


def test_csv_has_header_and_one_row_per_connection(tmp_path):
    conns = [
        make(1),
        make(2, errors=[{"type": "auth", "log_id": "L1"}]),
        make(3, tags={}, end_user={"id": "x"}),
    ]
    path = tmp_path / "out.csv"
    assert export_connections(path, conns) == 3
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["customer"] == "user1@example.com" and rows[0]["organization"] == "Acme"
    assert rows[0]["status"] == "ok" and json.loads(rows[0]["tags"])["end_user_id"] == "u1"
    assert rows[1]["status"] == "auth_error" and rows[1]["auth_error_log_id"] == "L1"
    assert rows[2]["customer"] == "x" and rows[2]["end_user_id"] == "x" and rows[2]["tags"] == ""


def test_csv_neutralises_formulas(tmp_path):
    path = tmp_path / "out.csv"
    export_connections(path, [make(1, tags={"end_user_display_name": '=HYPERLINK("http://evil")'})])
    with path.open(newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["customer"] == '\'=HYPERLINK("http://evil")'
    assert safe_cell("+1") == "'+1" and safe_cell("plain") == "plain" and safe_cell("") == ""


def test_json_round_trips_api_fields_plus_derived(tmp_path):
    conns = [make(1), make(2, errors=[{"type": "sync", "log_id": None}], metadata={"k": [1, 2]})]
    path = tmp_path / "out.JSON"
    assert format_for(path) == "json"
    export_connections(path, conns)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [d["connection_id"] for d in data] == ["conn-1", "conn-2"]
    assert data[1]["status"] == "sync_error" and data[1]["metadata"] == {"k": [1, 2]}
    assert data[0]["customer"] == "user1@example.com" and data[0]["tags"]["organization_id"] == "o1"
    assert "credentials" not in data[0]


def test_empty_exports_are_valid(tmp_path):
    export_connections(tmp_path / "e.json", [])
    assert json.loads((tmp_path / "e.json").read_text()) == []
    export_connections(tmp_path / "e.csv", [], "csv")
    assert (tmp_path / "e.csv").read_text().strip() == ",".join(CSV_COLUMNS)


def test_cancel_leaves_no_file_and_progress_is_reported(tmp_path):
    conns = [make(i) for i in range(2500)]
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done, total, message):
        seen.append(done)
        assert total == 2500 and "Exporting" in message
        if done >= 1000:
            cancel.set()

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CancelledError):
        export_connections(out / "big.csv", conns, cancel=cancel, progress=progress)
    assert list(out.iterdir()) == []
    assert seen == [0, 1000]


def test_overwrites_existing_file_atomically(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    path = out / "out.csv"
    path.write_text("old")
    export_connections(path, [make(1)])
    assert "conn-1" in path.read_text() and [p.name for p in out.iterdir()] == ["out.csv"]
