"""Whole examples of replies, put together from the examples their fields give: each field's
first example, a nested object's own example, one item per list. Keys a reply may leave out
appear only where they give an example of their own."""

from __future__ import annotations

from typing import Any

_FORMATS = {"date-time": "2024-05-01T12:00:00+00:00", "uri": "https://badges.example.org"}
_TYPES: dict[str, Any] = {"integer": 1, "number": 1, "boolean": True, "null": None}


def example_of(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """An example of `schema`, whose `$ref`s point into `schemas` (the document's components)."""
    if "$ref" in schema:
        return example_of(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    for keyword in ("examples", "enum"):
        if keyword in schema:
            return schema[keyword][0]
    if "const" in schema:
        return schema["const"]
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        chosen = [branch for branch in branches if branch != {"type": "null"}] or branches
        return example_of(chosen[0], schemas)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _object(schema, schemas)
    if kind == "array":
        return [example_of(schema["items"], schemas)] if "items" in schema else []
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), "string")
    return _TYPES.get(kind if isinstance(kind, str) else "null")


def _object(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", []))
    shown = {
        name: example_of(field, schemas)
        for name, field in schema.get("properties", {}).items()
        if name in required or "examples" in field
    }
    extra = schema.get("additionalProperties")
    if not shown and isinstance(extra, dict):
        shown["name"] = example_of(extra, schemas)
    return shown
