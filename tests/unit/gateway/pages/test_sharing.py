"""LinkedIn's "Add to profile" link and the QR code of the award page."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from services.gateway.pages.sharing import linkedin_url, qr_svg


class TestLinkedIn:
    def test_every_field_filled_and_encoded(self) -> None:
        url = linkedin_url(
            name="Reading & Writing <Champion>",
            organization="Ünïversity",
            issued=datetime(2024, 5, 1, tzinfo=UTC),
            expires=datetime(2027, 11, 30, tzinfo=UTC),
            url="https://badges.example.org/public/assertions/abc",
            cert_id="abc",
        )
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "www.linkedin.com",
            "/profile/add",
        )
        assert parse_qs(parts.query) == {
            "startTask": ["CERTIFICATION_NAME"],
            "name": ["Reading & Writing <Champion>"],
            "organizationName": ["Ünïversity"],
            "issueYear": ["2024"],
            "issueMonth": ["5"],
            "expirationYear": ["2027"],
            "expirationMonth": ["11"],
            "certUrl": ["https://badges.example.org/public/assertions/abc"],
            "certId": ["abc"],
        }

    def test_no_expiry_no_expiration_fields(self) -> None:
        url = linkedin_url(
            name="n", organization="o", issued=None, expires=None, url="https://x.org", cert_id="c"
        )
        query = parse_qs(urlsplit(url).query)
        assert "expirationYear" not in query
        assert "issueYear" not in query


class TestQr:
    def test_an_inline_svg_of_the_url_with_a_name(self) -> None:
        url = "https://badges.example.org/public/assertions/abc"
        svg = str(qr_svg(url))
        assert svg.startswith('<svg role="img"')
        assert "<title>" in svg
        assert "<script" not in svg
        assert "style=" not in svg
        assert 'transform="scale(4)"' in svg
        assert svg.count("<svg") == 1
