"""Imports: bulk awards of one badge from a file, run as a job by the badges service.

The gateway streams the file's rows to the badges service in chunks (`AddImportRows`) between
`StartImport` and `FinishImportUpload`: it never holds the whole file, and the badges service
stores each chunk as it comes. Each row travels validated (`ImportRowFields`, the award's own
field rules), or with its problems when it is not valid.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from shared.messages.base import Command, Event, Query
from shared.messages.common import Scope
from shared.messages.fields import Fields, OptionalLongText
from shared.messages.instances import AwardFields

Duplicates = Literal["skip", "allow", "fail"]
ImportState = Literal["validating", "running", "completed", "failed", "cancelled", "validated"]
STATES: tuple[str, ...] = ("validating", "running", "completed", "failed", "cancelled", "validated")
# The columns a file may have (DESIGN.md, Imports); `email` is required.
COLUMNS = (
    "email",
    "name",
    "issuedOn",
    "expires",
    "evidenceUrl",
    "narrative",
    "holderOcId",
    "holderAddress",
    "comment",
)
# Problems kept with an import (and answered): the first ones, by row.
MAX_PROBLEMS = 1000
# Rows of one `AddImportRows`: a chunk is about 100-300 kB on the wire.
CHUNK_ROWS = 500


class ImportOptions(Fields):
    dry_run: bool = False
    duplicates: Duplicates = "skip"
    notify: bool = True


class ImportRowFields(AwardFields):
    """A row of an import: an award's fields (BadgeKit's names: the file's `evidenceUrl` is the
    award's `evidence`), and its `narrative` (how it was earned, Markdown), which a single award
    has not: the `narrative` of its Open Badges 2.0 assertion and of its 3.0 credential's
    subject."""

    narrative: OptionalLongText = None


class Problem(Fields):
    row: int
    column: str
    value: str
    message: str


class ImportRow(Fields):
    """One record of the file: `row` counts records from 1 after the header; `email` as given
    (for the results); `award` when the row is valid, else its `problems`."""

    row: int
    email: Annotated[str, Field(max_length=2048)] = ""
    award: ImportRowFields | None = None
    problems: list[Problem] = []


class StartImport(Command):
    """Open an import of a badge (its upload follows): the import, state `validating`."""

    TYPE = "badges.start_import"
    scope: Scope
    badge: str
    options: ImportOptions


class AddImportRows(Command):
    """A chunk of an import's rows, stored as they come (a chunk sent again changes nothing)."""

    TYPE = "badges.add_import_rows"
    system: str
    import_id: uuid.UUID
    rows: list[ImportRow]


class FinishImportUpload(Command):
    """Every row has come: a dry run is `validated`; a file with no valid row is refused (400,
    with its problems, and nothing kept); otherwise the import is `running`."""

    TYPE = "badges.finish_import_upload"
    system: str
    import_id: uuid.UUID


class DiscardImport(Command):
    """An upload that broke off (an unreadable file, a body that does not match its token):
    the import and its rows are gone."""

    TYPE = "badges.discard_import"
    system: str
    import_id: uuid.UUID


class GetImport(Query):
    TYPE = "badges.get_import"
    system: str
    import_id: str  # as the path gives it: one that is no uuid names no import (404)


class ListImports(Query):
    TYPE = "badges.list_imports"
    system: str
    state: ImportState | None = None


class CancelImport(Command):
    """Stop an import that is running (its awards made stay); 409 once it has finished."""

    TYPE = "badges.cancel_import"
    system: str
    import_id: str  # as the path gives it: one that is no uuid names no import (404)


class ListImportResults(Query):
    """The results of an import's rows after `after_row`, at most `limit`, by row."""

    TYPE = "badges.list_import_results"
    system: str
    import_id: str  # as the path gives it: one that is no uuid names no import (404)
    after_row: int = 0
    limit: Annotated[int, Field(ge=1, le=5000)] = 1000


class ImportCompleted(Event):
    """An import ended (completed, cancelled or failed): `import_` is the import without its
    problems. Emitted whatever its `notify` (which silences only the per-award events)."""

    TYPE = "import.completed"
    system: str
    import_: Annotated[dict[str, Any], Field(alias="import")]
