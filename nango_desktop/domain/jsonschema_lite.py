"""A small JSON Schema checker for action inputs (Qt-free, no dependency).

Nango's action input schemas are generated from zod/TypeScript models: objects with typed properties,
``required``, arrays, enums, unions and ``$ref`` into ``definitions``. This checks exactly that subset and
ignores keywords it does not know (so an unusual schema never blocks a run: the server validates too).
Errors are plain sentences with a JSON path, e.g. ``$.owner: required property missing``.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}
MAX_ERRORS = 20


def _is_type(value: Any, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    kinds = _TYPES.get(name)
    return True if kinds is None else isinstance(value, kinds)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 20:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return {}
        target: Any = root
        for part in ref[2:].split("/"):
            target = (
                target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
            )
        if not isinstance(target, dict):
            return {}
        schema, seen = target, seen + 1
    return schema if isinstance(schema, dict) else {}


def validate(instance: Any, schema: dict[str, Any] | None) -> list[str]:
    """Problems of ``instance`` against ``schema`` (empty when valid or when there is no schema)."""
    if not schema:
        return []
    errors: list[str] = []
    _check(instance, schema, schema, "$", errors)
    return errors[:MAX_ERRORS]


def _check(value: Any, schema: Any, root: dict[str, Any], path: str, errors: list[str]) -> None:
    if len(errors) >= MAX_ERRORS or schema is True or not isinstance(schema, dict):
        if schema is False:
            errors.append(f"{path}: not allowed")
        return
    schema = _resolve(schema, root)
    for branch_key in ("anyOf", "oneOf"):
        branches = schema.get(branch_key)
        if isinstance(branches, list) and branches:
            if not any(not _sub(value, b, root, path) for b in branches):
                errors.append(f"{path}: matches none of the allowed shapes")
            return
    for sub in schema.get("allOf") or []:
        _check(value, sub, root, path, errors)
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, n) for n in names):
            errors.append(f"{path}: expected {' or '.join(map(str, names))}, got {_kind(value)}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        errors.append(f"{path}: must be one of {', '.join(map(repr, enum))}")
    if isinstance(value, dict):
        _check_object(value, schema, root, path, errors)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _check(item, items, root, f"{path}[{i}]", errors)
        if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
            errors.append(f"{path}: needs at least {schema['minItems']} item(s)")
    elif isinstance(value, str):
        if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
            errors.append(f"{path}: needs at least {schema['minLength']} character(s)")
        if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
            errors.append(f"{path}: at most {schema['maxLength']} character(s)")


def _check_object(value: dict, schema: dict, root: dict, path: str, errors: list[str]) -> None:
    found = schema.get("properties")
    props: dict = found if isinstance(found, dict) else {}
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(f"{path}.{name}: required property missing")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            _check(item, props[key], root, f"{path}.{key}", errors)
        elif extra is False:
            errors.append(f"{path}.{key}: unknown property")
        elif isinstance(extra, dict):
            _check(item, extra, root, f"{path}.{key}", errors)


def _sub(value: Any, schema: Any, root: dict, path: str) -> list[str]:
    found: list[str] = []
    _check(value, schema, root, path, found)
    return found


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )
