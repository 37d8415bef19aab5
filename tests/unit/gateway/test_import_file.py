"""Reading an import's file as it streams in: records split wherever chunks end, separators
sniffed, quoted fields, BOMs and line endings, the columns checked, each row validated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.gateway.import_file import FileReader, FileRefused, Kind
from shared.messages.imports import ImportRow


def read(data: bytes, kind: Kind = "csv", step: int = 0) -> list[ImportRow]:
    """The file's rows, fed `step` bytes at a time (all at once with 0)."""
    reader = FileReader(kind)
    rows: list[ImportRow] = []
    size = step or len(data) or 1
    for start in range(0, len(data), size):
        rows += reader.feed(data[start : start + size])
    return rows + reader.finish()


def problems(row: ImportRow) -> list[tuple[str, str]]:
    return [(p.column, p.message) for p in row.problems]


class TestRecords:
    @pytest.mark.parametrize("step", [0, 1, 2, 3, 7, 64])
    def test_the_same_rows_whatever_the_chunks(self, step: int) -> None:
        data = (
            '\ufeffemail;name;comment\r\na@example.org;"Ann; ""A""";"two\r\nlines"\r\n'
            "b@example.org;Bob;\r\n"
        ).encode()

        rows = read(data, step=step)

        assert [(row.row, row.email) for row in rows] == [
            (1, "a@example.org"),
            (2, "b@example.org"),
        ]
        first = rows[0].award
        assert first is not None
        assert first.name == 'Ann; "A"'
        assert first.comment == "two\r\nlines"

    def test_commas_lf_and_a_last_line_without_a_break(self) -> None:
        rows = read(b"email,name\na@example.org,Ann\n\nb@example.org,Bob")

        assert [row.row for row in rows] == [1, 2]  # a blank line is no record
        assert rows[1].award is not None
        assert rows[1].award.name == "Bob"

    def test_a_file_that_is_not_utf8_is_refused(self) -> None:
        with pytest.raises(FileRefused, match="UTF-8"):
            read(b"email\n\xff\xfe@example.org\n")

    def test_an_empty_file_is_refused(self) -> None:
        with pytest.raises(FileRefused, match="empty"):
            read(b"")

    def test_extra_fields_are_a_problem_of_their_row(self) -> None:
        [row] = read(b"email\na@example.org,surplus\n")

        assert row.award is None
        assert problems(row) == [("", "The record has 2 fields; the header names 1")]


class TestColumns:
    def test_an_unknown_column_refuses_the_file_naming_it(self) -> None:
        with pytest.raises(FileRefused) as refused:
            read(b"email,grade\na@example.org,A\n")

        assert "'grade'" in refused.value.message
        assert refused.value.details == [
            {"field": "grade", "value": "grade", "message": "Unknown column"}
        ]

    def test_a_file_without_an_email_column_is_refused(self) -> None:
        with pytest.raises(FileRefused, match="email"):
            read(b"name\nAnn\n")

    def test_a_json_line_with_an_unknown_key_refuses_the_file(self) -> None:
        with pytest.raises(FileRefused, match="grade"):
            read(b'{"email": "a@example.org", "grade": "A"}\n', "ndjson")


class TestRows:
    def test_every_column_reaches_the_award(self) -> None:
        data = (
            b"email,name,issuedOn,expires,evidenceUrl,narrative,holderOcId,holderAddress,comment\n"
            b"a@example.org,Ann,2024-05-01,2999-01-01T00:00:00+02:00,https://example.org/e,"
            b"Read it all,,0x1111111111111111111111111111111111111111,Well done\n"
        )

        [row] = read(data)

        award = row.award
        assert award is not None, row.problems
        assert award.issued_on == datetime(2024, 5, 1, tzinfo=UTC)
        assert award.expires == datetime(2998, 12, 31, 22, tzinfo=UTC)
        assert award.evidence == "https://example.org/e"
        assert award.narrative == "Read it all"
        assert award.holder_address == "0x1111111111111111111111111111111111111111"
        assert award.comment == "Well done"

    def test_dates_are_iso_dates_date_times_with_an_offset_or_unix_seconds(self) -> None:
        rows = read(
            b"email,issuedOn\n"
            b"a@example.org,1714557600\n"
            b"b@example.org,2024-05-01T10:00:00Z\n"
            b"c@example.org,2024-05-01T10:00:00\n"
            b"d@example.org,yesterday\n"
        )

        assert rows[0].award is not None
        assert rows[0].award.issued_on == datetime(2024, 5, 1, 10, tzinfo=UTC)
        assert rows[1].award is not None
        assert [column for column, _ in problems(rows[2])] == ["issuedOn"]
        assert "offset" in problems(rows[2])[0][1]
        assert [column for column, _ in problems(rows[3])] == ["issuedOn"]

    def test_each_problem_names_its_row_column_and_value(self) -> None:
        rows = read(b"email,evidenceUrl\nnot-an-email,ftp://x\n")

        assert [(p.row, p.column, p.value) for p in rows[0].problems] == [
            (1, "email", "not-an-email"),
            (1, "evidenceUrl", "ftp://x"),
        ]

    def test_a_nul_is_a_problem_not_a_failure(self) -> None:
        [row] = read(b"email,name\na@example.org,A\x00nn\n")

        assert row.award is None
        assert [p.column for p in row.problems] == ["name"]

    def test_json_lines_take_numbers_and_nulls(self) -> None:
        rows = read(
            b'{"email": "a@example.org", "issuedOn": 1714557600, "name": null}\n[1, 2]\n',
            "ndjson",
        )

        assert rows[0].award is not None
        assert rows[0].award.issued_on == datetime(2024, 5, 1, 10, tzinfo=UTC)
        assert problems(rows[1]) == [("", "Not a JSON object")]
