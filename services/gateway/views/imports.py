"""Imports: `POST {B}/imports` (a file of awards, streamed to the badges service in chunks of
rows), and `/systems/:s/imports[/:id[/results]]` (read, list, cancel, the results file).

The upload is never held whole: the body is read a chunk at a time (`streamed_body`), its
records parsed as they complete (`import_file`), and every `CHUNK_ROWS` rows go to the badges
service (`AddImportRows`), which stores them before the next chunk is read. Its hash is checked
against the token once it has all been read, before the import is started
(`FinishImportUpload`): a body that does not match its token awards nothing, and its rows are
discarded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from services.gateway.import_file import FileReader, Kind
from services.gateway.keys import body_check_key
from services.gateway.middleware import keeps_cached_reads, streams_body
from services.gateway.render import json_response
from services.gateway.responses.imports import (
    ImportAccepted,
    ImportCancelled,
    ImportList,
    ImportReply,
)
from services.gateway.routes import CONTEXTS, SYSTEM, Answer, Raw, Route
from services.gateway.streamed_body import HashingStream
from services.gateway.validation import choice, validate
from services.gateway.views.common import ask_badges, scope
from shared.errors import InvalidContent, NotAuthorized, UnsupportedMediaType, ValidationFailed
from shared.messages.imports import (
    CHUNK_ROWS,
    STATES,
    AddImportRows,
    CancelImport,
    DiscardImport,
    FinishImportUpload,
    GetImport,
    ImportOptions,
    ImportRow,
    ListImportResults,
    ListImports,
    StartImport,
)

OPTIONS = ("dryRun", "duplicates", "notify")
MEDIA_TYPES: dict[str, Kind] = {"text/csv": "csv", "application/x-ndjson": "ndjson"}
# A chunk of rows also goes once this much of the file has been read since the last one, so a
# message stays small however long the rows are.
CHUNK_BYTES = 256 * 1024
RESULT_COLUMNS = (
    "row",
    "email",
    "outcome",
    "slug",
    "assertionUrl",
    "openBadgeCredentialUrl",
    "error",
)
RESULTS_PAGE = 2000


class _Upload:
    """The file part of the body: its kind and its chunks."""

    def __init__(self, kind: Kind, chunks: AsyncIterator[bytes]) -> None:
        self.kind = kind
        self.chunks = chunks


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while True:
        try:
            chunk = await part.read_chunk()
        except (ValueError, AssertionError, RuntimeError, HttpProcessingError):
            raise InvalidContent("The multipart body could not be read") from None
        if not chunk:
            return
        yield chunk


def _kind_of_part(part: BodyPartReader) -> Kind:
    media_type = part.headers.get("Content-Type", "").split(";")[0].strip().lower()
    name = (part.filename or "").lower()
    if media_type in ("application/x-ndjson", "application/jsonl") or name.endswith(
        (".ndjson", ".jsonl")
    ):
        return "ndjson"
    return "csv"


async def _upload(request: web.Request, body: HashingStream, options: dict[str, str]) -> _Upload:
    """Where the file is in the body; form fields before it are options."""
    media_type = request.content_type
    if media_type in MEDIA_TYPES:
        return _Upload(MEDIA_TYPES[media_type], body.chunks())
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType(
            "Send the file as multipart/form-data (field `file`), text/csv or application/x-ndjson"
        )
    try:
        reader = MultipartReader(request.headers, body)  # type: ignore[arg-type]
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "file":
                return _Upload(_kind_of_part(part), _part_chunks(part))
            if part.name in OPTIONS:
                options[part.name] = (await part.read(decode=False)).decode("utf-8", "replace")
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError):
        raise InvalidContent("The multipart body could not be read") from None
    raise ValidationFailed([{"field": "file", "value": "", "message": "Required field"}])


async def _checked(request: web.Request, body: HashingStream) -> None:
    """The body's hash against its token (403 when it does not match)."""
    request[body_check_key](await body.hexdigest())


@streams_body
@keeps_cached_reads
async def import_file(request: web.Request) -> web.Response:
    body = HashingStream(request.content)
    options = {name: value for name, value in request.query.items() if name in OPTIONS}
    system = request.match_info["system"]
    import_id = None
    try:
        upload = await _upload(request, body, options)
        chosen = validate(ImportOptions, options)
        reader = FileReader(upload.kind)
        pending: list[ImportRow] = []
        read = 0
        async for chunk in upload.chunks:
            pending += reader.feed(chunk)
            read += len(chunk)
            if len(pending) >= CHUNK_ROWS or (pending and read >= CHUNK_BYTES):
                if import_id is None:
                    import_id = await _start(request, chosen)
                await _send(request, system, import_id, pending)
                pending, read = [], 0
        pending += reader.finish()
        if import_id is None:
            import_id = await _start(request, chosen)
        await _send(request, system, import_id, pending)
        await _checked(request, body)
        job = await ask_badges(request, FinishImportUpload(system=system, import_id=import_id))
    except Exception as error:
        if import_id is not None:
            await ask_badges(request, DiscardImport(system=system, import_id=import_id))
        if not isinstance(error, NotAuthorized):
            # A body that is not its token's is a 403, whatever else is wrong with it.
            await _checked(request, body)
        raise
    if chosen.dry_run:
        return json_response({"import": job})
    return json_response({"status": "accepted", "import": job}, status=202)


async def _start(request: web.Request, options: ImportOptions) -> Any:
    job = await ask_badges(
        request,
        StartImport(scope=scope(request), badge=request.match_info["badge"], options=options),
    )
    return job["id"]


async def _send(request: web.Request, system: str, import_id: Any, rows: list[ImportRow]) -> None:
    while rows:
        chunk, rows = rows[:CHUNK_ROWS], rows[CHUNK_ROWS:]
        await ask_badges(request, AddImportRows(system=system, import_id=import_id, rows=chunk))


async def list_imports(request: web.Request) -> web.Response:
    state = choice(request, "state", {state: state for state in STATES}, "") or None
    query = ListImports(system=request.match_info["system"], state=state)
    return json_response({"imports": await ask_badges(request, query)})


def _import_id(request: web.Request) -> str:
    return request.match_info["importId"]


async def get_import(request: web.Request) -> web.Response:
    query = GetImport(system=request.match_info["system"], import_id=_import_id(request))
    return json_response({"import": await ask_badges(request, query)})


@keeps_cached_reads
async def cancel_import(request: web.Request) -> web.Response:
    command = CancelImport(system=request.match_info["system"], import_id=_import_id(request))
    return json_response({"status": "cancelled", "import": await ask_badges(request, command)})


def _csv(rows: list[dict[str, Any]], *, header: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(RESULT_COLUMNS)
    writer.writerows([row[column] for column in RESULT_COLUMNS] for row in rows)
    return out.getvalue().encode()


async def import_results(request: web.Request) -> web.StreamResponse:
    """The results as CSV, streamed a page of rows at a time."""
    system, import_id = request.match_info["system"], _import_id(request)
    query = ListImportResults(system=system, import_id=import_id, limit=RESULTS_PAGE)
    rows = await ask_badges(request, query)  # a 404 is answered before anything is sent
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="import-{import_id}-results.csv"',
        }
    )
    await response.prepare(request)
    await response.write(_csv(rows, header=True))
    while len(rows) == RESULTS_PAGE:
        query = ListImportResults(
            system=system, import_id=import_id, after_row=rows[-1]["row"], limit=RESULTS_PAGE
        )
        rows = await ask_badges(request, query)
        await response.write(_csv(rows))
    await response.write_eof()
    return response


TAG = "imports"
_ERROR = Raw("application/json", {"$ref": "#/components/schemas/Error"})
_FILE = {
    "description": (
        "The file: CSV (UTF-8, with or without a BOM; `,` or `;`; a header line naming the"
        " columns email, name, issuedOn, expires, evidenceUrl, narrative, holderOcId,"
        " holderAddress, comment) or JSON lines with the same keys. `narrative` (Markdown, how"
        " the award was earned) becomes the `narrative` of the award's Open Badges 2.0"
        " assertion and of its 3.0 credential's subject. Options in the query string, or as"
        " form fields before the file."
    ),
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "dryRun": {"type": "boolean"},
                    "duplicates": {"type": "string", "enum": ["skip", "allow", "fail"]},
                    "notify": {"type": "boolean"},
                    "file": {"type": "string", "contentMediaType": "text/csv"},
                },
                "required": ["file"],
            }
        },
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}
IMPORT = f"{SYSTEM}/imports/{{importId}}"
ROUTES = [
    *[
        Route(
            "POST",
            f"{context}/badges/{{badge}}/imports",
            import_file,
            "Import awards of a badge from a file (a dry run only validates it)",
            TAG,
            status=202,
            query=OPTIONS,
            reply=ImportAccepted,
            request_body=_FILE,
            also=(
                Answer(200, ImportReply, "A dry run: the import, `validated`, with its problems"),
                Answer(409, _ERROR, "`ResourceConflict`: the badge is archived"),
                Answer(
                    415,
                    _ERROR,
                    "`UnsupportedMediaType`: send multipart/form-data, text/csv or"
                    " application/x-ndjson",
                ),
            ),
        )
        for context in CONTEXTS
    ],
    Route(
        "GET",
        f"{SYSTEM}/imports",
        list_imports,
        "List the system's imports, newest first",
        TAG,
        query=("state",),
        reply=ImportList,
    ),
    Route("GET", IMPORT, get_import, "An import: its state and counts", TAG, reply=ImportReply),
    Route(
        "DELETE",
        IMPORT,
        cancel_import,
        "Cancel a running import (awards made stay)",
        TAG,
        reply=ImportCancelled,
        also=(Answer(409, _ERROR, "`ResourceConflict`: the import has finished"),),
    ),
    Route(
        "GET",
        f"{IMPORT}/results",
        import_results,
        "The results: one CSV record per row of the file",
        TAG,
        reply=Raw("text/csv", {"type": "string", "contentMediaType": "text/csv"}),
    ),
]
