"""Imports (bulk awards of a badge from a file): the upload, stored chunk by chunk and validated
row by row against the badge; reading, listing and cancelling an import; its results. The awards
themselves are the runner's (`services.badges.importing`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import imports as domain
from services.badges.domain.awarding import AwardRules
from services.badges.errors import NoValidRow, not_found
from services.badges.lookups import find_badge
from services.badges.repository.imports import UNFINISHED, StoredRow
from shared.context import MessageHandler
from shared.errors import Conflict
from shared.messages.base import Message
from shared.messages.common import Scope
from shared.messages.imports import (
    MAX_PROBLEMS,
    AddImportRows,
    CancelImport,
    DiscardImport,
    FinishImportUpload,
    GetImport,
    ImportCompleted,
    ListImportResults,
    ListImports,
    StartImport,
)


async def _system_id(ctx: Ctx, system: str) -> int:
    place = await repository(ctx).scopes.resolve(Scope(system=system))
    ctx.system_id = place.system_id
    return place.system_id


def _import_id(given: str | uuid.UUID) -> uuid.UUID:
    try:
        return given if isinstance(given, uuid.UUID) else uuid.UUID(given)
    except ValueError:
        raise not_found("import", "id", str(given)) from None


async def _found(ctx: Ctx, system: str, given: str | uuid.UUID, *, lock: bool = False) -> Any:
    system_id = await _system_id(ctx, system)
    import_id = _import_id(given)
    imports = repository(ctx).imports
    row = await (imports.lock if lock else imports.get)(system_id, import_id)
    if row is None:
        raise not_found("import", "id", str(given))
    return row


async def start_import(cmd: StartImport, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    AwardRules.of(badge).check_awardable()
    row = await repository(ctx).imports.create(
        uuid.uuid4(),
        badge["system_id"],
        badge["id"],
        {
            "dry_run": cmd.options.dry_run,
            "duplicates": cmd.options.duplicates,
            "notify": cmd.options.notify,
        },
        ctx.envelope.correlation_id,
    )
    return domain.present(row)


async def add_import_rows(cmd: AddImportRows, ctx: Ctx) -> dict[str, Any]:
    """Store a chunk: each valid row checked against the badge (its dates, its holder)."""
    job = await _found(ctx, cmd.system, cmd.import_id)
    if job["state"] != "validating":
        raise Conflict(f"Import {job['id']} is not being uploaded")
    repo = repository(ctx)
    badge = await repo.badges.get(job["badge_id"])
    now = datetime.now(UTC)
    stored = []
    for row in cmd.rows:
        problems = [problem.to_data() for problem in row.problems]
        if row.award is not None:
            problems += domain.check_row(badge, row.row, row.award, now)
        valid = row.award is not None and not problems
        stored.append(
            StoredRow(
                row.row,
                row.email,
                row.award.to_data() if valid and row.award is not None else None,
                problems or None,
            )
        )
    await repo.imports.add_rows(job["id"], stored)
    return {"rows": len(stored)}


async def finish_import_upload(cmd: FinishImportUpload, ctx: Ctx) -> dict[str, Any]:
    job = await _found(ctx, cmd.system, cmd.import_id, lock=True)
    if job["state"] != "validating":
        return domain.present(job)  # finished already (a redelivery would get its reply)
    imports = repository(ctx).imports
    await imports.mark_repeats(job["id"])
    total, valid = await imports.counts(job["id"])
    problems = await imports.first_problems(job["id"], MAX_PROBLEMS)
    if not valid:
        # Refused: the uploader discards the import (`DiscardImport`), as for any broken upload.
        message = "The file has no rows" if not total else "No row of the file is valid"
        # BadgeKit's field details (`field`), each with its row and column as an import's problem.
        details = [{"field": problem["column"], **problem} for problem in problems]
        raise NoValidRow(message, details=details)
    state = "validated" if job["dry_run"] else "running"
    row = await imports.set_validated(job["id"], state, total, total - valid, problems)
    if state == "running":
        ctx.after_commit.append(ctx.deps.imports_waiting.set)
    return domain.present(row)


async def discard_import(cmd: DiscardImport, ctx: Ctx) -> dict[str, Any]:
    job = await _found(ctx, cmd.system, cmd.import_id, lock=True)
    if job["state"] == "validating":
        await repository(ctx).imports.delete(job["id"])
    return {"discarded": str(job["id"])}


async def get_import(query: GetImport, ctx: Ctx) -> dict[str, Any]:
    return domain.present(await _found(ctx, query.system, query.import_id))


async def list_imports(query: ListImports, ctx: Ctx) -> list[dict[str, Any]]:
    system_id = await _system_id(ctx, query.system)
    rows = await repository(ctx).imports.of_system(system_id, query.state)
    return [domain.present(row) for row in rows]


async def cancel_import(cmd: CancelImport, ctx: Ctx) -> dict[str, Any]:
    """Awards made stay; the rows not run yet are left without an outcome."""
    job = await _found(ctx, cmd.system, cmd.import_id, lock=True)
    if job["state"] not in UNFINISHED:
        raise Conflict(f"Import {job['id']} has finished ({job['state']})")
    row = await repository(ctx).imports.finish(job["id"], "cancelled")
    ctx.emit(
        ImportCompleted(system=cmd.system, import_=domain.present(row, problems=False)),
        system_id=row["system_id"],
    )
    return domain.present(row)


async def list_import_results(query: ListImportResults, ctx: Ctx) -> list[dict[str, Any]]:
    job = await _found(ctx, query.system, query.import_id)
    rows = await repository(ctx).imports.results(job["id"], query.after_row, query.limit)
    return [domain.result(row, ctx.deps.base_url) for row in rows]


HANDLERS: dict[type[Message], MessageHandler[Deps]] = {
    StartImport: start_import,
    AddImportRows: add_import_rows,
    FinishImportUpload: finish_import_upload,
    DiscardImport: discard_import,
    GetImport: get_import,
    ListImports: list_imports,
    CancelImport: cancel_import,
    ListImportResults: list_import_results,
}
