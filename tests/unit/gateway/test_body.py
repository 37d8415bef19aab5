from __future__ import annotations

import pytest

from services.gateway.body import parse_body
from shared.errors import InvalidContent, UnsupportedMediaType, ValidationFailed
from shared.storable import NOT_STORABLE


def test_json_object() -> None:
    body = parse_body("application/json; charset=utf-8", b'{"slug": "s", "n": 1}')
    assert body.fields == {"slug": "s", "n": 1}
    assert body.raw == b'{"slug": "s", "n": 1}'


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"{broken"])
def test_json_must_be_an_object(raw: bytes) -> None:
    with pytest.raises(InvalidContent):
        parse_body("application/json", raw)


def test_form_with_lists() -> None:
    body = parse_body(
        "application/x-www-form-urlencoded", b"slug=s&tags[]=a&tags[]=b&cat=x&cat=y&empty="
    )
    assert body.fields == {"slug": "s", "tags": ["a", "b"], "cat": ["x", "y"], "empty": ""}


def test_multipart_fields_and_files() -> None:
    raw = (
        b'--B\r\nContent-Disposition: form-data; name="slug"\r\n\r\nchicago\r\n'
        b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--B--\r\n"
    )
    body = parse_body("multipart/form-data; boundary=B", raw)
    assert body.fields == {"slug": "chicago"}
    assert body.files["image"].filename == "a.png"
    assert body.files["image"].content_type == "image/png"
    assert body.files["image"].data == b"\x89PNG\r\n\x1a\n"


def test_empty_body() -> None:
    assert parse_body("", b"").fields == {}


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/xml"])
def test_other_media_types(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        parse_body(content_type, b"slug=x")


class TestJsonSentAsSomethingElse:
    """`curl -d '{...}'` sends JSON typed as a form; some clients send it untyped."""

    @pytest.mark.parametrize(
        "content_type", ["application/x-www-form-urlencoded", "", "application/octet-stream"]
    )
    def test_read_as_the_json_it_is(self, content_type: str) -> None:
        raw = b' \n{"slug": "s", "tags": ["a"]}'
        body = parse_body(content_type, raw)
        assert body.fields == {"slug": "s", "tags": ["a"]}
        assert body.raw == raw

    def test_a_json_list_is_refused_as_json_would_be(self) -> None:
        with pytest.raises(InvalidContent, match="must be a JSON object"):
            parse_body("application/x-www-form-urlencoded", b"[1, 2]")

    def test_a_form_that_does_not_parse_as_json_stays_a_form(self) -> None:
        body = parse_body("application/x-www-form-urlencoded", b"{slug=s&name=n")
        assert body.fields == {"{slug": "s", "name": "n"}

    def test_another_type_is_told_what_to_send(self) -> None:
        with pytest.raises(
            UnsupportedMediaType, match=r"looks like JSON.*text/plain.*application/json"
        ):
            parse_body("text/plain; charset=UTF-8", b'{"slug": "s"}')


class TestTextPostgresCannotStore:
    def test_a_nul_anywhere_in_json_is_refused_naming_each_place(self) -> None:
        raw = b'{"name": "a\\u0000", "extra": {"k\\u0000": 1}, "list": [["ok", "\\u0000"]]}'
        with pytest.raises(ValidationFailed) as caught:
            parse_body("application/json", raw)
        assert caught.value.details == [
            {"field": "name", "value": "a\x00", "message": NOT_STORABLE},
            {"field": "extra.k\x00", "value": "k\x00", "message": NOT_STORABLE},
            {"field": "list.0.1", "value": "\x00", "message": NOT_STORABLE},
        ]

    def test_in_a_form(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            parse_body("application/x-www-form-urlencoded", b"slug=s&tags[]=a%00")
        assert [d["field"] for d in caught.value.details] == ["tags.0"]

    def test_in_a_multipart_field(self) -> None:
        raw = b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\na\x00b\r\n--B--\r\n'
        with pytest.raises(ValidationFailed):
            parse_body("multipart/form-data; boundary=B", raw)

    def test_an_escaped_backslash_is_text_like_any_other(self) -> None:
        assert parse_body("application/json", b'{"name": "\\\\u0000"}').fields == {
            "name": "\\u0000"
        }
