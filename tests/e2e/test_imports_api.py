"""Imports (bulk awards from a file) through the real gateway, RabbitMQ, badges service and
Postgres: a mixed file with a result per row, a row's narrative in each document that shows the
award, dry runs, refused files, cancelling, the results file, `import.completed` to webhooks,
and a SIGKILL of the badges service mid-import."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import jsonschema
import pytest
from openbadgeslib.ob2.models import Assertion as OB2Assertion

from services.issuer.ob3 import schemas
from shared.tokens import authorization, mint
from tests.e2e.test_open_badges_3 import credential_of, verify_ldp
from tests.e2e.test_public_documents import public_path
from tests.e2e.test_webhooks_api import register, verified
from tests.support.client import Answer, Client, multipart
from tests.support.events import DEADLINE_S, eventually
from tests.support.factories import make_badge, make_system, unique
from tests.support.receivers import Receivers, receiving
from tests.support.stack import Stack, query

pytestmark = pytest.mark.e2e


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    async with receiving() as made:
        yield made


def email() -> str:
    return f"{unique('learner')}@example.org"


def emails(count: int) -> list[str]:
    """`count` distinct emails: random ones of 32 bits would repeat one in ten times at 30,000
    (and a repeated row is skipped)."""
    run = unique("learner")
    return [f"{run}-{index}@example.org" for index in range(count)]


def csv_file(header: str, *rows: str, separator: str = ",", newline: str = "\r\n") -> bytes:
    lines = [header.replace(",", separator), *rows]
    return (newline.join(lines) + newline).encode()


async def upload(
    client: Client, badge: str, data: bytes, *, query_string: str = "", **fields: str
) -> Answer:
    """The file as multipart (options as form fields before it)."""
    body, content_type = multipart(fields, {"file": ("awards.csv", data)})
    return await client.post(f"{badge}/imports{query_string}", raw=body, content_type=content_type)


def system_of(badge: str) -> str:
    return "/".join(badge.split("/")[:3])


async def finished(
    client: Client, badge: str, import_id: str, timeout_s: float = DEADLINE_S
) -> Any:
    path = f"{system_of(badge)}/imports/{import_id}"

    async def done() -> Any:
        answer = await client.get(path)
        if answer.status == 503:
            return None  # the badges service is restarting
        assert answer.status == 200, answer.body
        job = answer.body["import"]
        return job if job["state"] in ("completed", "cancelled", "failed") else None

    return await eventually(done, f"import {import_id} to finish", timeout_s)


async def results(client: Client, badge: str, import_id: str) -> list[dict[str, str]]:
    answer = await client.get(f"{system_of(badge)}/imports/{import_id}/results")
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.body)))


async def awards_of(client: Client, badge: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{badge}/instances")
    assert answer.status == 200
    instances: list[dict[str, Any]] = answer.body["instances"]
    return instances


class TestImport:
    async def test_a_mixed_file_is_imported_with_a_result_per_row(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        holder = email()
        assert (await client.post(f"{badge}/instances", json={"email": holder})).status == 201
        first, second, third = email(), email(), email()
        data = csv_file(
            "email;name;issuedOn;comment",
            f"{first};Ann;2024-05-01;Well done",
            "not-an-email;Bob;;",
            f"{second};Cy;2024-05-01T10:00;",
            f'{third};"Dee; ""the reader""";1714557600;"two\r\nlines"',
            f"{first.upper()};Ann again;;",
            f"{holder};Holder;;",
            separator=";",
        )
        answer = await upload(client, badge, data, duplicates="skip")

        assert answer.status == 202, answer.body
        assert answer.body["status"] == "accepted"
        job = answer.body["import"]
        assert job["rows"]["total"] == 6
        assert [(p["row"], p["column"]) for p in job["problems"]] == [
            (2, "email"),
            (3, "issuedOn"),
        ]
        done = await finished(client, badge, job["id"])
        assert done["state"] == "completed"
        assert done["rows"] == {"total": 6, "done": 6, "awarded": 2, "skipped": 2, "failed": 2}
        assert "problems" not in done or done["problems"] == job["problems"]
        assert done["ratePerS"] is not None

        rows = await results(client, badge, job["id"])
        assert [(r["row"], r["outcome"]) for r in rows] == [
            ("1", "awarded"),
            ("2", "failed"),
            ("3", "failed"),
            ("4", "awarded"),
            ("5", "skipped"),
            ("6", "skipped"),
        ]
        assert "Repeats the email of row 1" in rows[4]["error"]
        assert "Already holds" in rows[5]["error"]
        awarded = {instance["email"]: instance for instance in await awards_of(client, badge)}
        assert set(awarded) == {holder, first, third}
        assert rows[0]["slug"] == awarded[first]["slug"]
        assert rows[0]["assertionUrl"] == awarded[first]["assertionUrl"]
        assert rows[3]["openBadgeCredentialUrl"] == awarded[third]["openBadgeCredentialUrl"]

    async def test_duplicates_fail_and_allow(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        holder = email()
        assert (await client.post(f"{badge}/instances", json={"email": holder})).status == 201
        data = csv_file("email", holder, holder)

        failing = (await upload(client, badge, data, duplicates="fail")).body["import"]
        assert (await finished(client, badge, failing["id"]))["rows"]["failed"] == 2
        allowing = await client.post(
            f"{badge}/imports?duplicates=allow", raw=data, content_type="text/csv"
        )
        assert allowing.status == 202, allowing.body
        done = await finished(client, badge, allowing.body["import"]["id"])
        assert done["rows"]["awarded"] == 2
        assert len(await awards_of(client, badge)) == 3

    async def test_json_lines_are_imported(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        recipient = email()
        data = f'{{"email": "{recipient}", "comment": "From JSON"}}\n'.encode()
        answer = await client.post(
            f"{badge}/imports", raw=data, content_type="application/x-ndjson"
        )
        assert answer.status == 202, answer.body
        await finished(client, badge, answer.body["import"]["id"])
        [instance] = await awards_of(client, badge)
        assert instance["email"] == recipient


# A narrative with what a CSV field must quote (a comma, quotes), text beyond ASCII, and HTML
# that must stay text wherever it is shown.
NARRATIVE = 'Built "Ada", a robot, from scrap: café, 机器人 ☕ <script>alert(1)</script>'


class TestNarrative:
    async def test_a_rows_narrative_reaches_its_assertion_credential_page_and_webhook(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver = await receivers.new()
        system = await make_system(client)
        badge = await make_badge(client, system)
        hook = await register(client, system, receiver.url, events=["badge.awarded"])
        told, plain = email(), email()
        quoted = NARRATIVE.replace('"', '""')
        data = csv_file(
            "email,evidenceUrl,narrative",
            f'{told},https://e.example.org/robot,"{quoted}"',
            f"{plain},,",
        )
        job = (await upload(client, badge, data)).body["import"]
        assert (await finished(client, badge, job["id"]))["rows"]["awarded"] == 2
        awarded = {instance["email"]: instance for instance in await awards_of(client, badge)}
        assert "narrative" not in awarded[told]  # BadgeKit's instance is as it was

        # Open Badges 2.0: the Assertion's narrative, beside its evidence URL.
        assertion = await public_json(client, awarded[told]["assertionUrl"])
        assert assertion["narrative"] == NARRATIVE
        assert assertion["evidence"] == "https://e.example.org/robot"
        assert OB2Assertion.from_dict(assertion).narrative == NARRATIVE
        assert "narrative" not in await public_json(client, awarded[plain]["assertionUrl"])

        # Open Badges 3.0: the subject's narrative, signed, and the credential still verifies.
        document = await credential_of(client, awarded[told])
        assert document["credentialSubject"]["narrative"] == NARRATIVE
        validator = jsonschema.Draft201909Validator(
            schemas.achievement_credential(), format_checker=jsonschema.FormatChecker()
        )
        assert list(validator.iter_errors(document)) == []
        assert (await verify_ldp(client, document)).issuer.id == document["issuer"]["id"]
        other = await credential_of(client, awarded[plain])
        assert "narrative" not in other["credentialSubject"]

        # The award page: the narrative as text, its HTML escaped.
        page = await client.get(
            public_path(awarded[told]["assertionUrl"], client) + "?format=html", sign=False
        )
        assert page.status == 200
        shown = re.search(r'<p id="narrative"[^>]*>(.*?)</p>', page.body, re.S)
        assert shown is not None
        assert html.unescape(shown.group(1)) == NARRATIVE
        assert "<script>alert(1)" not in page.body

        # The badge.awarded webhook, as its subscriber verifies it.
        await receiver.wait(lambda seen: len(seen) >= 2, "both badge.awarded")
        sent = [verified(received, hook["secret"]) for received in receiver.requests]
        narratives = {body["data"]["email"]: body["data"]["narrative"] for body in sent}
        assert narratives == {told: NARRATIVE, plain: None}


async def public_json(client: Client, url: str) -> Any:
    answer = await client.get(public_path(url, client), sign=False)
    assert answer.status == 200, answer.body
    return answer.body


class TestValidation:
    async def test_a_dry_run_is_stored_validated_and_awards_nothing(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        data = csv_file(
            "\ufeffemail,expires", f"{email()},", "nobody,2999-01-01", f"{email()},2020-01-01"
        )
        answer = await client.post(
            f"{badge}/imports?dryRun=true", raw=data, content_type="text/csv"
        )

        assert answer.status == 200, answer.body
        job = answer.body["import"]
        assert job["state"] == "validated"
        assert job["dryRun"] is True
        assert [(p["row"], p["column"]) for p in job["problems"]] == [(2, "email"), (3, "expires")]
        assert job["rows"] == {"total": 3, "done": 0, "awarded": 0, "skipped": 0, "failed": 2}
        assert await awards_of(client, badge) == []
        listed = await client.get(f"{system}/imports?state=validated")
        assert [found["id"] for found in listed.body["imports"]] == [job["id"]]

    async def test_an_unknown_column_refuses_the_whole_file(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        answer = await upload(client, badge, csv_file("email,grade", f"{email()},A"))

        assert answer.status == 400
        assert answer.body["code"] == "InvalidContent"
        assert "grade" in answer.body["message"]
        assert (await client.get(f"{system}/imports")).body["imports"] == []

    async def test_a_file_without_a_valid_row_is_a_400_with_its_problems(
        self, client: Client
    ) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        answer = await upload(client, badge, csv_file("email,name", "x,Ann", "y,Bob"))

        assert answer.status == 400, answer.body
        assert [(p["row"], p["column"], p["value"]) for p in answer.body["details"]] == [
            (1, "email", "x"),
            (2, "email", "y"),
        ]
        assert (await client.get(f"{system}/imports")).body["imports"] == []

    async def test_a_body_that_is_not_its_tokens_awards_nothing(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        data = csv_file("email", email())
        forged = client.as_key(client.key, client.secret)
        answer = await forged.request(
            "POST",
            f"{badge}/imports",
            raw=data,
            content_type="text/csv",
            headers={"Authorization": _token_for(client, f"{badge}/imports", b"other")},
        )

        assert answer.status == 403
        assert await awards_of(client, badge) == []
        assert (await client.get(f"{system}/imports")).body["imports"] == []


def _token_for(client: Client, path: str, body: bytes) -> str:
    return authorization(mint(client.secret, method="POST", path=path, body=body, key=client.key))


class TestLifecycle:
    async def test_cancel_keeps_the_awards_made_and_a_finished_import_is_a_409(
        self, client: Client
    ) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        data = csv_file("email", *emails(20_000))
        job = (await upload(client, badge, data)).body["import"]

        cancelled = await client.delete(f"{system}/imports/{job['id']}")
        assert cancelled.status == 200, cancelled.body
        assert cancelled.body["status"] == "cancelled"
        assert cancelled.body["import"]["state"] == "cancelled"
        awarded = cancelled.body["import"]["rows"]["awarded"]
        assert awarded < 20_000
        again = await client.get(f"{system}/imports/{job['id']}")
        assert again.body["import"]["rows"]["awarded"] == awarded
        page = await client.get(f"{badge}/instances?page=1&count=1")
        assert page.body["pageData"]["total"] == awarded
        assert (await client.delete(f"{system}/imports/{job['id']}")).status == 409

    async def test_an_unknown_import_is_a_404(self, client: Client) -> None:
        system = await make_system(client)
        assert (await client.get(f"{system}/imports/nope")).status == 404
        missing = "00000000-0000-0000-0000-000000000000"
        assert (await client.get(f"{system}/imports/{missing}/results")).status == 404
        assert (await client.delete(f"{system}/imports/{missing}")).status == 404

    async def test_webhooks_receive_import_completed_without_awards_when_silenced(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver = await receivers.new()
        system = await make_system(client)
        badge = await make_badge(client, system)
        await register(client, system, receiver.url)
        answer = await upload(client, badge, csv_file("email", email(), email()), notify="false")
        job = answer.body["import"]

        await receiver.wait(
            lambda seen: any(r.json()["type"] == "import.completed" for r in seen),
            "import.completed",
        )
        [completed] = receiver.of_type("import.completed")
        data = completed.json()["data"]
        assert data["import"]["id"] == job["id"]
        assert data["import"]["rows"]["awarded"] == 2
        assert "problems" not in data["import"]
        assert data["system"] == system.split("/")[-1]
        assert receiver.of_type("badge.awarded") == []
        assert len(await awards_of(client, badge)) == 2


@pytest.mark.parametrize(
    ("scale", "victim", "restarted"),
    [
        pytest.param("badges=1", "badges", True, id="restarted"),
        # Two replicas: the survivor's runner takes the import over, nothing restarted.
        pytest.param("badges=2", "badges-2", False, id="taken-over-by-a-replica"),
    ],
)
async def test_sigkill_of_badges_mid_import_awards_every_valid_row_once(
    own_stack: Callable[..., Stack],
    http: aiohttp.ClientSession,
    scale: str,
    victim: str,
    restarted: bool,
) -> None:
    stack = own_stack(PLAUDIT_SCALE=scale)
    stack.start()
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    system = await make_system(client)
    badge = await make_badge(client, system)
    recipients = emails(30_000)
    job = (await upload(client, badge, csv_file("email", *recipients, "bad-row"))).body["import"]

    async def under_way() -> bool:
        answer = await client.get(f"{system}/imports/{job['id']}")
        return answer.status == 200 and answer.body["import"]["rows"]["done"] > 0

    await eventually(under_way, "the import to be under way")
    stack.kill(victim)
    if restarted:
        stack.start(victim)
    done = await finished(client, badge, job["id"], timeout_s=120)

    assert done["rows"] == {
        "total": 30_001,
        "done": 30_001,
        "awarded": 30_000,
        "skipped": 0,
        "failed": 1,
    }
    rows = await query(
        stack,
        "SELECT count(*) AS n, count(DISTINCT lower(email)) AS emails FROM badges.instances"
        " WHERE badge_id = (SELECT badge_id FROM badges.imports WHERE id = $1)",
        uuid.UUID(job["id"]),
    )
    assert (rows[0]["n"], rows[0]["emails"]) == (30_000, 30_000)
