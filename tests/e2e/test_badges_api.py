"""Badges (BadgeKit's badges.test.js, and its fixed bugs)."""

from __future__ import annotations

import pytest

from tests.support.client import Client
from tests.support.factories import (
    badge_body,
    make_badge,
    make_issuer,
    make_program,
    make_system,
    unique,
)

pytestmark = pytest.mark.e2e


def slug_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


class TestCreateBadge:
    async def test_created_with_everything_it_carries(self, client: Client) -> None:
        system = await make_system(client)
        body = badge_body(
            strapline="Read a lot",
            timeValue=10,
            timeUnits="hours",
            limit=5,
            unique=True,
            type="skill",
            evidenceType="URL",
            criteria=[{"description": "Read 20 books", "required": True, "note": "any"}],
            alignments=[{"name": "Literacy", "url": "https://example.org/lit"}],
            categories=["reading", "reading", ""],
            tags=["books", {"value": "summer"}],
        )
        answer = await client.post(f"{system}/badges", json=body)
        assert answer.status == 201
        assert answer.body["status"] == "created"
        badge = answer.body["badge"]
        assert answer.headers["Location"] == f"{client.base_url}{system}/badges/{body['slug']}"
        assert badge["slug"] == body["slug"]
        assert (badge["unique"], badge["limit"], badge["archived"]) == (1, 5, False)
        assert badge["criteria"] == [
            {
                "id": badge["criteria"][0]["id"],
                "description": "Read 20 books",
                "required": 1,
                "note": "any",
            }
        ]
        assert badge["alignments"][0]["name"] == "Literacy"
        assert badge["categories"] == ["reading"]
        assert [tag["value"] for tag in badge["tags"]] == ["books", "summer"]
        assert badge["system"]["slug"] == system.rsplit("/", 1)[1]
        assert "issuer" not in badge
        assert badge["imageUrl"] == "https://example.org/badge.png"

    async def test_missing_fields_are_listed_together(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.post(f"{system}/badges", json={"name": "Only a name"})
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        fields = {detail["field"] for detail in answer.body["details"]}
        assert fields == {
            "image",
            "earnerDescription",
            "consumerDescription",
            "criteriaUrl",
            "unique",
        }
        image = next(d for d in answer.body["details"] if d["field"] == "image")
        assert image["message"] == "Missing value"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("timeUnits", "fortnights"),
            ("evidenceType", "Smell"),
            ("limit", -1),
            ("unique", "maybe"),
        ],
    )
    async def test_invalid_values(self, client: Client, field: str, value: object) -> None:
        system = await make_system(client)
        answer = await client.post(f"{system}/badges", json=badge_body(**{field: value}))
        assert answer.status == 400
        assert [d["field"] for d in answer.body["details"]] == [field]

    async def test_form_body_with_nested_criteria(self, client: Client) -> None:
        system = await make_system(client)
        form = {
            **{k: v for k, v in badge_body().items() if k != "unique"},
            "unique": "0",
            "criteria[0][description]": "First",
            "criteria[0][required]": "1",
            "criteria[1][description]": "Second",
            "tags[]": ["a", "b"],
        }
        answer = await client.post(f"{system}/badges", form=form)
        assert answer.status == 201, answer.body
        badge = answer.body["badge"]
        assert [(c["description"], c["required"]) for c in badge["criteria"]] == [
            ("First", 1),
            ("Second", 0),
        ]
        assert [tag["value"] for tag in badge["tags"]] == ["a", "b"]

    async def test_slug_is_generated_when_omitted(self, client: Client) -> None:
        system = await make_system(client)
        body = {k: v for k, v in badge_body().items() if k != "slug"}
        badge = (await client.post(f"{system}/badges", json=body)).body["badge"]
        assert len(badge["slug"]) == 32

    async def test_duplicate_slug_in_a_system_conflicts_but_not_across_systems(
        self, client: Client
    ) -> None:
        body = badge_body()
        system = await make_system(client)
        assert (await client.post(f"{system}/badges", json=body)).status == 201
        again = await client.post(f"{system}/badges", json=body)
        assert again.status == 409
        assert again.body["message"] == "badge with that `slug` already exists"
        other = await make_system(client)
        assert (await client.post(f"{other}/badges", json=body)).status == 201


class TestContexts:
    async def test_a_badge_is_reachable_at_its_level_and_above_only(self, client: Client) -> None:
        program = await make_program(client)
        issuer = program.rsplit("/programs/", 1)[0]
        system = issuer.rsplit("/issuers/", 1)[0]
        slug = slug_of(await make_badge(client, program))
        for context in (system, issuer, program):
            answer = await client.get(f"{context}/badges/{slug}")
            assert answer.status == 200, context
            assert [b["slug"] for b in (await client.get(f"{context}/badges")).body["badges"]] == [
                slug
            ]
        sibling = await make_issuer(client, system)
        assert (await client.get(f"{sibling}/badges/{slug}")).status == 404
        assert (await client.get(f"{sibling}/badges")).body == {"badges": []}

    async def test_system_level_badges_are_not_listed_under_an_issuer(self, client: Client) -> None:
        issuer = await make_issuer(client)
        system = issuer.rsplit("/issuers/", 1)[0]
        await make_badge(client, system)
        assert (await client.get(f"{issuer}/badges")).body == {"badges": []}

    async def test_missing_levels_are_named(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.get(f"{system}/issuers/nope/badges/x")
        assert answer.status == 404
        assert answer.body["message"] == "Could not find issuer field: `slug`, value: `nope`"
        answer = await client.get(f"{system}/badges/nope")
        assert answer.body["message"] == "Could not find badge field: `slug`, value: `nope`"


class TestArchivedFilterAndPaging:
    async def test_archived_filter(self, client: Client) -> None:
        system = await make_system(client)
        live = slug_of(await make_badge(client, system))
        old = slug_of(await make_badge(client, system))
        await client.put(f"{system}/badges/{old}", json={"archived": True})

        async def slugs(query: str) -> list[str]:
            return [b["slug"] for b in (await client.get(f"{system}/badges{query}")).body["badges"]]

        assert await slugs("") == [live]
        assert await slugs("?archived=false") == [live]
        assert await slugs("?archived=0") == [live]
        assert await slugs("?archived=true") == [old]
        assert await slugs("?archived=1") == [old]
        assert await slugs("?archived=any") == [live, old]
        assert await slugs("?archived=") == [live, old]
        invalid = await client.get(f"{system}/badges?archived=perhaps")
        assert invalid.status == 400
        assert invalid.body["code"] == "InvalidParameter"
        assert invalid.body["parameter"] == "archived"

    async def test_paging(self, client: Client) -> None:
        system = await make_system(client)
        made = [slug_of(await make_badge(client, system)) for _ in range(3)]
        page = await client.get(f"{system}/badges?page=1&count=2")
        assert [b["slug"] for b in page.body["badges"]] == made[:2]
        assert page.body["pageData"] == {"page": 1, "count": 2, "total": 3}

    async def test_public_badge_list(self, client: Client) -> None:
        program = await make_program(client)
        slug = slug_of(await make_badge(client, program))
        answer = await client.get("/public/badges?archived=any", sign=False)
        assert answer.status == 200
        assert {"location": f"{client.base_url}/public{program}/badges/{slug}"} in answer.body[
            "badgelist"
        ]


class TestUpdateBadge:
    async def test_partial_update_keeps_what_it_was_not_given(self, client: Client) -> None:
        system = await make_system(client)
        path = await make_badge(
            client,
            system,
            criteria=[{"description": "c"}],
            alignments=[{"name": "a", "url": "https://example.org/a"}],
            categories=["cat"],
            tags=["tag"],
        )
        before = (await client.get(path)).body["badge"]
        answer = await client.put(path, json={"name": "Renamed"})
        assert answer.status == 200
        assert answer.body["status"] == "updated"
        after = answer.body["badge"]
        for kept in ("criteria", "alignments", "categories", "tags", "slug", "id", "system"):
            assert after[kept] == before[kept], kept
        assert after["name"] == "Renamed"

    async def test_ids_slugs_and_parents_never_change(self, client: Client) -> None:
        issuer = await make_issuer(client)
        path = await make_badge(client, issuer)
        before = (await client.get(path)).body["badge"]
        answer = await client.put(
            path,
            json={"id": 1, "slug": "hijacked", "systemId": 1, "issuerId": None, "programId": 7},
        )
        assert answer.status == 200
        after = answer.body["badge"]
        assert (after["id"], after["slug"], after["issuer"]) == (
            before["id"],
            before["slug"],
            before["issuer"],
        )
        assert (await client.get(path)).status == 200

    async def test_criteria_with_ids_are_updated_in_place(self, client: Client) -> None:
        path = await make_badge(
            client, criteria=[{"description": "keep me"}, {"description": "drop me"}]
        )
        keep, _ = (await client.get(path)).body["badge"]["criteria"]
        answer = await client.put(
            path,
            json={
                "criteria": [
                    {"id": keep["id"], "description": "kept, reworded", "required": 1},
                    {"description": "new"},
                ]
            },
        )
        criteria = answer.body["badge"]["criteria"]
        assert criteria[0] == {
            "id": keep["id"],
            "description": "kept, reworded",
            "required": 1,
            "note": "",
        }
        assert criteria[1]["description"] == "new"
        assert len(criteria) == 2

    async def test_another_badges_criterion_id_is_not_hijacked(self, client: Client) -> None:
        victim = await make_badge(client, criteria=[{"description": "theirs"}])
        theirs = (await client.get(victim)).body["badge"]["criteria"][0]
        mine = await make_badge(client)
        await client.put(mine, json={"criteria": [{"id": theirs["id"], "description": "mine"}]})
        assert (await client.get(victim)).body["badge"]["criteria"] == [theirs]

    async def test_empty_list_clears(self, client: Client) -> None:
        path = await make_badge(client, tags=["a"])
        answer = await client.put(path, json={"tags": []})
        assert answer.body["badge"]["tags"] == []

    async def test_required_fields_cannot_be_emptied(self, client: Client) -> None:
        path = await make_badge(client)
        answer = await client.put(path, json={"name": None, "unique": "", "strapline": None})
        assert answer.status == 400
        assert {(d["field"], d["message"]) for d in answer.body["details"]} == {
            ("name", "Required field"),
            ("unique", "Required field"),
        }

    async def test_a_limit_of_zero_is_no_limit(self, client: Client) -> None:
        """BadgeKit and its web app write 0 for "no limit": kept, and shown, as sent."""
        system = await make_system(client)
        answer = await client.post(f"{system}/badges", json=badge_body(limit=0))
        assert answer.status == 201, answer.body
        path = f"{system}/badges/{answer.body['badge']['slug']}"
        assert (await client.get(path)).body["badge"]["limit"] == 0
        limited = await make_badge(client, limit=5)
        changed = await client.put(limited, json={"limit": 0})
        assert changed.status == 200, changed.body
        assert changed.body["badge"]["limit"] == 0
        assert (await client.get(limited)).body["badge"]["limit"] == 0

    async def test_invalid_update(self, client: Client) -> None:
        path = await make_badge(client)
        answer = await client.put(path, json={"criteriaUrl": "ftp://nope", "timeUnits": "ages"})
        assert answer.status == 400
        assert {d["field"] for d in answer.body["details"]} == {"criteriaUrl", "timeUnits"}


class TestDeleteBadge:
    async def test_delete(self, client: Client) -> None:
        path = await make_badge(client, criteria=[{"description": "c"}])
        answer = await client.delete(path)
        assert answer.status == 200
        assert answer.body["status"] == "deleted"
        assert answer.body["badge"]["slug"] == slug_of(path)
        assert (await client.get(path)).status == 404
        assert (await client.delete(path)).status == 404

    async def test_deleted_slug_can_be_reused(self, client: Client) -> None:
        system = await make_system(client)
        body = badge_body(slug=unique("badge"))
        await client.post(f"{system}/badges", json=body)
        await client.delete(f"{system}/badges/{body['slug']}")
        again = await client.post(f"{system}/badges", json=body)
        assert again.status == 201
        assert again.body["badge"]["criteria"] == []
