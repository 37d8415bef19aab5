"""What a submission to `POST /public/verify` asks the issuer to verify: JSON clients as before,
and the verification page's form, whose empty fields a browser sends too."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest

from services.gateway.verifying import submission
from shared.errors import InvalidContent
from tests.support.client import multipart

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJ2YyI6e319.c2ln"
URL = "https://badges.example.org/public/credentials/abc"


def content_of(found: object) -> bytes:
    return base64.b64decode(getattr(found, "content", "") or "")


class TestJsonClients:
    def test_a_url_body(self) -> None:
        found = submission("application/json", f'{{"url": "{URL}"}}'.encode())
        assert found.url == URL

    def test_a_credential_or_a_token_goes_as_it_came(self) -> None:
        found = submission("text/plain", TOKEN.encode())
        assert (content_of(found), found.content_type) == (TOKEN.encode(), "text/plain")
        credential = b'{"@context": [], "type": ["VerifiableCredential"]}'
        assert content_of(submission("application/json", credential)) == credential

    def test_an_empty_body(self) -> None:
        with pytest.raises(InvalidContent):
            submission("application/json", b"  ")


class TestTheForm:
    def test_a_file_first(self) -> None:
        body, content_type = multipart(
            {"url": URL, "credential": TOKEN}, {"file": ("badge.png", b"\x89PNG...")}
        )
        assert content_of(submission(content_type, body)) == b"\x89PNG..."

    def test_then_a_pasted_credential(self) -> None:
        body, content_type = multipart(
            {"url": URL, "credential": f"  {TOKEN}\n"}, {"file": ("", b"")}
        )
        found = submission(content_type, body)
        assert content_of(found) == TOKEN.encode()
        assert found.url is None

    def test_then_a_url(self) -> None:
        body, content_type = multipart({"url": f" {URL} ", "credential": ""}, {"file": ("", b"")})
        assert submission(content_type, body).url == URL
        form = urlencode({"url": URL, "credential": ""}).encode()
        assert submission("application/x-www-form-urlencoded", form).url == URL

    def test_an_empty_form_says_what_to_give(self) -> None:
        body, content_type = multipart({"url": "", "credential": ""}, {"file": ("", b"")})
        with pytest.raises(InvalidContent, match="give a URL, a credential or an image"):
            submission(content_type, body)

    def test_a_url_that_is_no_http_url(self) -> None:
        form = urlencode({"url": "javascript:alert(1)"}).encode()
        with pytest.raises(InvalidContent, match="http"):
            submission("application/x-www-form-urlencoded", form)
