"""`/docs`: the OpenAPI document in Swagger UI, with requests signed in the page; without
JavaScript, a table of every route (nothing fetched from elsewhere either way)."""

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


def _table(spec: dict[str, Any]) -> str:
    rows = [
        _row(path, method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]
    schemas = [_schema(name, schema) for name, schema in spec["components"]["schemas"].items()]
    return (
        "<h2>Routes</h2><table><tr><th>Method</th><th>Path</th><th>What</th><th>Body</th>"
        f"<th>Reply</th></tr>{''.join(rows)}</table>"
        f"<h2>Schemas</h2>{''.join(schemas)}"
    )


_SIGNING = (
    '<form id="signing" class="signing" method="dialog" hidden>'
    "<p>“Try it out” signs each request with a BadgeKit token made in this page from the key"
    " and secret below (an HS256 JWT valid for 60 seconds). The secret stays in this page: it"
    " is neither stored nor sent.</p>"
    '<label for="signing-key">API key <input id="signing-key" name="key" value="master"'
    ' autocomplete="off" autocapitalize="off" spellcheck="false"></label>'
    '<label for="signing-secret">Secret <input id="signing-secret" name="secret"'
    ' type="password" autocomplete="off"></label>'
    '<p id="signing-insecure" class="signing-note" hidden>This browser signs only on a secure'
    " page (HTTPS, or localhost): paste a ready-made token into “Authorize” instead.</p>"
    "</form>"
)


def page(spec: dict[str, Any], urls: dict[str, str]) -> str:
    """The page: Swagger UI (started by `docs.js`) on `/openapi.json`, with a form for the key
    and secret that sign "Try it out"; without JavaScript, a table of every route and schema.
    `urls` maps each asset's file name to its URL. No inline script or style (the page's CSP
    allows neither)."""
    title = f"{html.escape(spec['info']['title'])} API {html.escape(spec['info']['version'])}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        f'<link rel="icon" href="{urls["favicon-32x32.png"]}">'
        f'<link rel="stylesheet" href="{urls["swagger-ui.css"]}">'
        f'<link rel="stylesheet" href="{urls["docs.css"]}">'
        f'<script src="{urls["swagger-ui-bundle.js"]}" defer></script>'
        f'<script src="{urls["docs.js"]}" defer></script>'
        '</head><body><header class="docs-header">'
        f"<h1>{title}</h1>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>'
        f"{_SIGNING}</header>"
        '<main><div id="swagger-ui" data-spec-url="/openapi.json"></div>'
        '<noscript><div class="docs-fallback">'
        "<p>Trying requests from this page needs JavaScript; here is every route.</p>"
        f"<p>{html.escape(spec['info']['description'])}</p>"
        f"{_table(spec)}</div></noscript></main></body></html>"
    )
