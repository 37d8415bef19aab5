"""`POST /issuer/vc`: the key, the rules of shared/opencampus.py, duplicates, the answer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest

from services.sandbox.app import create_app
from shared.opencampus import DUPLICATE_SUBTYPE, InvalidIssueRequest, validate_issue_request
from tests.unit.sandbox.conftest import (
    ACHIEVEMENT_PATH,
    KEY,
    OTHER_KEY,
    SUBJECT_PATH,
    Sandbox,
    changed,
    oca,
    ocb,
    running,
)

VC_ID = re.compile(
    r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
SUBJECT, ACHIEVEMENT = SUBJECT_PATH, ACHIEVEMENT_PATH


class TestApiKey:
    @pytest.mark.parametrize("api_key", [None, "", "not-a-key", KEY.upper()])
    async def test_missing_or_unknown_key_is_refused(
        self, sandbox: Sandbox, api_key: str | None
    ) -> None:
        answer = await sandbox.issue(oca(), api_key=api_key)
        assert answer.status == 401
        assert answer.body["error"]["subType"] == "UNAUTHORIZED"
        assert answer.body["error"]["message"]
        assert await sandbox.credentials() == []

    async def test_the_header_name_is_case_insensitive(self, sandbox: Sandbox) -> None:
        async with sandbox.http.post(
            f"{sandbox.url}/issuer/vc", json=oca(), headers={"x-api-key": KEY}
        ) as response:
            assert response.status == 200

    async def test_every_configured_key_is_accepted(self, sandbox: Sandbox) -> None:
        assert (await sandbox.issue(oca(), api_key=KEY)).status == 200
        assert (await sandbox.issue(oca(), api_key=OTHER_KEY)).status == 200

    async def test_a_key_added_at_run_time_is_accepted(self, sandbox: Sandbox) -> None:
        assert (await sandbox.issue(oca(), api_key="later-key-9876")).status == 401
        added = await sandbox.admin("POST", "keys", {"apiKey": "later-key-9876"})
        assert added.status == 201
        assert added.body == {"status": "created", "apiKeyLast4": "9876"}
        assert (await sandbox.issue(oca(), api_key="later-key-9876")).status == 200

    @pytest.mark.parametrize("body", [{}, {"apiKey": ""}, {"apiKey": 12}, ["k"]])
    async def test_adding_a_key_needs_one(self, sandbox: Sandbox, body: Any) -> None:
        answer = await sandbox.admin("POST", "keys", body)
        assert answer.status == 400
        assert answer.body["error"]["details"][0]["field"] == "apiKey"


class TestSuccess:
    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(oca(), id="oca"),
            pytest.param(ocb(), id="ocb-to-an-address"),
            pytest.param(ocb(holderOcId="bob.edu", holderAddress=None), id="ocb-to-an-ocid"),
            pytest.param(changed(oca(), f"{ACHIEVEMENT}.identifier", "x" * 50), id="identifier-50"),
            pytest.param(changed(oca(), "issuerReferenceId"), id="without-reference"),
            pytest.param(
                changed(oca(), "credentialPayload.validUntil", "2030-01-01T00:00:00+02:00"),
                id="valid-until",
            ),
            pytest.param(
                changed(
                    oca(),
                    f"{ACHIEVEMENT}.attachments",
                    [{"url": "https://example.org/a.pdf", "type": "pdf", "title": "Proof"}],
                ),
                id="attachments",
            ),
            pytest.param(
                changed(
                    oca(),
                    f"{SUBJECT}.ext:OC_CUSTOM:custom",
                    {"ext:OC_CUSTOM:issuer.edu:key1": "custom value 1"},
                ),
                id="custom-data",
            ),
        ],
    )
    async def test_a_valid_body_issues_a_credential(
        self, sandbox: Sandbox, body: dict[str, Any]
    ) -> None:
        body = {key: value for key, value in body.items() if value is not None}
        answer = await sandbox.issue(body)
        assert answer.status == 200, answer.body
        assert answer.headers["Content-Type"].startswith("application/json")
        assert set(answer.body) == {"vc"}
        assert VC_ID.match(answer.body["vc"]["id"])
        [recorded] = await sandbox.credentials()
        assert recorded["vcId"] == answer.body["vc"]["id"]
        assert recorded["body"] == body
        assert recorded["kind"] == ("OCB" if "collectionSymbol" in body else "OCA")
        assert recorded["holder"] == body.get("holderOcId", body.get("holderAddress"))
        assert recorded["issuerReferenceId"] == body.get("issuerReferenceId")
        assert recorded["apiKeyLast4"] == KEY[-4:]
        assert recorded["outcome"] == "ok"

    async def test_the_api_answers_under_the_base_url_path(self) -> None:
        async for sandbox in running(create_app([KEY], base_path="/oc/")):
            async with sandbox.http.post(
                f"{sandbox.url}/oc/issuer/vc", json=oca(), headers={"X-API-KEY": KEY}
            ) as response:
                assert response.status == 200
            assert (await sandbox.issue(oca())).status == 404
            assert (await sandbox.admin("GET", "health")).body == {"status": "ok"}


def _oca_to_an_address() -> dict[str, Any]:
    body = oca(holderAddress="0xabcD1234567890abcdef1234567890ABCDEF1234")
    del body["holderOcId"]
    return body


P = "credentialPayload"

# (case, body, a field the details must name)
INVALID: list[tuple[str, Callable[[], Any], str]] = [
    # Required fields, level by level.
    ("no-payload", lambda: changed(oca(), P), P),
    *[
        (f"no-{field}", lambda f=field: changed(oca(), f"{P}.{f}"), f"{P}.{field}")
        for field in ("awardedDate", "description", "validFrom", "credentialSubject")
    ],
    ("no-achievement", lambda: changed(oca(), f"{SUBJECT}.achievement"), ACHIEVEMENT),
    *[
        (
            f"no-{field}",
            lambda f=field: changed(oca(), f"{ACHIEVEMENT}.{f}"),
            f"{ACHIEVEMENT}.{field}",
        )
        for field in ("identifier", "achievementType", "name", "description")
    ],
    ("blank-description", lambda: changed(oca(), f"{P}.description", "  "), f"{P}.description"),
    (
        "null-description",
        lambda: changed(oca(), f"{ACHIEVEMENT}.description", None),
        f"{ACHIEVEMENT}.description",
    ),
    ("number-name", lambda: changed(oca(), f"{ACHIEVEMENT}.name", 12), f"{ACHIEVEMENT}.name"),
    # Dates.
    ("date-only", lambda: changed(oca(), f"{P}.awardedDate", "2023-12-10"), f"{P}.awardedDate"),
    ("no-zone", lambda: changed(oca(), f"{P}.validFrom", "2023-12-10T16:00:00"), f"{P}.validFrom"),
    ("not-a-date", lambda: changed(oca(), f"{P}.awardedDate", "yesterday"), f"{P}.awardedDate"),
    ("bad-month", lambda: changed(oca(), f"{P}.validFrom", "2023-13-10T16:00Z"), f"{P}.validFrom"),
    ("bad-until", lambda: changed(oca(), f"{P}.validUntil", "soon"), f"{P}.validUntil"),
    ("until-before-from", lambda: changed(oca(), f"{P}.validUntil", "2020-01-01T00:00:00Z"), P),
    # Achievement.
    (
        "identifier-51",
        lambda: changed(oca(), f"{ACHIEVEMENT}.identifier", "x" * 51),
        f"{ACHIEVEMENT}.identifier",
    ),
    (
        "empty-identifier",
        lambda: changed(oca(), f"{ACHIEVEMENT}.identifier", ""),
        f"{ACHIEVEMENT}.identifier",
    ),
    (
        "unknown-type",
        lambda: changed(oca(), f"{ACHIEVEMENT}.achievementType", "Trophy"),
        f"{ACHIEVEMENT}.achievementType",
    ),
    (
        "lowercase-type",
        lambda: changed(oca(), f"{ACHIEVEMENT}.achievementType", "badge"),
        f"{ACHIEVEMENT}.achievementType",
    ),
    (
        "attachments-not-a-list",
        lambda: changed(oca(), f"{ACHIEVEMENT}.attachments", {"url": "https://x.org"}),
        f"{ACHIEVEMENT}.attachments",
    ),
    # Holder.
    ("both-holders", lambda: ocb(holderOcId="bob.edu"), "holderOcId"),
    ("no-holder", lambda: changed(oca(), "holderOcId"), "holderOcId"),
    ("null-holder", lambda: oca(holderOcId=None), "holderOcId"),
    ("oca-to-an-address", _oca_to_an_address, "holderAddress"),
    ("oca-without-name", lambda: changed(oca(), f"{SUBJECT}.name"), f"{SUBJECT}.name"),
    ("oca-without-email", lambda: changed(oca(), f"{SUBJECT}.email"), f"{SUBJECT}.email"),
    (
        "bad-email",
        lambda: changed(oca(), f"{SUBJECT}.email", "john at example"),
        f"{SUBJECT}.email",
    ),
    ("ocid-no-edu", lambda: oca(holderOcId="bob"), "holderOcId"),
    ("ocid-uppercase", lambda: oca(holderOcId="Bob.edu"), "holderOcId"),
    ("ocid-space", lambda: oca(holderOcId="bob smith.edu"), "holderOcId"),
    ("address-short", lambda: ocb(holderAddress="0xabc123"), "holderAddress"),
    ("address-not-hex", lambda: ocb(holderAddress="0x" + "g" * 40), "holderAddress"),
    ("address-no-0x", lambda: ocb(holderAddress="ab" * 20), "holderAddress"),
    ("address-too-long", lambda: ocb(holderAddress="0x" + "a" * 41), "holderAddress"),
    # URIs.
    ("ftp-image", lambda: changed(oca(), f"{P}.image", "ftp://x.org/i.png"), f"{P}.image"),
    (
        "js-image",
        lambda: changed(oca(), f"{SUBJECT}.image", "javascript:alert(1)"),
        f"{SUBJECT}.image",
    ),
    (
        "mailto-profile",
        lambda: changed(oca(), f"{SUBJECT}.profileUrl", "mailto:a@b.org"),
        f"{SUBJECT}.profileUrl",
    ),
    (
        "relative-profile",
        lambda: changed(oca(), f"{SUBJECT}.profileUrl", "/me"),
        f"{SUBJECT}.profileUrl",
    ),
    (
        "file-attachment",
        lambda: changed(oca(), f"{ACHIEVEMENT}.attachments", [{"url": "file:///etc/passwd"}]),
        f"{ACHIEVEMENT}.attachments.0.url",
    ),
    # Unknown fields, at each level.
    ("unknown-top", lambda: oca(extra=1), "extra"),
    ("unknown-payload", lambda: changed(oca(), f"{P}.name", "x"), f"{P}.name"),
    ("unknown-subject", lambda: changed(oca(), f"{SUBJECT}.phone", "1"), f"{SUBJECT}.phone"),
    (
        "unknown-achievement",
        lambda: changed(oca(), f"{ACHIEVEMENT}.criteria", {}),
        f"{ACHIEVEMENT}.criteria",
    ),
    ("subject-type", lambda: changed(oca(), f"{SUBJECT}.type", "Organization"), f"{SUBJECT}.type"),
    # issuerReferenceId and collectionSymbol.
    ("empty-reference", lambda: oca(issuerReferenceId=""), "issuerReferenceId"),
    ("reference-129", lambda: oca(issuerReferenceId="r" * 129), "issuerReferenceId"),
    ("reference-space", lambda: oca(issuerReferenceId="a b"), "issuerReferenceId"),
    ("reference-number", lambda: oca(issuerReferenceId=12), "issuerReferenceId"),
    ("empty-collection", lambda: ocb(collectionSymbol=""), "collectionSymbol"),
    # Not an object at all.
    ("a-list", lambda: [oca()], ""),
    ("a-string", lambda: "credential", ""),
]


class TestValidation:
    @pytest.mark.parametrize(
        ("make", "field"), [pytest.param(m, f, id=case) for case, m, f in INVALID]
    )
    async def test_a_body_plaudit_refuses_is_refused_the_same_way(
        self, sandbox: Sandbox, make: Callable[[], Any], field: str
    ) -> None:
        body = make()
        with pytest.raises(InvalidIssueRequest) as plaudit:
            validate_issue_request(body)
        answer = await sandbox.issue(body)
        assert answer.status == 400
        error = answer.body["error"]
        assert error["subType"] == "VALIDATION_ERROR"
        assert error["details"] == plaudit.value.details
        assert field in [detail["field"] for detail in error["details"]]
        assert await sandbox.credentials() == []
        stats = await sandbox.stats()
        assert stats["validationFailed"] == 1
        assert stats["recorded"] == 0

    def test_every_valid_case_is_valid_for_plaudit_too(self) -> None:
        for body in (oca(), ocb()):
            validate_issue_request(body)

    @pytest.mark.parametrize("raw", [b"", b"{broken", b"\xff\xfe", b"NaN"])
    async def test_a_body_that_is_not_json_is_refused(self, sandbox: Sandbox, raw: bytes) -> None:
        answer = await sandbox.issue(None, raw=raw)
        assert answer.status == 400
        assert answer.body["error"]["subType"] == "VALIDATION_ERROR"
        assert (await sandbox.stats())["invalidJson"] == 1


class TestDuplicates:
    async def test_the_same_reference_under_the_same_key_is_a_duplicate(
        self, sandbox: Sandbox
    ) -> None:
        first = await sandbox.issue(oca())
        assert first.status == 200
        again = await sandbox.issue(oca())
        assert again.status == 400
        assert again.body["error"]["subType"] == DUPLICATE_SUBTYPE
        assert again.body["error"]["message"]
        # Even with another body: the reference alone decides.
        other = changed(oca(), f"{ACHIEVEMENT}.name", "Silver Medal")
        assert (await sandbox.issue(other)).body["error"]["subType"] == DUPLICATE_SUBTYPE
        assert [c["vcId"] for c in await sandbox.credentials()] == [first.body["vc"]["id"]]
        assert (await sandbox.stats())["duplicates"] == 2

    async def test_the_same_reference_under_another_key_issues(self, sandbox: Sandbox) -> None:
        mine = await sandbox.issue(oca(), api_key=KEY)
        theirs = await sandbox.issue(oca(), api_key=OTHER_KEY)
        assert mine.status == theirs.status == 200
        assert mine.body["vc"]["id"] != theirs.body["vc"]["id"]
        recorded = await sandbox.credentials("tt:1111222333")
        assert [c["apiKeyLast4"] for c in recorded] == [KEY[-4:], OTHER_KEY[-4:]]

    async def test_without_a_reference_every_call_issues(self, sandbox: Sandbox) -> None:
        body = changed(oca(), "issuerReferenceId")
        ids = {(await sandbox.issue(body)).body["vc"]["id"] for _ in range(3)}
        assert len(ids) == 3
        assert len(await sandbox.credentials()) == 3

    async def test_a_refused_body_does_not_use_up_its_reference(self, sandbox: Sandbox) -> None:
        bad = changed(oca(), f"{ACHIEVEMENT}.identifier", "x" * 51)
        assert (await sandbox.issue(bad)).status == 400
        assert (await sandbox.issue(oca())).status == 200

    async def test_concurrent_calls_with_one_reference_issue_once(self, sandbox: Sandbox) -> None:
        answers = await asyncio.gather(*(sandbox.issue(oca()) for _ in range(40)))
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [200] + [400] * 39
        assert all(
            a.body["error"]["subType"] == DUPLICATE_SUBTYPE for a in answers if a.status == 400
        )
        assert len(await sandbox.credentials()) == 1
        stats = await sandbox.stats()
        assert (stats["recorded"], stats["duplicates"]) == (1, 39)
