"""Reading an import's file as it streams in: CSV (UTF-8 with or without a BOM, `,` or `;`
separators, quoted fields, CRLF or LF) or JSON lines, record by record, and each record as an
`ImportRow` validated with the award's own field rules.

`FileReader.feed(bytes)` returns the rows complete so far and keeps only the unfinished tail, so
memory stays flat whatever the file's size. A CSV record ends at a line break outside quotes:
with the quotes seen so far even in number (an escaped quote `""` counts two), a line break ends
the record.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from typing import Any, Literal

import orjson

from services.gateway.validation import validate
from shared.errors import InvalidContent, ValidationFailed
from shared.messages.imports import COLUMNS, ImportRow, ImportRowFields, Problem

Kind = Literal["csv", "ndjson"]
# A record longer than this (a quote never closed, say) refuses the file: memory stays bounded.
MAX_RECORD_BYTES = 1024 * 1024
# The file's column for each award field whose name differs.
_FIELD_OF = {"evidenceUrl": "evidence"}
_COLUMN_OF = {field: column for column, field in _FIELD_OF.items()}
_DATE_COLUMNS = ("issuedOn", "expires")
# A date-time (not a bare date, not a number) without a zone: DESIGN.md asks for an offset.
_NAIVE_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


class FileRefused(InvalidContent):
    """The whole file is refused (an unknown column, no `email` column, not UTF-8)."""


class FileReader:
    def __init__(self, kind: Kind) -> None:
        self._kind = kind
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._tail = ""
        # Of the unfinished record in `_tail`: how far its lines have been looked at, and the
        # quotes in them (CSV).
        self._scanned = 0
        self._quotes = 0
        self._header: list[str] | None = None
        self._delimiter = ","
        self._rows = 0

    @property
    def header(self) -> list[str] | None:
        return self._header

    @property
    def rows(self) -> int:
        return self._rows

    def feed(self, data: bytes) -> list[ImportRow]:
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError:
            raise FileRefused("The file is not UTF-8 text") from None
        return list(self._records(text, final=False))

    def finish(self) -> list[ImportRow]:
        """The rows of the last record (one without a final line break); raises when the file
        had no header."""
        try:
            text = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileRefused("The file is not UTF-8 text") from None
        rows = list(self._records(text, final=True))
        if self._header is None and self._kind == "csv":
            raise FileRefused("The file is empty: its first line must name the columns")
        return rows

    def _records(self, text: str, *, final: bool) -> Iterator[ImportRow]:
        tail = self._tail + text
        record_start, pos, quotes = 0, self._scanned, self._quotes
        while (end := tail.find("\n", pos)) >= 0:
            if self._kind == "csv":
                quotes += tail.count('"', pos, end + 1)
            pos = end + 1
            if quotes % 2:
                continue  # a line break inside quotes
            record, record_start, quotes = tail[record_start:pos], pos, 0
            row = self._record(record)
            if row is not None:
                yield row
        self._tail, self._scanned, self._quotes = tail[record_start:], pos - record_start, quotes
        if len(self._tail) > MAX_RECORD_BYTES:
            raise FileRefused(f"A record of the file is longer than {MAX_RECORD_BYTES} bytes")
        if final and self._tail.strip():
            record, self._tail, self._scanned, self._quotes = self._tail, "", 0, 0
            row = self._record(record)
            if row is not None:
                yield row

    def _record(self, record: str) -> ImportRow | None:
        if not record.strip():
            return None  # a blank line is no record
        if self._kind == "ndjson":
            return self._json_row(record)
        values = next(csv.reader([record], delimiter=self._delimiter, strict=False), [])
        if self._header is None:
            self._header = self._check_header(record, values)
            return None
        self._rows += 1
        return self._csv_row(self._rows, values)

    def _check_header(self, record: str, values: list[str]) -> list[str]:
        if ";" in record and "," not in record:
            self._delimiter = ";"
            values = next(csv.reader([record], delimiter=";"), [])
        header = [value.strip() for value in values]
        check_columns(header)
        return header

    def _csv_row(self, number: int, values: list[str]) -> ImportRow:
        assert self._header is not None
        header = self._header
        extra = values[len(header) :]
        given = dict(zip(header, values, strict=False))
        row = validate_row(number, given)
        if any(value.strip() for value in extra):
            problem = Problem(
                row=number,
                column="",
                value=_shown(self._delimiter.join(extra)),
                message=f"The record has {len(values)} fields; the header names {len(header)}",
            )
            return ImportRow(row=number, email=row.email, problems=[*row.problems, problem])
        return row

    def _json_row(self, record: str) -> ImportRow:
        self._rows += 1
        number = self._rows
        try:
            parsed = orjson.loads(record)
        except orjson.JSONDecodeError:
            problem = Problem(row=number, column="", value="", message="Not a JSON object")
            return ImportRow(row=number, problems=[problem])
        if not isinstance(parsed, dict):
            problem = Problem(row=number, column="", value="", message="Not a JSON object")
            return ImportRow(row=number, problems=[problem])
        check_columns(list(parsed), required=False)
        given = {key: _text(value) for key, value in parsed.items()}
        return validate_row(number, given)


def _shown(value: str, limit: int = 200) -> str:
    """A value as a problem or a result shows it: storable (no NUL), and not too long."""
    return value.replace("\x00", "\ufffd")[:limit]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def check_columns(header: list[str], *, required: bool = True) -> None:
    """Columns outside DESIGN.md's list refuse the whole file (400 naming each)."""
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        raise FileRefused(
            f"Unknown column {', '.join(repr(c) for c in unknown)}: the columns are "
            + ", ".join(COLUMNS),
            details=[
                {"field": column, "value": column, "message": "Unknown column"}
                for column in unknown
            ],
        )
    if required and "email" not in header:
        raise FileRefused(
            "The file has no `email` column",
            details=[{"field": "email", "value": "", "message": "Required column"}],
        )


def validate_row(number: int, given: dict[str, str]) -> ImportRow:
    """A record's values (by column) as an award's fields: the row, valid or with problems."""
    email = _shown(given.get("email", "").strip(), 2048)
    fields = {_FIELD_OF.get(column, column): value for column, value in given.items() if value}
    problems = [
        Problem(
            row=number,
            column=column,
            value=_shown(given[column]),
            message="A date-time needs its offset (2024-05-01T12:00:00Z or +02:00)",
        )
        for column in _DATE_COLUMNS
        if _NAIVE_DATE_TIME.match(given.get(column, "").strip())
    ]
    try:
        award = validate(ImportRowFields, fields)
    except ValidationFailed as error:
        problems += [_problem(number, detail, given) for detail in error.details or []]
        return ImportRow(row=number, email=email, problems=problems)
    if problems:
        return ImportRow(row=number, email=email, problems=problems)
    return ImportRow(row=number, email=email, award=award)


def _problem(number: int, detail: dict[str, Any], given: dict[str, str]) -> Problem:
    field = str(detail.get("field", "")).split(".")[0]
    column = _COLUMN_OF.get(field, field)
    value = given.get(column, detail.get("value", ""))
    return Problem(
        row=number,
        column=_shown(column),
        value=_shown(str(value)),
        message=_shown(str(detail.get("message")), 1000),
    )
