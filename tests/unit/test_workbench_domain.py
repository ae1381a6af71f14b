"""Qt-free workbench pieces: the input schema checker, record table helpers and export, Copy as curl (never
the API key), the run history (never a credential), scripts config parsing."""

from __future__ import annotations

import csv
import io
import json
import shlex

import pytest

from nango_desktop.domain import jsonschema_lite
from nango_desktop.domain.curl import as_curl
from nango_desktop.domain.records import compact, record_keys, table_columns, write_csv, write_jsonl
from nango_desktop.domain.workbench import SCRIPTS_ADAPTER, ProxyRequest, ScriptFunction, SyncRef
from nango_desktop.store.workbench import MASK, WorkbenchHistory

# -- input schema --------------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "owner": {"type": "string", "minLength": 1},
        "count": {"type": "integer"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "state": {"enum": ["open", "closed"]},
        "assignee": {"$ref": "#/definitions/User"},
        "due": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["owner"],
    "additionalProperties": False,
    "definitions": {
        "User": {"type": "object", "required": ["login"], "properties": {"login": {"type": "string"}}}
    },
}


def test_valid_input_passes():
    value = {
        "owner": "o",
        "count": 2,
        "labels": ["a"],
        "state": "open",
        "assignee": {"login": "x"},
        "due": None,
    }
    assert jsonschema_lite.validate(value, SCHEMA) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, "$.owner: required property missing"),
        ({"owner": ""}, "$.owner: needs at least 1 character(s)"),
        ({"owner": "o", "count": 1.5}, "$.count: expected integer, got number"),
        ({"owner": "o", "count": True}, "$.count: expected integer, got boolean"),
        ({"owner": "o", "labels": ["a", 3]}, "$.labels[1]: expected string, got integer"),
        ({"owner": "o", "state": "gone"}, "$.state: must be one of 'open', 'closed'"),
        ({"owner": "o", "assignee": {}}, "$.assignee.login: required property missing"),
        ({"owner": "o", "due": 3}, "$.due: matches none of the allowed shapes"),
        ({"owner": "o", "extra": 1}, "$.extra: unknown property"),
        ([], "$: expected object, got array"),
    ],
)
def test_invalid_input_is_explained(value, expected):
    assert expected in jsonschema_lite.validate(value, SCHEMA)


def test_no_schema_means_no_check():
    assert jsonschema_lite.validate({"anything": 1}, None) == []


def test_action_input_schema_from_definitions_or_legacy_fields():
    modern = ScriptFunction(name="a", input="In", json_schema={"definitions": {"In": SCHEMA}})
    assert modern.input_schema()["required"] == ["owner"]
    legacy = ScriptFunction(
        name="b",
        input={
            "name": "In",
            "fields": [{"name": "q", "value": "string"}, {"name": "n", "value": "number", "optional": True}],
        },
    )
    schema = legacy.input_schema()
    assert schema["required"] == ["q"] and schema["properties"]["n"] == {"type": "number"}
    assert jsonschema_lite.validate({"n": 1}, schema) == ["$.q: required property missing"]
    assert ScriptFunction(name="c").input_schema() is None


def test_scripts_config_accepts_the_list_and_the_documented_object():
    one = {"providerConfigKey": "g", "syncs": [{"name": "s", "returns": ["Issue"]}], "actions": None}
    assert SCRIPTS_ADAPTER.validate_json(json.dumps([one]))[0].syncs[0].model_names == ["Issue"]
    assert SCRIPTS_ADAPTER.validate_json(json.dumps(one))[0].providerConfigKey == "g"


def test_sync_ref_notation():
    assert SyncRef.parse("issues::v2") == SyncRef("issues", "v2")
    assert SyncRef.parse("issues").as_body() == "issues"
    assert SyncRef("issues", "base").as_body() == "issues"


# -- records ---------------------------------------------------------------------------------------------------

RECORDS = [
    {
        "title": "A",
        "id": "1",
        "meta": {"x": [1, 2]},
        "_nango_metadata": {"last_action": "ADDED", "deleted_at": None},
    },
    {
        "id": "2",
        "extra": "line\nbreak",
        "_nango_metadata": {"last_action": "DELETED", "deleted_at": "2026-01-02"},
    },
]


def test_record_keys_put_id_first_and_keep_known_columns():
    assert record_keys(RECORDS) == ["id", "title", "meta", "extra"]
    assert record_keys(RECORDS, known=["meta"]) == ["meta", "id", "title", "extra"]
    assert [c for c, _ in table_columns(["id"])][1:3] == [
        "_nango_metadata.first_seen_at",
        "_nango_metadata.last_modified_at",
    ]


def test_compact_cells():
    assert compact({"x": [1, 2]}) == '{"x":[1,2]}'
    assert compact("line\nbreak") == "line break"
    assert compact(None) == "" and compact(True) == "true"
    assert compact("x" * 300, 10) == "x" * 9 + "…"


def test_export_csv_and_jsonl_keep_everything():
    out = io.StringIO()
    assert write_jsonl(out, RECORDS) == 2
    assert [json.loads(line) for line in out.getvalue().splitlines()] == RECORDS
    out = io.StringIO()
    write_csv(out, RECORDS)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["meta"] == '{"x":[1,2]}' and rows[1]["extra"] == "line\nbreak"
    assert (
        rows[1]["_nango_metadata.deleted_at"] == "2026-01-02" and rows[0]["_nango_metadata.deleted_at"] == ""
    )


# -- copy as curl ----------------------------------------------------------------------------------------------


def test_curl_never_contains_the_api_key_but_a_variable():
    key = "sk-live-0123456789abcdef"
    request = ProxyRequest(
        "POST",
        "/repos/o/r/issues",
        "conn-1",
        "github",
        query=[("q", "a b")],
        headers=[
            ("Accept", "application/json"),
            ("X-Api-Key", "provider-secret-123"),
            ("Authorization", "Bearer tok-999"),
        ],
        body='{"title": "it\'s"}',
        retries=2,
        base_url_override="https://api.example.com",
    )
    command = as_curl("https://api.nango.dev", request)
    assert key not in command
    assert "provider-secret-123" not in command and "tok-999" not in command
    words = shlex.split(command)
    assert "Authorization: Bearer ${NANGO_SECRET_KEY}" in words
    assert "Connection-Id: conn-1" in words and "Provider-Config-Key: github" in words
    assert "Retries: 2" in words and "Base-Url-Override: https://api.example.com" in words
    assert "Nango-Proxy-Accept: application/json" in words
    assert "https://api.nango.dev/proxy/repos/o/r/issues?q=a+b" in words
    assert words[words.index("--data-raw") + 1] == '{"title": "it\'s"}'


# -- history -----------------------------------------------------------------------------------------------


def test_history_masks_secrets_keeps_the_last_n_per_profile(tmp_path):
    history = WorkbenchHistory(tmp_path / "wb.sqlite3", keep=3)
    try:
        for i in range(5):
            history.add(
                "dev", "action", integration_id="github", connection_id="c", name=f"a{i}",
                request={"owner": "o", "api_key": "k-123", "nested": {"access_token": "t-456"}},
                duration=0.5, ok=True, status=200,
            )  # fmt: skip
        history.add(
            "dev", "proxy", integration_id="github", connection_id="c", name="GET /user",
            request={"headers": [["Accept", "json"], ["Authorization", "Bearer p-789"]]}, duration=0.1, ok=False,
            status=404, summary="HTTP 404",
        )  # fmt: skip
        history.add(
            "prod",
            "action",
            integration_id="g",
            connection_id="c",
            name="x",
            request=None,
            duration=0,
            ok=True,
        )
        actions = history.recent("dev", "action")
        assert [r.name for r in actions] == ["a4", "a3", "a2"]
        assert actions[0].request == {"owner": "o", "api_key": MASK, "nested": {"access_token": MASK}}
        assert history.recent("dev", "proxy")[0].request["headers"] == [
            ["Accept", "json"],
            ["Authorization", MASK],
        ]
        assert [r.name for r in history.recent("prod", "action")] == ["x"]
    finally:
        history.close()
    raw = (tmp_path / "wb.sqlite3").read_bytes()
    assert b"k-123" not in raw and b"t-456" not in raw and b"p-789" not in raw
