"""Issuers and programs (BadgeKit's issuers.test.js and programs.test.js, and its fixed bugs)."""

from __future__ import annotations

import base64

import pytest

from tests.support.client import Client, multipart
from tests.support.factories import (
    make_badge,
    make_issuer,
    make_program,
    make_system,
    organization_body,
    unique,
)

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


class TestIssuers:
    async def test_create_get_and_list(self, client: Client) -> None:
        system = await make_system(client)
        slug = unique("iss")
        created = await client.post(
            f"{system}/issuers", json=organization_body(slug, email="i@example.org")
        )
        assert created.status == 201
        assert created.body["status"] == "created"
        issuer = created.body["issuer"]
        assert issuer["slug"] == slug
        assert issuer["programs"] == []
        assert issuer["email"] == "i@example.org"
        assert created.headers["Location"].endswith(f"{system}/issuers/{slug}")
        assert (await client.get(f"{system}/issuers/{slug}")).body == {"issuer": issuer}
        listed = await client.get(f"{system}/issuers")
        assert listed.body == {"issuers": [issuer]}
        with_system = await client.get(system)
        assert [i["slug"] for i in with_system.body["system"]["issuers"]] == [slug]

    async def test_validation_and_conflicts(self, client: Client) -> None:
        system = await make_system(client)
        invalid = await client.post(f"{system}/issuers", json={"slug": "x", "url": "nope"})
        assert invalid.status == 400
        assert {d["field"] for d in invalid.body["details"]} == {"name", "url"}
        slug = unique("iss")
        await client.post(f"{system}/issuers", json=organization_body(slug))
        again = await client.post(f"{system}/issuers", json=organization_body(slug))
        assert again.status == 409
        assert again.body["message"] == "issuer with that `slug` already exists"

    async def test_the_same_slug_in_another_system_is_fine(self, client: Client) -> None:
        slug = unique("iss")
        for _ in range(2):
            system = await make_system(client)
            assert (
                await client.post(f"{system}/issuers", json=organization_body(slug))
            ).status == 201

    async def test_unknown_issuer_and_system(self, client: Client) -> None:
        system = await make_system(client)
        missing = await client.get(f"{system}/issuers/nope")
        assert missing.status == 404
        assert missing.body["message"] == "Could not find issuer field: `slug`, value: `nope`"
        assert (await client.get("/systems/nope/issuers")).status == 404

    async def test_update_never_moves_or_renames(self, client: Client) -> None:
        issuer = await make_issuer(client)
        other = await make_system(client)
        before = (await client.get(issuer)).body["issuer"]
        answer = await client.put(
            issuer, json={"name": "Renamed", "slug": "moved", "id": 1, "systemId": other}
        )
        assert answer.status == 200
        assert answer.body["status"] == "updated"
        after = answer.body["issuer"]
        assert after == {**before, "name": "Renamed"}

    async def test_delete_takes_its_programs_and_badges(self, client: Client) -> None:
        program = await make_program(client)
        issuer = program.rsplit("/programs/", 1)[0]
        system = issuer.rsplit("/issuers/", 1)[0]
        badge = await make_badge(client, program)
        answer = await client.delete(issuer)
        assert answer.status == 200
        assert answer.body["status"] == "deleted"
        assert (await client.get(issuer)).status == 404
        assert (await client.get(program)).status == 404
        assert (await client.get(f"{system}/badges/{badge.rsplit('/', 1)[1]}")).status == 404
        assert (await client.get(f"{system}/badges?archived=any")).body["badges"] == []


class TestPrograms:
    async def test_create_get_list_update_delete(self, client: Client) -> None:
        issuer = await make_issuer(client)
        slug = unique("prog")
        created = await client.post(f"{issuer}/programs", json=organization_body(slug))
        assert created.status == 201
        program = created.body["program"]
        assert "programs" not in program
        assert (await client.get(f"{issuer}/programs/{slug}")).body == {"program": program}
        assert (await client.get(f"{issuer}/programs")).body == {"programs": [program]}
        assert [p["slug"] for p in (await client.get(issuer)).body["issuer"]["programs"]] == [slug]
        updated = await client.put(f"{issuer}/programs/{slug}", json={"description": "Summer"})
        assert updated.body["program"]["description"] == "Summer"
        assert (await client.delete(f"{issuer}/programs/{slug}")).body["status"] == "deleted"
        assert (await client.get(f"{issuer}/programs/{slug}")).status == 404

    async def test_a_program_belongs_to_its_issuer(self, client: Client) -> None:
        program = await make_program(client)
        system = program.split("/issuers/")[0]
        other_issuer = await make_issuer(client, system)
        elsewhere = f"{other_issuer}/programs/{program.rsplit('/', 1)[1]}"
        answer = await client.get(elsewhere)
        assert answer.status == 404
        assert answer.body["message"].startswith("Could not find program")

    async def test_paging(self, client: Client) -> None:
        issuer = await make_issuer(client)
        for _ in range(3):
            await make_program(client, issuer)
        page = await client.get(f"{issuer}/programs?page=2&count=2")
        assert len(page.body["programs"]) == 1
        assert page.body["pageData"] == {"page": 2, "count": 2, "total": 3}


class TestImages:
    async def test_uploaded_image_is_stored_and_served_with_caching(self, client: Client) -> None:
        system = await make_system(client)
        raw, content_type = multipart(organization_body(unique("iss")), {"image": ("i.png", PNG)})
        answer = await client.post(f"{system}/issuers", raw=raw, content_type=content_type)
        assert answer.status == 201, answer.body
        url = answer.body["issuer"]["imageUrl"]
        assert url.startswith(client.base_url + "/public/images/")
        async with client.session.get(url) as image:
            assert image.status == 200
            assert image.content_type == "image/png"
            assert await image.read() == PNG
            assert "immutable" in image.headers["Cache-Control"]
            etag = image.headers["ETag"]
        async with client.session.get(url, headers={"If-None-Match": etag}) as again:
            assert again.status == 304

    async def test_data_uri_and_replacement_drops_the_old_image(self, client: Client) -> None:
        issuer = await make_issuer(client)
        data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
        first = (await client.put(issuer, json={"image": data_uri})).body["issuer"]["imageUrl"]
        second = await client.put(issuer, json={"imageUrl": "https://example.org/new.png"})
        assert second.body["issuer"]["imageUrl"] == "https://example.org/new.png"
        async with client.session.get(first) as gone:
            assert gone.status == 404

    @pytest.mark.parametrize(
        ("image", "message"),
        [
            (b"GIF8" + b"x" * 10, "Unsupported image: send a PNG, SVG, JPEG or GIF file"),
            (
                b"<html><script>alert(1)</script>",
                "Unsupported image: send a PNG, SVG, JPEG or GIF file",
            ),
            (b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024), "Image too large: at most 1024 KiB"),
        ],
    )
    async def test_uploads_are_checked_by_their_bytes(
        self, client: Client, image: bytes, message: str
    ) -> None:
        issuer = await make_issuer(client)
        uri = "data:image/png;base64," + base64.b64encode(image).decode()
        answer = await client.put(issuer, json={"image": uri})
        assert answer.status == 400
        assert answer.body["details"] == [{"field": "image", "value": "", "message": message}]

    async def test_svg_is_served_unable_to_run_scripts(self, client: Client) -> None:
        issuer = await make_issuer(client)
        svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        url = (await client.put(issuer, json={"image": uri})).body["issuer"]["imageUrl"]
        async with client.session.get(url) as image:
            assert image.content_type == "image/svg+xml"
            assert "sandbox" in image.headers["Content-Security-Policy"]

    async def test_unknown_image(self, client: Client) -> None:
        async with client.session.get(client.base_url + "/public/images/nope") as answer:
            assert answer.status == 404
