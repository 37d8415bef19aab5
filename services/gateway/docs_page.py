"""`/docs`: the OpenAPI document as a page to read (no script, nothing fetched from elsewhere)."""

from __future__ import annotations

import html
from typing import Any


def _link(reference: dict[str, Any] | None) -> str:
    if not reference or "$ref" not in reference:
        return ""
    name = html.escape(reference["$ref"].rsplit("/", 1)[1])
    return f'<a href="#{name}">{name}</a>'


def _success(operation: dict[str, Any]) -> str:
    """The first 2xx reply: its status and a link to its schema."""
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            content = response.get("content", {})
            media: dict[str, Any] = next(iter(content.values()), {})
            return f"{status} {_link(media.get('schema'))}"
    return ""


def _row(path: str, method: str, operation: dict[str, Any]) -> str:
    body = operation.get("requestBody")
    # A body of another kind (an import's file) has no JSON model to link.
    json_body = body["content"].get("application/json") if body else None
    model = _link(json_body["schema"]) if json_body else ""
    lock = "" if operation["security"] else " (public)"
    return (
        f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
        f"<td>{html.escape(operation['summary'])}{lock}</td><td>{model}</td>"
        f"<td>{_success(operation)}</td></tr>"
    )


def _described(prop: dict[str, Any]) -> str:
    description = prop.get("description")
    return f": {html.escape(str(description))}" if description else ""


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    fields = "".join(
        f"<li><code>{html.escape(field)}</code>{' (required)' if field in required else ''}"
        f"{_described(prop)}</li>"
        for field, prop in schema.get("properties", {}).items()
    )
    return f'<h3 id="{html.escape(name)}">{html.escape(name)}</h3><ul>{fields}</ul>'


def page(spec: dict[str, Any]) -> str:
    rows = [
        _row(path, method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]
    schemas = [_schema(name, schema) for name, schema in spec["components"]["schemas"].items()]
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Plaudit API</title>"
        "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td{border-bottom:1px solid #ddd;padding:.3em .6em}"
        "</style></head><body>"
        f"<h1>{html.escape(spec['info']['title'])} API {html.escape(spec['info']['version'])}</h1>"
        f"<p>{html.escape(spec['info']['description'])}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>'
        "<h2>Routes</h2><table><tr><th>Method</th><th>Path</th><th>What</th><th>Body</th>"
        f"<th>Reply</th></tr>{''.join(rows)}</table>"
        f"<h2>Schemas</h2>{''.join(schemas)}</body></html>"
    )
