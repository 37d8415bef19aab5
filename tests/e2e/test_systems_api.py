"""The systems slice through the real gateway, RabbitMQ, badges service and Postgres."""

from __future__ import annotations

import uuid

import orjson
import pytest

from tests.support.client import Client, multipart

pytestmark = pytest.mark.e2e


def new_slug() -> str:
    return f"sys-{uuid.uuid4().hex[:8]}"


def system_body(slug: str, **extra: str) -> dict[str, str]:
    return {"slug": slug, "name": f"System {slug}", "url": f"https://{slug}.example.org", **extra}


class TestCreateSystem:
    async def test_creates_and_answers_badgekit_envelope(self, client: Client) -> None:
        slug = new_slug()
        answer = await client.post("/systems", json=system_body(slug, email="admin@example.org"))
        assert answer.status == 201
        assert answer.body["status"] == "created"
        system = answer.body["system"]
        assert system["slug"] == slug
        assert system["email"] == "admin@example.org"
        assert isinstance(system["id"], int)
        assert system["issuers"] == []
        assert answer.headers["Location"].endswith(f"/systems/{slug}")

    async def test_accepts_form_bodies(self, client: Client) -> None:
        slug = new_slug()
        answer = await client.post("/systems", form=system_body(slug, description="from a form"))
        assert answer.status == 201
        assert answer.body["system"]["description"] == "from a form"

    # `curl -d '{...}'` types a JSON body as a form; a client sending bytes may type it
    # application/octet-stream (aiohttp's default for bytes, as here with None).
    @pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", None])
    async def test_accepts_json_typed_as_a_form_or_untyped(
        self, client: Client, content_type: str | None
    ) -> None:
        raw = orjson.dumps(system_body(new_slug(), description="curl -d"))
        answer = await client.post("/systems", raw=raw, content_type=content_type)
        assert answer.status == 201, answer.body
        assert answer.body["system"]["description"] == "curl -d"

    async def test_accepts_multipart_bodies(self, client: Client) -> None:
        slug = new_slug()
        raw, content_type = multipart(system_body(slug))
        answer = await client.post("/systems", raw=raw, content_type=content_type)
        assert answer.status == 201, answer.body
        assert answer.body["system"]["slug"] == slug

    async def test_invalid_fields_get_field_details(self, client: Client) -> None:
        answer = await client.post("/systems", json={"slug": "bad slug", "url": "not-a-url"})
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        assert answer.body["message"] == "Could not validate required fields"
        details = {d["field"]: d for d in answer.body["details"]}
        assert set(details) == {"slug", "name", "url"}
        assert details["name"]["message"] == "Required field"
        assert details["url"] == {"field": "url", "value": "not-a-url", "message": "Invalid URL"}

    async def test_invalid_email(self, client: Client) -> None:
        answer = await client.post("/systems", json=system_body(new_slug(), email="nope"))
        assert answer.status == 400
        assert answer.body["details"] == [
            {"field": "email", "value": "nope", "message": "Invalid email"}
        ]

    async def test_duplicate_slug_is_a_conflict(self, client: Client) -> None:
        slug = new_slug()
        assert (await client.post("/systems", json=system_body(slug))).status == 201
        again = await client.post("/systems", json=system_body(slug))
        assert again.status == 409
        assert again.body["code"] == "ResourceConflict"
        assert again.body["message"] == "system with that `slug` already exists"

    async def test_bad_json_is_invalid_content(self, client: Client) -> None:
        answer = await client.post("/systems", raw=b"{not json", content_type="application/json")
        assert answer.status == 400
        assert answer.body["code"] == "InvalidContent"

    async def test_unsupported_media_type(self, client: Client) -> None:
        answer = await client.post("/systems", raw=b"slug=x", content_type="text/plain")
        assert answer.status == 415
        assert answer.body["code"] == "UnsupportedMediaType"


class TestReadSystems:
    async def test_get_one(self, client: Client) -> None:
        slug = new_slug()
        await client.post("/systems", json=system_body(slug))
        answer = await client.get(f"/systems/{slug}")
        assert answer.status == 200
        assert answer.body["system"]["slug"] == slug

    async def test_unknown_system_is_not_found(self, client: Client) -> None:
        answer = await client.get("/systems/does-not-exist")
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": "Could not find system field: `slug`, value: `does-not-exist`",
        }

    async def test_list_with_and_without_pages(self, client: Client) -> None:
        for _ in range(3):
            await client.post("/systems", json=system_body(new_slug()))
        everything = await client.get("/systems")
        assert everything.status == 200
        assert "pageData" not in everything.body
        total = len(everything.body["systems"])
        assert total >= 3
        page = await client.get("/systems?page=2&count=2")
        assert page.status == 200
        assert page.body["pageData"] == {"page": 2, "count": 2, "total": total}
        assert page.body["systems"] == everything.body["systems"][2:4]

    async def test_invalid_paging_is_ignored(self, client: Client) -> None:
        answer = await client.get("/systems?page=0&count=x")
        assert answer.status == 200
        assert "pageData" not in answer.body

    async def test_trailing_slash_is_cleaned(self, client: Client) -> None:
        slug = new_slug()
        await client.post("/systems", json=system_body(slug))
        answer = await client.get(f"/systems/{slug}/")
        assert answer.status == 200
        assert answer.body["system"]["slug"] == slug


class TestUpdateSystem:
    async def test_partial_update_keeps_other_fields_and_slug(self, client: Client) -> None:
        slug = new_slug()
        created = await client.post("/systems", json=system_body(slug, email="a@example.org"))
        original = created.body["system"]
        answer = await client.put(
            f"/systems/{slug}", json={"name": "Renamed", "slug": "hijack", "id": 999999}
        )
        assert answer.status == 200
        assert answer.body["status"] == "updated"
        system = answer.body["system"]
        assert system["name"] == "Renamed"
        assert system["slug"] == slug
        assert system["id"] == original["id"]
        assert system["email"] == "a@example.org"
        assert (await client.get(f"/systems/{slug}")).body["system"] == system

    async def test_invalid_update(self, client: Client) -> None:
        slug = new_slug()
        await client.post("/systems", json=system_body(slug))
        answer = await client.put(f"/systems/{slug}", json={"url": "ftp://x"})
        assert answer.status == 400
        assert answer.body["details"][0]["field"] == "url"

    async def test_required_fields_cannot_be_emptied(self, client: Client) -> None:
        slug = new_slug()
        await client.post("/systems", json=system_body(slug))
        answer = await client.put(f"/systems/{slug}", json={"url": None, "email": None})
        assert answer.status == 400
        assert answer.body["details"] == [
            {"field": "url", "value": "", "message": "Required field"}
        ]

    async def test_update_unknown(self, client: Client) -> None:
        answer = await client.put("/systems/nope-nope", json={"name": "x"})
        assert answer.status == 404


class TestDeleteSystem:
    async def test_delete_then_gone(self, client: Client) -> None:
        slug = new_slug()
        await client.post("/systems", json=system_body(slug))
        answer = await client.delete(f"/systems/{slug}")
        assert answer.status == 200
        assert answer.body["status"] == "deleted"
        assert answer.body["system"]["slug"] == slug
        assert (await client.get(f"/systems/{slug}")).status == 404
        assert (await client.delete(f"/systems/{slug}")).status == 404

    async def test_recreated_slug_inherits_nothing(self, client: Client) -> None:
        slug = new_slug()
        first = await client.post("/systems", json=system_body(slug))
        consumer = await client.post(f"/systems/{slug}/consumers", json={})
        await client.delete(f"/systems/{slug}")
        second = await client.post("/systems", json=system_body(slug))
        assert second.body["system"]["id"] != first.body["system"]["id"]
        assert (await client.get(f"/systems/{slug}/consumers")).body["consumers"] == []
        old_key = client.as_key(
            consumer.body["consumer"]["apiKey"], consumer.body["consumer"]["apiSecret"]
        )
        assert (await old_key.get(f"/systems/{slug}")).status == 403
