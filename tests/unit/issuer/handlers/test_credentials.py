"""The issuer's handlers on their own: each runs on a Context built as a dispatcher builds it,
with an in-memory repository and no Postgres or RabbitMQ (fakes.py). What crosses processes
(the scheduler's calls, the outbox, the gateway) is tested in tests/integration and tests/e2e."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.issuer.deps import Deps
from services.issuer.handlers import credentials as handlers
from services.issuer.scheduler import fingerprint
from shared.errors import Conflict, NotFound, PermanentError, ValidationFailed
from shared.messages import credentials as messages
from shared.messages.fields import Page
from tests.unit.issuer.fakes import (
    NOW,
    OTHER_SYSTEM_ID,
    SECRETS,
    SYSTEM_ID,
    FakeCredentials,
    FakeScheduler,
    event_context,
    request_context,
)


def open_campus_body(reference: str | None = "ref-1", **changes: Any) -> dict[str, Any]:
    """An OCA body Open Campus accepts."""
    body: dict[str, Any] = {
        "credentialPayload": {
            "awardedDate": "2024-01-31T12:00:00Z",
            "validFrom": "2024-01-31T12:00:00Z",
            "description": "Read twenty books",
            "credentialSubject": {
                "type": "Person",
                "name": "Ada Reader",
                "email": "ada@example.org",
                "achievement": {
                    "identifier": "reading-champion",
                    "achievementType": "Badge",
                    "name": "Reading Champion",
                    "description": "Twenty books",
                },
            },
        },
        "holderOcId": "ada.edu",
        **changes,
    }
    if reference is not None:
        body["issuerReferenceId"] = reference
    return body


def request_credential(body: dict[str, Any]) -> messages.RequestCredential:
    return messages.RequestCredential(system_id=SYSTEM_ID, system="chicago", body=body)


class TestRequestCredential:
    async def test_a_new_credential_is_pending_and_wakes_the_scheduler_after_commit(
        self, deps: Deps, repo: FakeCredentials, scheduler: FakeScheduler
    ) -> None:
        cmd = request_credential(open_campus_body("ref-1"))
        ctx = request_context(deps, cmd)

        reply = await handlers.request_credential(cmd, ctx)

        [stored] = repo.credentials.values()
        assert reply == {
            "created": True,
            "credential": {
                "id": str(stored["id"]),
                "issuerReferenceId": "ref-1",
                "status": "pending",
            },
        }
        assert (stored["system_id"], stored["kind"], stored["award_uid"]) == (
            SYSTEM_ID,
            "OCA",
            None,
        )
        assert stored["body"] == open_campus_body("ref-1")
        assert stored["body_hash"] == handlers.body_hash(open_campus_body("ref-1"))
        assert stored["correlation_id"] == "c"
        assert ctx.system_id == SYSTEM_ID
        assert ctx.after_commit == [scheduler.wake]

    async def test_without_an_issuer_reference_id_one_is_derived_from_the_credential_id(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        cmd = request_credential(open_campus_body(reference=None))

        reply = await handlers.request_credential(cmd, request_context(deps, cmd))

        [stored] = repo.credentials.values()
        assert reply["credential"]["issuerReferenceId"] == f"plaudit:{stored['id']}"
        assert stored["body"]["issuerReferenceId"] == f"plaudit:{stored['id']}"

    async def test_the_same_reference_with_the_same_body_answers_the_existing_credential(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        cmd = request_credential(open_campus_body("ref-1"))
        first = await handlers.request_credential(cmd, request_context(deps, cmd))
        repo.attempts[uuid.UUID(first["credential"]["id"])] = [
            {"at": NOW, "status_code": 503, "duration_ms": 12, "outcome": "retry"}
        ]

        ctx = request_context(deps, cmd)
        again = await handlers.request_credential(cmd, ctx)

        assert len(repo.credentials) == 1
        assert again["created"] is False
        assert again["credential"]["id"] == first["credential"]["id"]
        assert [attempt["statusCode"] for attempt in again["credential"]["attempts"]] == [503]
        assert ctx.after_commit == []

    async def test_the_same_reference_with_another_body_is_a_conflict_naming_it(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        first = request_credential(open_campus_body("ref-1"))
        await handlers.request_credential(first, request_context(deps, first))
        other = request_credential(open_campus_body("ref-1", holderOcId="grace.edu"))

        with pytest.raises(Conflict) as caught:
            await handlers.request_credential(other, request_context(deps, other))

        assert caught.value.status == 409
        assert caught.value.details == {"issuerReferenceId": "ref-1"}
        assert len(repo.credentials) == 1

    async def test_a_body_open_campus_would_refuse_is_a_400_naming_each_field(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        body = open_campus_body()
        del body["credentialPayload"]["credentialSubject"]["email"]
        cmd = request_credential(body)
        ctx = request_context(deps, cmd)

        with pytest.raises(ValidationFailed) as caught:
            await handlers.request_credential(cmd, ctx)

        assert caught.value.status == 400
        fields = [detail["field"] for detail in caught.value.details]
        assert fields == ["credentialPayload.credentialSubject.email"]
        assert repo.credentials == {}
        assert ctx.after_commit == []


class TestGetCredential:
    async def test_shows_the_credential_with_its_attempts_and_never_the_recipient(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        row = repo.add(system_id=SYSTEM_ID, body=open_campus_body("ref-1"), status="issued")
        repo.attempts[row["id"]] = [
            {"at": NOW, "status_code": 200, "duration_ms": 40, "outcome": "issued"}
        ]
        query = messages.GetCredential(system_id=SYSTEM_ID, id=str(row["id"]))
        ctx = request_context(deps, query)

        shown = await handlers.get_credential(query, ctx)

        assert (shown["id"], shown["status"], shown["holderOcId"]) == (
            str(row["id"]),
            "issued",
            "ada.edu",
        )
        assert [attempt["outcome"] for attempt in shown["attempts"]] == ["issued"]
        assert "Ada Reader" not in str(shown)
        assert "ada@example.org" not in str(shown)
        assert ctx.system_id == SYSTEM_ID

    async def test_another_systems_credential_is_not_found(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        row = repo.add(system_id=OTHER_SYSTEM_ID)
        query = messages.GetCredential(system_id=SYSTEM_ID, id=str(row["id"]))

        with pytest.raises(NotFound) as caught:
            await handlers.get_credential(query, request_context(deps, query))

        assert caught.value.status == 404

    async def test_an_id_that_is_not_a_uuid_is_not_found(self, deps: Deps) -> None:
        query = messages.GetCredential(system_id=SYSTEM_ID, id="not-a-uuid")

        with pytest.raises(NotFound, match="not-a-uuid"):
            await handlers.get_credential(query, request_context(deps, query))


class TestListCredentials:
    async def test_lists_the_systems_credentials_of_a_status_with_their_total(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        failed = [repo.add(system_id=SYSTEM_ID, status="failed") for _ in range(3)]
        repo.add(system_id=SYSTEM_ID, status="issued")
        repo.add(system_id=OTHER_SYSTEM_ID, status="failed")
        query = messages.ListCredentials(
            system_id=SYSTEM_ID, status="failed", page=Page(page=1, count=2)
        )

        listed = await handlers.list_credentials(query, request_context(deps, query))

        assert [item["id"] for item in listed["items"]] == [str(row["id"]) for row in failed[:2]]
        assert listed["total"] == 3


class TestRetryCredential:
    async def test_a_failed_credential_is_pending_again_and_wakes_the_scheduler(
        self, deps: Deps, repo: FakeCredentials, scheduler: FakeScheduler
    ) -> None:
        row = repo.add(system_id=SYSTEM_ID, status="failed", error={"message": "refused"})
        cmd = messages.RetryCredential(system_id=SYSTEM_ID, id=str(row["id"]))
        ctx = request_context(deps, cmd)

        shown = await handlers.retry_credential(cmd, ctx)

        assert (shown["status"], shown["error"]) == ("pending", None)
        assert repo.credentials[row["id"]]["status"] == "pending"
        assert ctx.after_commit == [scheduler.wake]
        assert ctx.system_id == SYSTEM_ID

    @pytest.mark.parametrize("status", ["pending", "issued", "cancelled"])
    async def test_a_credential_that_has_not_failed_is_a_conflict_saying_its_status(
        self, deps: Deps, repo: FakeCredentials, status: str
    ) -> None:
        row = repo.add(system_id=SYSTEM_ID, status=status)
        cmd = messages.RetryCredential(system_id=SYSTEM_ID, id=str(row["id"]))
        ctx = request_context(deps, cmd)

        with pytest.raises(Conflict, match=f"this one is {status}"):
            await handlers.retry_credential(cmd, ctx)

        assert repo.credentials[row["id"]]["status"] == status
        assert ctx.after_commit == []

    @pytest.mark.parametrize("found", ["another system's", "unknown", "not a uuid"])
    async def test_a_credential_the_system_does_not_have_is_not_found(
        self, deps: Deps, repo: FakeCredentials, found: str
    ) -> None:
        theirs = repo.add(system_id=OTHER_SYSTEM_ID, status="failed")
        credential_id = {
            "another system's": str(theirs["id"]),
            "unknown": str(uuid.uuid4()),
            "not a uuid": "42",
        }[found]
        cmd = messages.RetryCredential(system_id=SYSTEM_ID, id=credential_id)

        with pytest.raises(NotFound):
            await handlers.retry_credential(cmd, request_context(deps, cmd))

        assert repo.credentials[theirs["id"]]["status"] == "failed"


class TestSetOpenCampusKey:
    async def test_the_key_is_stored_encrypted_and_only_its_last_four_characters_are_shown(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        cmd = messages.SetOpenCampusKey(
            system_id=SYSTEM_ID, system="chicago", api_key="  oc-secret-key-1234  "
        )
        ctx = request_context(deps, cmd)

        reply = await handlers.set_open_campus_key(cmd, ctx)

        assert reply == {"configured": True, "apiKeyLast4": "1234"}
        stored = repo.keys[SYSTEM_ID]
        assert "oc-secret-key" not in str(stored)
        assert SECRETS.decrypt(stored["ciphertext"]) == "oc-secret-key-1234"
        assert stored["fingerprint"] == fingerprint("oc-secret-key-1234")
        assert stored["last4"] == "1234"
        assert ctx.system_id == SYSTEM_ID


class TestGetOpenCampusSettings:
    async def test_a_configured_key_shows_its_last_four_characters_only(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        set_key = messages.SetOpenCampusKey(
            system_id=SYSTEM_ID, system="chicago", api_key="oc-secret-key-1234"
        )
        await handlers.set_open_campus_key(set_key, request_context(deps, set_key))
        query = messages.GetOpenCampusSettings(system_id=SYSTEM_ID)

        shown = await handlers.get_open_campus_settings(query, request_context(deps, query))

        assert shown == {"configured": True, "apiKeyLast4": "1234"}

    async def test_a_system_without_a_key_is_not_configured(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        await repo.set_key(OTHER_SYSTEM_ID, "ciphertext", "fingerprint", "9999")
        query = messages.GetOpenCampusSettings(system_id=SYSTEM_ID)

        shown = await handlers.get_open_campus_settings(query, request_context(deps, query))

        assert shown == {"configured": False, "apiKeyLast4": None}


def issue_credential(**changes: Any) -> messages.IssueCredential:
    fields: dict[str, Any] = {
        "credential_id": uuid.uuid4(),
        "system": "chicago",
        "award_uid": uuid.uuid4(),
        "body": open_campus_body("plaudit:award-1"),
        **changes,
    }
    return messages.IssueCredential(**fields)


class TestIssueCredential:
    async def test_the_awards_credential_is_stored_under_its_id_and_wakes_the_scheduler(
        self, deps: Deps, repo: FakeCredentials, scheduler: FakeScheduler
    ) -> None:
        cmd = issue_credential()
        ctx = event_context(deps, cmd)

        assert await handlers.issue_credential(cmd, ctx) is None

        stored = repo.credentials[cmd.credential_id]
        assert (stored["system_id"], stored["award_uid"], stored["status"]) == (
            SYSTEM_ID,
            cmd.award_uid,
            "pending",
        )
        assert stored["issuer_reference_id"] == "plaudit:award-1"
        assert ctx.after_commit == [scheduler.wake]
        assert ctx.events == []

    async def test_an_award_that_has_its_credential_already_gets_no_second_one(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        first = issue_credential()
        await handlers.issue_credential(first, event_context(deps, first))
        # The same award asks again (its command sent twice): another credential id, same award.
        again = issue_credential(award_uid=first.award_uid, body=open_campus_body("plaudit:x"))
        ctx = event_context(deps, again)

        await handlers.issue_credential(again, ctx)

        assert list(repo.credentials) == [first.credential_id]
        assert ctx.after_commit == []

    async def test_a_body_breaking_open_campus_rules_is_dead_lettered_storing_nothing(
        self, deps: Deps, repo: FakeCredentials
    ) -> None:
        body = open_campus_body()
        del body["holderOcId"]
        cmd = issue_credential(body=body)

        with pytest.raises(PermanentError):
            await handlers.issue_credential(cmd, event_context(deps, cmd))

        assert repo.credentials == {}


class TestCancelCredential:
    @pytest.mark.parametrize("status", ["pending", "failed"])
    async def test_a_credential_not_issued_yet_never_will_be(
        self, deps: Deps, repo: FakeCredentials, status: str
    ) -> None:
        row = repo.add(system_id=SYSTEM_ID, status=status)
        cmd = messages.CancelCredential(credential_id=row["id"])

        await handlers.cancel_credential(cmd, event_context(deps, cmd))

        assert repo.credentials[row["id"]]["status"] == "cancelled"
