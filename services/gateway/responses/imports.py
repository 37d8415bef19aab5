"""Imports: bulk awards from a file (`services.badges.domain.imports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.gateway.responses.envelopes import Shown

State = Literal["validating", "running", "completed", "failed", "cancelled", "validated"]


class ImportProblem(Shown):
    row: int = Field(examples=[3], description="Counting records from 1 after the header")
    column: str = Field(examples=["email"])
    value: str = Field(examples=["not-an-email"])
    message: str = Field(examples=["Invalid email"])


class ImportRows(Shown):
    total: int = Field(examples=[3000])
    done: int = Field(examples=[1500])
    awarded: int = Field(examples=[1490])
    skipped: int = Field(examples=[6])
    failed: int = Field(examples=[4])


class Import(Shown):
    """An import: its state, its rows' counts, the first 1,000 problems found by validation."""

    id: str = Field(examples=["4b0c8f4e-2f7e-4a53-9b1e-3c8e0d0b9e21"])
    badge: str = Field(examples=["reader"])
    state: State = Field(examples=["running"])
    dry_run: bool = Field(examples=[False])
    duplicates: Literal["skip", "allow", "fail"] = Field(examples=["skip"])
    notify: bool = Field(examples=[True])
    rows: ImportRows
    problems: list[ImportProblem]
    created_at: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    started_at: datetime | None = Field(examples=["2024-05-01T12:00:01+00:00"])
    finished_at: datetime | None = Field(examples=[None])
    rate_per_s: float | None = Field(
        examples=[3200.0], description="Rows a second from startedAt to finishedAt (or now)"
    )


class ImportReply(Shown):
    import_: Import = Field(alias="import")


class ImportAccepted(ImportReply):
    status: Literal["accepted"]


class ImportCancelled(ImportReply):
    status: Literal["cancelled"]


class ImportList(Shown):
    imports: list[Import]
