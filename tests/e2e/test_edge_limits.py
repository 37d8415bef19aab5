"""Every route of the route table against values the store cannot hold: a NUL in a path
parameter, a query parameter or any string of a body (keys and nested lists included), integers
beyond their int4/int8 columns, pages beyond what Postgres can offset, and `null` in any field.
Never a 500: a path parameter that cannot exist answers 404, anything else 400 naming the field
(BadgeKit's `InvalidParameter` for a query parameter).

The requests carry real path values (a system with an issuer, a program, a badge and everything
hanging off it), so anything the gateway let through would reach the services and Postgres."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

import jwt
import pytest
from pydantic import BaseModel

from services.gateway.docs_assets import assets
from services.gateway.pages.rendering import static_files
from services.gateway.route_table import all_routes
from services.gateway.routes import Route
from services.gateway.views.credentials import OpenCampusKey
from shared.messages.applications import (
    ApplicationChanges,
    ApplicationFields,
    ReviewChanges,
    ReviewFields,
)
from shared.messages.badges import BadgeChanges, BadgeFields
from shared.messages.claim_codes import ClaimCodeFields, ClaimCodeOptions, ClaimFields
from shared.messages.fields import Patch
from shared.messages.instances import AwardFields, BulkAwardFields
from shared.messages.milestones import MilestoneBadge, MilestoneChanges, MilestoneFields
from shared.messages.systems import ConsumerFields, OrganizationChanges, OrganizationFields
from shared.messages.webhooks import EndpointChanges, EndpointFields, Recovery
from shared.opencampus import IssueRequest
from tests.support.client import Answer, Client
from tests.support.factories import badge_body, created, oc_body, organization_body, unique
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

NUL = "a\u0000b"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
# Integer columns that are int4 (`integer`); every other integer field is backed by an int8.
INT4_FIELDS = {"timeValue", "limit", "numberRequired"}
HUGE_PAGES = (
    "page=99999999999999999999&count=1",
    "page=11695061398087190&count=36195170868",
    "page=1&count=99999999999999999999",
    "page=9223372036854775807&count=10000",
    "page=922337203685478&count=10000",
)
THROTTLED_FOR_AT_MOST_S = 30
_PARAMETER = re.compile(r"\{(\w+)\}")
# Every path parameter of the route table, each given a real value by `world`.
PARAMETERS = frozenset(
    {"system", "issuer", "program", "badge", "code", "email", "application", "review"}
    | {"milestone", "webhook", "delivery", "credential", "key", "image", "slug"}
    | {"signingKey", "list", "file", "asset", "importId"}
)

Path = tuple[str | int, ...]


@dataclass
class World:
    """Real values for every path parameter, what request bodies refer to, and the system's own
    API key: the sweep sends with it (master-only routes apart), so its many requests draw on
    that key's rate limit, not on the master key's that the other tests share."""

    values: dict[str, str]
    consumer: Client
    other_badge_ids: list[int]
    criterion_id: int
    claim_code: str

    def path(self, route: Route, **given: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return given[name] if name in given else quote(self.values[name], safe="@")

        return _PARAMETER.sub(value, route.path)


async def world(client: Client) -> World:
    system = unique("sys")
    s = f"/systems/{system}"
    await created(client, "/systems", organization_body(system), "system")
    issuer = unique("iss")
    await created(client, f"{s}/issuers", organization_body(issuer), "issuer")
    program = unique("prog")
    p = f"{s}/issuers/{issuer}/programs/{program}"
    await created(client, f"{s}/issuers/{issuer}/programs", organization_body(program), "program")
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()
    criteria = [{"description": "Read twenty books", "required": True}]
    badge = await created(
        client, f"{p}/badges", badge_body(image=image, criteria=criteria), "badge"
    )
    b = f"{p}/badges/{badge['slug']}"
    others = [await created(client, f"{s}/badges", badge_body(), "badge") for _ in range(2)]
    code = unique("code")
    await created(client, f"{b}/codes", {"code": code, "multiuse": True}, "claimCode")
    email = "learner@example.org"
    instance = await created(client, f"{b}/instances", {"email": email}, "instance")
    application = await created(client, f"{b}/applications", {"learner": email}, "application")
    review = await created(
        client,
        f"{b}/applications/{application['slug']}/reviews",
        {"author": "reviewer@example.org"},
        "review",
    )
    milestone = await created(
        client,
        f"{s}/milestones",
        {
            "primaryBadgeId": others[0]["id"],
            "numberRequired": 1,
            "supportBadges": [others[1]["id"]],
        },
        "milestone",
    )
    webhook = await created(
        client, f"{s}/webhooks", {"url": "https://hooks.example.org"}, "webhook"
    )
    test = await client.post(f"{s}/webhooks/{webhook['id']}/test")
    assert test.status == 202, test.body
    credential = await client.post(f"{s}/credentials", json=oc_body(unique("ref")))
    assert credential.status == 202, credential.body
    consumer = await created(client, f"{s}/consumers", {"description": "sweep"}, "consumer")
    own = client.as_key(consumer["apiKey"], consumer["apiSecret"])
    signing_keys = await client.get(f"{s}/signing-keys")
    assert signing_keys.status == 200, signing_keys.body
    signed = await client.get(f"/public/credentials/{instance['slug']}", sign=False)
    assert signed.status == 200, signed.body
    status_list = signed.body["credentialStatus"]["statusListCredential"]
    dry_run = await client.post(
        f"{b}/imports?dryRun=true", raw=b"email\nlearner@example.org\n", content_type="text/csv"
    )
    assert dry_run.status == 200, dry_run.body
    values = {
        "system": system,
        "issuer": issuer,
        "program": program,
        "badge": badge["slug"],
        "code": code,
        "email": email,
        "application": application["slug"],
        "review": review["slug"],
        "milestone": str(milestone["id"]),
        "webhook": webhook["id"],
        "delivery": test.body["deliveries"][0],
        "credential": credential.body["credential"]["id"],
        "key": consumer["apiKey"],
        "image": badge["imageUrl"].rsplit("/", 1)[1],
        "slug": instance["assertionUrl"].rsplit("/", 1)[1],
        "signingKey": signing_keys.body["keys"][0]["id"],
        "list": status_list.rsplit("/", 1)[1],
        "file": assets().urls["docs.js"].rsplit("/", 1)[1],
        "asset": static_files().url("pages.css").rsplit("/", 1)[1],
        "importId": dry_run.body["import"]["id"],
    }
    assert values.keys() == PARAMETERS
    return World(
        values=values,
        consumer=own,
        other_badge_ids=[other["id"] for other in others],
        criterion_id=badge["criteria"][0]["id"],
        claim_code=code,
    )


def _organization(w: World) -> dict[str, Any]:
    return organization_body(
        unique("org"),
        description="An organization",
        email="org@example.org",
        imageUrl="https://example.org/org.png",
    )


def _badge(w: World) -> dict[str, Any]:
    return badge_body(
        strapline="Twenty books",
        issuerUrl="https://example.org/issuer",
        rubricUrl="https://example.org/rubric",
        timeValue=3,
        timeUnits="days",
        limit=5,
        type="achievement",
        evidenceType="URL",
        criteria=[{"id": w.criterion_id, "description": "Read", "required": True, "note": "n"}],
        alignments=[{"name": "Literacy", "url": "https://example.org/a", "description": "d"}],
        categories=["reading"],
        tags=["books"],
        credential={"kind": "OCB", "achievementType": "Badge", "collectionSymbol": "ocbadge"},
    )


def _badge_changes(w: World) -> dict[str, Any]:
    changes = _badge(w)
    del changes["slug"]
    return {**changes, "archived": False}


def _award(w: World) -> dict[str, Any]:
    return {
        "email": "earner@example.org",
        "claimCode": w.claim_code,
        "slug": unique("award"),
        "issuedOn": "2024-05-01T12:00:00Z",
        "expires": "2034-05-01T12:00:00Z",
        "comment": "Well read",
        "evidence": "https://example.org/evidence",
        "name": "Ada Reader",
    }


def _evidence() -> list[dict[str, Any]]:
    return [{"url": "https://example.org/e", "mediaType": "link", "reflection": "I read"}]


def _application(w: World) -> dict[str, Any]:
    return {
        "learner": "applicant@example.org",
        "evidence": _evidence(),
        "assignedTo": "mentor@example.org",
        "assignedExpiration": "2034-05-01T12:00:00Z",
    }


def _review(w: World) -> dict[str, Any]:
    items = [{"criterionId": w.criterion_id, "satisfied": True, "comment": "Yes"}]
    return {"author": "reviewer@example.org", "comment": "Good", "reviewItems": items}


def _milestone(w: World) -> dict[str, Any]:
    return {
        "primaryBadgeId": w.other_badge_ids[0],
        "numberRequired": 1,
        "action": "issue",
        "supportBadges": [w.other_badge_ids[1]],
    }


def _credential(w: World) -> dict[str, Any]:
    body = oc_body(unique("ref"))
    payload = body["credentialPayload"]
    payload["validUntil"] = "2034-01-31T12:00:00Z"
    payload["image"] = "https://example.org/image.png"
    subject = payload["credentialSubject"]
    subject["profileUrl"] = "https://example.org/ada"
    subject["image"] = "https://example.org/ada.png"
    subject["ext:OC_CUSTOM:custom"] = {"house": ["Gryffindor"]}
    subject["achievement"]["attachments"] = [
        {"url": "https://example.org/a.pdf", "type": "pdf", "title": "Work", "extra": ["x"]}
    ]
    return body


def _endpoint(w: World) -> dict[str, Any]:
    return {
        "url": "https://hooks.example.org/sweep",
        "events": ["badge.awarded"],
        "description": "Sweep",
        "format": "standard",
    }


# Sample bodies of every body model, each valid for the world's path values; together they
# give every field of the model (the sweep checks that), so every string and integer is tried.
SAMPLES: dict[type[BaseModel], list[Callable[[World], dict[str, Any]]]] = {
    OrganizationFields: [_organization],
    OrganizationChanges: [lambda w: {k: v for k, v in _organization(w).items() if k != "slug"}],
    ConsumerFields: [lambda w: {"description": "A key"}],
    BadgeFields: [_badge],
    BadgeChanges: [_badge_changes],
    ClaimCodeFields: [
        lambda w: {"code": unique("c"), "claimed": False, "multiuse": True, "email": "c@x.org"}
    ],
    ClaimCodeOptions: [lambda w: {"claimed": False, "multiuse": True, "email": "c@x.org"}],
    ClaimFields: [lambda w: {"email": "claimer@example.org"}],
    AwardFields: [
        _award,
        lambda w: {"email": "oc@example.org", "holderOcId": "ada.edu"},
        lambda w: {"email": "oc@example.org", "holderAddress": "0x" + "ab" * 20},
    ],
    BulkAwardFields: [
        lambda w: {
            "emails": ["bulk@example.org"],
            "issuedOn": "2024-05-01T12:00:00Z",
            "expires": "2034-05-01T12:00:00Z",
            "comment": "Bulk",
        }
    ],
    ApplicationFields: [_application],
    ApplicationChanges: [lambda w: {**_application(w), "processed": False}],
    ReviewFields: [_review],
    ReviewChanges: [_review],
    MilestoneFields: [_milestone],
    MilestoneChanges: [_milestone],
    MilestoneBadge: [lambda w: {"badgeId": w.other_badge_ids[1]}],
    IssueRequest: [
        _credential,
        lambda w: (
            {**oc_body(), "holderOcId": None, "holderAddress": "0x" + "cd" * 20}
            | {"collectionSymbol": "ocbadge"}
        ),
    ],
    EndpointFields: [_endpoint],
    EndpointChanges: [lambda w: {**_endpoint(w), "enabled": True}],
    Recovery: [lambda w: {"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z"}],
    OpenCampusKey: [lambda w: {"apiKey": "sweep-key-0001"}],
}


def leaves(value: Any, at: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar of a JSON value, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*at, index))
    else:
        yield at, value


def replaced(value: Any, at: Path, new: Any) -> Any:
    if not at:
        return new
    head, rest = at[0], at[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value.get(head), rest, new)}
    return [replaced(item, rest, new) if i == head else item for i, item in enumerate(value)]


def _in_object(body: Any, at: Path) -> bool:
    """Whether the scalar at `at` sits in an object nested inside the body."""
    if len(at) < 2:
        return False
    parent = body
    for part in at[:-1]:
        parent = parent[part]
    return isinstance(parent, dict)


def dotted(at: Path) -> str:
    return ".".join(str(part) for part in at)


def body_routes() -> list[Route]:
    return [route for route in all_routes() if route.body is not None]


def sample_bodies(w: World) -> Iterator[tuple[Route, dict[str, Any]]]:
    """Every route with a body, with each of its sample bodies (fresh values each time)."""
    for route in body_routes():
        assert route.body is not None
        for sample in SAMPLES[route.body]:
            yield route, sample(w)


def is_public(route: Route) -> bool:
    return bool(getattr(route.handler, "plaudit_public", False))


async def send(
    master: Client,
    w: World,
    route: Route,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    other_system: bool = False,
) -> Answer:
    """The request, with the system's own key unless the route is the master key's or the path
    names another system; a 429 is sent again once its Retry-After has passed (the sweep
    outruns the rate limit)."""
    master_only = getattr(route.handler, "plaudit_master_only", False)
    client = master if master_only or other_system else w.consumer
    # The standard library writes integers of any size (orjson stops at 64 bits).
    raw = json.dumps(body).encode() if body is not None else None
    deadline = time.monotonic() + THROTTLED_FOR_AT_MOST_S
    while True:
        answer = await client.request(
            route.method,
            path,
            raw=raw,
            content_type="application/json" if raw is not None else None,
            sign=not is_public(route),
        )
        if answer.status != 429 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(float(answer.headers["Retry-After"]))


def names_field(answer: Answer, field: str) -> bool:
    """A 400 `ValidationError` with a detail for `field` (for "", any field). A bulk award names
    an address of its list as BadgeKit's clients expect: `email`, with its `index`."""
    return (
        answer.status == 400
        and isinstance(answer.body, dict)
        and answer.body.get("code") == "ValidationError"
        and any(field in ("", _named(detail)) for detail in answer.body.get("details", []))
    )


def _named(detail: dict[str, Any]) -> Any:
    if detail.get("field") == "email" and "index" in detail:
        return f"emails.{detail['index']}"
    return detail.get("field")


def names_parameter(answer: Answer, name: str) -> bool:
    """BadgeKit's refusal of a query parameter: `{code: "InvalidParameter", parameter, message}`."""
    return (
        answer.status == 400
        and isinstance(answer.body, dict)
        and answer.body.get("code") == "InvalidParameter"
        and answer.body.get("parameter") == name
    )


def report(failures: list[str]) -> str:
    return f"{len(failures)} failures:\n" + "\n".join(failures[:60])


def test_every_body_model_has_samples_covering_all_its_fields() -> None:
    offline = World(
        values={},
        consumer=cast(Client, None),
        other_badge_ids=[2, 3],
        criterion_id=4,
        claim_code="c",
    )
    for route in body_routes():
        assert route.body in SAMPLES, f"no sample body for {route.body}"
        given = {key for sample in SAMPLES[route.body] for key in sample(offline)}
        fields = {field.alias or name for name, field in route.body.model_fields.items()}
        assert fields <= given, f"{route.body.__name__}: no sample gives {fields - given}"


async def test_a_nul_in_any_path_parameter_is_not_found(client: Client) -> None:
    w = await world(client)
    failures = []
    for route in all_routes():
        for name in _PARAMETER.findall(route.path):
            path = w.path(route, **{name: "a%00b"})
            body = SAMPLES[route.body][0](w) if route.body is not None else None
            answer = await send(client, w, route, path, body, other_system=name == "system")
            if answer.status != 404 or answer.body.get("code") != "ResourceNotFound":
                failures.append(f"{route.method} {path}: {answer.status} {answer.body}")
    assert not failures, report(failures)


async def test_a_nul_in_any_string_of_a_body_is_refused_naming_the_field(client: Client) -> None:
    w = await world(client)
    failures = []
    for route, body in sample_bodies(w):
        cases = [(at, replaced(body, at, NUL)) for at, v in leaves(body) if isinstance(v, str)]
        # A NUL in a key, at the top and in a nested object (unknown keys are ignored, yet a
        # body forwarded whole, as a credential's, would carry them to Postgres).
        cases.append(((NUL,), {**body, NUL: "x"}))
        nested = next((at[:-1] for at, _ in leaves(body) if _in_object(body, at)), None)
        if nested is not None:
            cases.append(((*nested, NUL), replaced(body, (*nested, NUL), "x")))
        for at, sent in cases:
            answer = await send(client, w, route, w.path(route), sent)
            if not names_field(answer, dotted(at)):
                failures.append(f"{route.method} {route.path} {dotted(at)!r}: {answer.body}")
    assert not failures, report(failures)


@pytest.mark.parametrize("number", [2**31, 2**63, -(2**63) - 1, 2**70])
async def test_integers_beyond_their_columns_are_refused(client: Client, number: int) -> None:
    w = await world(client)
    failures = []
    for route, body in sample_bodies(w):
        for at, value in leaves(body):
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            answer = await send(client, w, route, w.path(route), replaced(body, at, number))
            field = str(at[-1] if isinstance(at[-1], str) else at[-2])
            fits = -(2**63) <= number < 2**63 and (field not in INT4_FIELDS or number < 2**31)
            if answer.status >= 500 or (not fits and not names_field(answer, dotted(at))):
                failures.append(f"{route.method} {route.path} {dotted(at)}: {answer.body}")
    assert not failures, report(failures)


async def test_pages_beyond_what_can_be_offset_never_fail(client: Client) -> None:
    w = await world(client)
    failures = []
    for route in all_routes():
        if not route.paged:
            continue
        for query in HUGE_PAGES:
            answer = await send(client, w, route, f"{w.path(route)}?{query}")
            if answer.status != 200 and not names_parameter(answer, "page"):
                failures.append(f"{route.method} {route.path}?{query}: {answer.body}")
    assert not failures, report(failures)


async def test_a_nul_in_a_query_parameter_is_refused_naming_it(client: Client) -> None:
    w = await world(client)
    failures = []
    for route in all_routes():
        if not route.paged and not route.query:
            continue
        for name in (*route.query, "page", "count"):
            answer = await send(client, w, route, f"{w.path(route)}?{name}=a%00b")
            if not names_parameter(answer, name):
                failures.append(f"{route.method} {route.path}?{name}: {answer.body}")
    assert not failures, report(failures)


async def test_null_in_any_field_is_refused_or_means_none(client: Client) -> None:
    """A PUT sends the field alone (only what is sent changes): null for a NOT NULL column is
    refused naming the field. A POST sends the whole sample with it: refused (a rule across fields
    may name another) or taken as absent. Never a 500."""
    w = await world(client)
    failures = []
    for route in body_routes():
        assert route.body is not None
        for name, field in route.body.model_fields.items():
            alias = field.alias or name
            alone = route.method == "PUT" and issubclass(route.body, Patch)
            if alone:
                body = {alias: None}
            else:
                body = next(sample(w) for sample in SAMPLES[route.body] if alias in sample(w))
                body[alias] = None
            answer = await send(client, w, route, w.path(route), body)
            named = names_field(answer, alias) or (not alone and names_field(answer, ""))
            if answer.status >= 500 or (answer.status == 400 and not named):
                failures.append(
                    f"{route.method} {route.path} {alias}: null -> {answer.status} {answer.body}"
                )
    assert not failures, report(failures)


async def test_a_nul_in_a_form_body_is_refused(client: Client) -> None:
    body = {**organization_body(unique("form")), "name": NUL}
    answer = await client.post("/systems", form=body)
    assert names_field(answer, "name"), answer.body


async def test_a_nul_in_the_jwt_key_is_an_unknown_key(client: Client) -> None:
    claims = {"key": NUL, "method": "GET", "path": "/systems", "exp": 4_000_000_000}
    token = jwt.encode(claims, "x" * 32, algorithm="HS256")
    answer = await client.get("/systems", headers={"Authorization": f'JWT token="{token}"'})
    assert answer.status == 403, answer.body
    assert answer.body["code"] == "NotAuthorized"


def test_the_world_has_a_value_for_every_path_parameter() -> None:
    names = {name for route in all_routes() for name in _PARAMETER.findall(route.path)}
    assert names == set(PARAMETERS)


@pytest.mark.parametrize("segment", [b"a\xffb", b"a\xed\xa0\x80b", b"a%00b"])
async def test_a_path_segment_of_undecodable_bytes_is_not_a_server_error(
    stack: Stack, segment: bytes
) -> None:
    # Sent as raw bytes: no client would send them so, yet anyone can.
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
    writer.write(b"GET /public/assertions/" + segment + b" HTTP/1.1\r\nHost: plaudit\r\n\r\n")
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status_line.split()[1] in (b"400", b"404"), status_line
