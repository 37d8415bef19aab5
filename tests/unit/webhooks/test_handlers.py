"""The webhooks service's handlers on their own: each runs on a Context built as a dispatcher
builds it, with an in-memory repository and no Postgres or RabbitMQ (fakes.py). What crosses
processes (sending, signing on the wire, the gateway) is tested in tests/e2e."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from structlog.testing import capture_logs

from services.webhooks import domain, handlers, repository
from services.webhooks.deps import Deps
from shared import inbox
from shared.config import Environment, Settings
from shared.context import Context, Sensitive, does_choose_commit, does_handle_batches
from shared.crypto import SecretBox
from shared.envelope import Envelope
from shared.errors import NotFound, ValidationFailed
from shared.messages import webhooks as messages
from shared.messages.base import Message
from shared.messages.events import BadgeCreated, SystemDeleted
from shared.messages.fields import Page
from shared.messages.instances import BadgeAwarded
from tests.unit.webhooks.fakes import NOW, AtOnceBatch, FakeDispatcher, FakeRepository

SYSTEM_ID = 7
OTHER_SYSTEM_ID = 8
# Never a connection: a handler reaching Postgres other than through its repository fails.
NO_CONNECTION: Any = object()
SECRETS = SecretBox(["unit-test-encryption-key"])
OVERLAP = timedelta(hours=6)
PRIVATE_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/hook",
    "http://[::1]/hook",
]


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def dispatcher() -> FakeDispatcher:
    return FakeDispatcher()


@pytest.fixture
def deps(repo: FakeRepository, dispatcher: FakeDispatcher) -> Deps:
    settings = Settings(
        plaudit_env=Environment.TEST, webhook_allow_private=False, webhook_secret_overlap=OVERLAP
    )
    return Deps(settings, SECRETS, dispatcher, repository=lambda conn: repo)


def request_context(deps: Deps, message: Message) -> Context[Deps]:
    """A request's context: its handler names the system (`ctx.system_id`) itself."""
    envelope = Envelope.wrap(message, correlation_id="c", system_id=SYSTEM_ID)
    return Context(NO_CONNECTION, deps, envelope)


def event_context(deps: Deps, message: Message) -> Context[Deps]:
    """An event's context, the system its envelope's."""
    envelope = Envelope.wrap(message, correlation_id="c", system_id=SYSTEM_ID)
    return Context(NO_CONNECTION, deps, envelope, system_id=envelope.system_id)


def batch_context(
    deps: Deps, events: list[Message], came_to: list[inbox.Handled] | None = None
) -> AtOnceBatch:
    """A batch of events, as the dispatcher hands it; `came_to`: what the fan-out's statement
    makes of each (by default, each fresh with no delivery)."""
    contexts = [event_context(deps, event) for event in events]
    return AtOnceBatch(
        NO_CONNECTION,
        deps,
        contexts,
        came_to=came_to if came_to is not None else [inbox.Handled("fresh")] * len(events),
    )


def badge_awarded() -> BadgeAwarded:
    return BadgeAwarded(
        system="chicago",
        uid="a1",
        badge={"slug": "reader"},
        email="ada@example.org",
        assertion_url="https://badges.example.org/public/assertions/a1",
        open_badge_credential_url="https://badges.example.org/public/credentials/a1",
        issued_on=1714564800,
        salt="5a17",
    )


class TestFanOut:
    async def test_a_batchs_deliveries_are_recorded_in_one_statement_with_its_inbox_rows(
        self, deps: Deps
    ) -> None:
        events: list[Message] = [badge_awarded(), BadgeCreated(system="chicago", badge={})]
        ctx = batch_context(deps, events)

        await handlers.fan_out(events, ctx)

        envelopes = [each.envelope for each in ctx.each]
        ids = [envelope.message_id for envelope in envelopes]
        [(statement, args)] = ctx.statements
        assert statement == repository.FAN_OUT
        assert args == (
            list(domain.BADGEKIT_TYPES),
            ids,
            [domain.standard_payload(e.type, e.occurred_at, e.data) for e in envelopes],
            [domain.badgekit_payload(e.type, e.data) for e in envelopes],
        )
        assert (ctx.keys, ctx.wanted) == (ids, repository.FAN_OUT_WANTED)

    async def test_each_event_has_its_payload_in_either_format_or_none_where_badgekit_had_none(
        self, deps: Deps
    ) -> None:
        events: list[Message] = [badge_awarded(), BadgeCreated(system="chicago", badge={})]
        ctx = batch_context(deps, events)

        await handlers.fan_out(events, ctx)

        [(_, (_, _, standard, badgekit))] = ctx.statements
        assert [orjson.loads(body)["type"] for body in standard] == [
            "badge.awarded",
            "badge.created",
        ]
        assert orjson.loads(badgekit[0])["action"] == "award"
        assert badgekit[1] is None

    async def test_the_dispatcher_is_woken_once_after_commit_when_deliveries_were_recorded(
        self, deps: Deps, dispatcher: FakeDispatcher
    ) -> None:
        events: list[Message] = [badge_awarded(), badge_awarded(), badge_awarded()]
        came_to = [inbox.UNWANTED, inbox.Handled("fresh", 2), inbox.Handled("fresh", 1)]
        ctx = batch_context(deps, events, came_to)

        with capture_logs() as logs:
            await handlers.fan_out(events, ctx)

        assert ctx.after_commit == [dispatcher.wake]
        fanned_out = [entry for entry in logs if entry["event"] == "webhooks.fanned_out"]
        assert [entry["events"] for entry in fanned_out] == [
            {str(ctx.each[1].envelope.message_id): 2, str(ctx.each[2].envelope.message_id): 1}
        ]

    async def test_a_batch_that_records_no_delivery_wakes_nothing(self, deps: Deps) -> None:
        events: list[Message] = [badge_awarded(), badge_awarded(), badge_awarded()]
        came_to = [inbox.UNWANTED, inbox.DUPLICATE, inbox.Handled("fresh", 0)]
        ctx = batch_context(deps, events, came_to)

        await handlers.fan_out(events, ctx)

        assert len(ctx.statements) == 1
        assert ctx.after_commit == []

    def test_it_handles_its_events_in_batches_committing_at_once(self) -> None:
        assert does_handle_batches(handlers.fan_out)
        assert does_choose_commit(handlers.fan_out)
        assert all(
            subscribers == [handlers.fan_out]
            for event, subscribers in handlers.EVENT_HANDLERS.items()
            if event is not SystemDeleted
        )


class TestPurgeSystem:
    async def test_the_systems_endpoints_go_with_their_deliveries_and_its_inbox_but_the_deletion(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        ours = repo.add_endpoint(system_id=SYSTEM_ID)
        repo.add_delivery(ours)
        theirs = repo.add_endpoint(system_id=OTHER_SYSTEM_ID)
        kept = repo.add_delivery(theirs)
        event = SystemDeleted(system="chicago")
        ctx = event_context(deps, event)

        await handlers.purge_system(event, ctx)

        assert list(repo.endpoint_rows) == [theirs["id"]]
        assert list(repo.delivery_rows) == [kept["id"]]
        assert repo.purged == [(SYSTEM_ID, ctx.envelope.message_id)]


def create_endpoint(url: str = "https://hooks.example.org/plaudit", **fields: Any) -> Any:
    return messages.CreateEndpoint(
        system_id=SYSTEM_ID,
        system="chicago",
        endpoint=messages.EndpointFields(url=url, **fields),
    )


class TestCreateEndpoint:
    async def test_the_secret_is_shown_once_and_stored_encrypted(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        cmd = create_endpoint()

        reply = await handlers.create_endpoint(cmd, request_context(deps, cmd))

        assert isinstance(reply, Sensitive)
        secret = reply.data["secret"]
        assert secret.startswith(domain.SECRET_PREFIX)
        assert "secret" not in reply.stored  # what a redelivery would replay
        assert reply.stored == {key: value for key, value in reply.data.items() if key != "secret"}
        [stored] = repo.endpoint_rows.values()
        assert secret not in str(stored)
        assert SECRETS.decrypt(stored["secret_ciphertext"]) == secret

    async def test_the_endpoint_is_stored_for_the_system_as_given(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        cmd = create_endpoint(
            events=["badge.awarded", "badge.revoked"], format="badgekit", description="CRM"
        )
        ctx = request_context(deps, cmd)

        reply = await handlers.create_endpoint(cmd, ctx)

        [stored] = repo.endpoint_rows.values()
        assert (stored["system_id"], stored["system"], stored["url"]) == (
            SYSTEM_ID,
            "chicago",
            "https://hooks.example.org/plaudit",
        )
        assert (stored["events"], stored["format"], stored["description"]) == (
            ["badge.awarded", "badge.revoked"],
            "badgekit",
            "CRM",
        )
        assert reply.stored == domain.endpoint(stored)
        assert ctx.system_id == SYSTEM_ID

    @pytest.mark.parametrize("url", PRIVATE_URLS)
    async def test_a_local_or_private_target_is_refused_naming_the_url(
        self, deps: Deps, repo: FakeRepository, url: str
    ) -> None:
        cmd = create_endpoint(url)

        with pytest.raises(ValidationFailed) as caught:
            await handlers.create_endpoint(cmd, request_context(deps, cmd))

        [detail] = caught.value.details
        assert (detail["field"], detail["value"]) == ("url", url)
        assert detail["message"].startswith("Refused target: ")
        assert repo.endpoint_rows == {}

    async def test_a_private_target_is_taken_where_webhook_allow_private_is_set(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        allowing = dataclasses.replace(
            deps, settings=Settings(plaudit_env=Environment.TEST, webhook_allow_private=True)
        )
        cmd = create_endpoint("http://127.0.0.1:8080/hook")

        await handlers.create_endpoint(cmd, request_context(allowing, cmd))

        assert [row["url"] for row in repo.endpoint_rows.values()] == ["http://127.0.0.1:8080/hook"]


class TestListEndpoints:
    async def test_lists_the_systems_endpoints_a_page_at_a_time_with_their_total(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        ours = [repo.add_endpoint(system_id=SYSTEM_ID) for _ in range(3)]
        repo.add_endpoint(system_id=OTHER_SYSTEM_ID)
        query = messages.ListEndpoints(system_id=SYSTEM_ID, page=Page(page=2, count=2))

        listed = await handlers.list_endpoints(query, request_context(deps, query))

        assert listed == {"items": [domain.endpoint(ours[2])], "total": 3}
        assert "secret" not in str(listed)


class TestGetEndpoint:
    async def test_shows_the_endpoint_without_its_secret(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        query = messages.GetEndpoint(system_id=SYSTEM_ID, id=str(row["id"]))
        ctx = request_context(deps, query)

        shown = await handlers.get_endpoint(query, ctx)

        assert shown == domain.endpoint(row)
        assert "secret" not in shown
        assert ctx.system_id == SYSTEM_ID

    @pytest.mark.parametrize("which", ["another system's", "unknown", "not a uuid"])
    async def test_an_endpoint_the_system_does_not_have_is_not_found(
        self, deps: Deps, repo: FakeRepository, which: str
    ) -> None:
        theirs = repo.add_endpoint(system_id=OTHER_SYSTEM_ID)
        endpoint_id = {
            "another system's": str(theirs["id"]),
            "unknown": str(uuid.uuid4()),
            "not a uuid": "42",
        }[which]
        query = messages.GetEndpoint(system_id=SYSTEM_ID, id=endpoint_id)

        with pytest.raises(NotFound) as caught:
            await handlers.get_endpoint(query, request_context(deps, query))

        assert caught.value.status == 404
        assert endpoint_id in caught.value.message


def update_endpoint(row: dict[str, Any], **changes: Any) -> messages.UpdateEndpoint:
    return messages.UpdateEndpoint(
        system_id=SYSTEM_ID, id=str(row["id"]), changes=messages.EndpointChanges(**changes)
    )


class TestUpdateEndpoint:
    async def test_the_changes_are_saved_and_the_endpoint_shown_as_it_is_now(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        cmd = update_endpoint(row, url="https://new.example.org/hook", events=["badge.revoked"])

        shown = await handlers.update_endpoint(cmd, request_context(deps, cmd))

        stored = repo.endpoint_rows[row["id"]]
        assert (stored["url"], stored["events"]) == (
            "https://new.example.org/hook",
            ["badge.revoked"],
        )
        assert shown == domain.endpoint(stored)

    @pytest.mark.parametrize("url", PRIVATE_URLS)
    async def test_a_new_local_or_private_target_is_refused_and_nothing_changes(
        self, deps: Deps, repo: FakeRepository, url: str
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        before = dict(row)
        cmd = update_endpoint(row, url=url, description="moved")

        with pytest.raises(ValidationFailed) as caught:
            await handlers.update_endpoint(cmd, request_context(deps, cmd))

        assert [detail["field"] for detail in caught.value.details] == ["url"]
        assert repo.endpoint_rows[row["id"]] == before

    async def test_disabling_it_says_it_was_through_the_api(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        pending = repo.add_delivery(row)
        cmd = update_endpoint(row, enabled=False)

        shown = await handlers.update_endpoint(cmd, request_context(deps, cmd))

        assert (shown["enabled"], shown["disabledReason"]) == (False, "disabled through the API")
        assert repo.delivery_rows[pending["id"]]["status"] == "failed"
        assert repo.endpoint_events == [
            (row["id"], "endpoint.disabled", {"reason": "disabled through the API"})
        ]

    async def test_enabling_a_disabled_endpoint_clears_why_it_was(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(
            system_id=SYSTEM_ID, enabled=False, disabled_reason="the endpoint answered 410 Gone"
        )
        cmd = update_endpoint(row, enabled=True)

        shown = await handlers.update_endpoint(cmd, request_context(deps, cmd))

        assert shown["enabled"] is True
        assert "disabledReason" not in shown
        assert repo.endpoint_events == [(row["id"], "endpoint.enabled", None)]

    async def test_an_endpoint_the_system_does_not_have_is_not_found(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        theirs = repo.add_endpoint(system_id=OTHER_SYSTEM_ID)
        cmd = update_endpoint(theirs, description="mine now")

        with pytest.raises(NotFound):
            await handlers.update_endpoint(cmd, request_context(deps, cmd))

        assert repo.endpoint_rows[theirs["id"]]["description"] is None


class TestDeleteEndpoint:
    async def test_the_endpoint_goes_and_is_answered_as_it_was(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        cmd = messages.DeleteEndpoint(system_id=SYSTEM_ID, id=str(row["id"]))

        shown = await handlers.delete_endpoint(cmd, request_context(deps, cmd))

        assert shown == domain.endpoint(row)
        assert repo.endpoint_rows == {}

    async def test_an_endpoint_the_system_does_not_have_is_not_found(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        theirs = repo.add_endpoint(system_id=OTHER_SYSTEM_ID)
        cmd = messages.DeleteEndpoint(system_id=SYSTEM_ID, id=str(theirs["id"]))

        with pytest.raises(NotFound):
            await handlers.delete_endpoint(cmd, request_context(deps, cmd))

        assert list(repo.endpoint_rows) == [theirs["id"]]


class TestRotateEndpointSecret:
    async def test_a_new_secret_is_shown_once_and_the_old_one_signs_beside_it_for_the_overlap(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID, secret_ciphertext=SECRETS.encrypt("whsec_old"))
        cmd = messages.RotateEndpointSecret(system_id=SYSTEM_ID, id=str(row["id"]))

        reply = await handlers.rotate_endpoint_secret(cmd, request_context(deps, cmd))

        assert isinstance(reply, Sensitive)
        secret = reply.data["secret"]
        assert reply.data == {"id": str(row["id"]), "secret": secret}
        assert reply.stored == {"id": str(row["id"])}
        stored = repo.endpoint_rows[row["id"]]
        assert SECRETS.decrypt(stored["secret_ciphertext"]) == secret != "whsec_old"
        assert SECRETS.decrypt(stored["previous_secret_ciphertext"]) == "whsec_old"
        assert stored["previous_secret_until"] == NOW + OVERLAP
        assert repo.endpoint_events == [(row["id"], "endpoint.secret_rotated", None)]

    async def test_an_endpoint_the_system_does_not_have_is_not_found(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        theirs = repo.add_endpoint(system_id=OTHER_SYSTEM_ID)
        cmd = messages.RotateEndpointSecret(system_id=SYSTEM_ID, id=str(theirs["id"]))

        with pytest.raises(NotFound):
            await handlers.rotate_endpoint_secret(cmd, request_context(deps, cmd))

        assert repo.endpoint_rows[theirs["id"]]["secret_ciphertext"] == "ciphertext"


class TestTestEndpoint:
    async def test_a_webhook_test_delivery_goes_to_this_endpoint_alone(
        self, deps: Deps, repo: FakeRepository, dispatcher: FakeDispatcher
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        repo.add_endpoint(system_id=SYSTEM_ID)
        cmd = messages.TestEndpoint(system_id=SYSTEM_ID, id=str(row["id"]))
        ctx = request_context(deps, cmd)

        created = await handlers.test_endpoint(cmd, ctx)

        [delivery] = repo.delivery_rows.values()
        assert created == [str(delivery["id"])]
        assert (delivery["endpoint_id"], delivery["system_id"], delivery["event_type"]) == (
            row["id"],
            SYSTEM_ID,
            "webhook.test",
        )
        payload = orjson.loads(delivery["payload"])
        assert payload["type"] == "webhook.test"
        assert payload["data"] == {"system": "chicago", "endpoint": str(row["id"])}
        assert ctx.after_commit == [dispatcher.wake]

    async def test_an_endpoint_in_badgekits_format_is_refused_as_it_has_no_test_event(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID, format="badgekit")
        cmd = messages.TestEndpoint(system_id=SYSTEM_ID, id=str(row["id"]))
        ctx = request_context(deps, cmd)

        with pytest.raises(ValidationFailed) as caught:
            await handlers.test_endpoint(cmd, ctx)

        [detail] = caught.value.details
        assert (detail["field"], detail["value"]) == ("format", "badgekit")
        assert repo.delivery_rows == {}
        assert ctx.after_commit == []


class TestListDeliveries:
    async def test_lists_the_endpoints_deliveries_of_a_status_with_their_attempts(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        failed = repo.add_delivery(row, status="failed", next_attempt_at=None)
        repo.add_delivery(row, status="succeeded")
        repo.add_delivery(repo.add_endpoint(system_id=SYSTEM_ID), status="failed")
        attempt = {"at": NOW, "status_code": 500, "duration_ms": 9, "response": "", "error": None}
        repo.attempts[failed["id"]] = [attempt]
        query = messages.ListDeliveries(system_id=SYSTEM_ID, id=str(row["id"]), status="failed")

        listed = await handlers.list_deliveries(query, request_context(deps, query))

        assert listed == {"items": [domain.delivery(failed, [attempt])], "total": 1}

    async def test_deliveries_of_an_endpoint_the_system_does_not_have_are_not_found(
        self, deps: Deps, repo: FakeRepository
    ) -> None:
        theirs = repo.add_endpoint(system_id=OTHER_SYSTEM_ID)
        repo.add_delivery(theirs)
        query = messages.ListDeliveries(system_id=SYSTEM_ID, id=str(theirs["id"]))

        with pytest.raises(NotFound):
            await handlers.list_deliveries(query, request_context(deps, query))


def retry_delivery(endpoint: dict[str, Any], delivery_id: str) -> messages.RetryDelivery:
    return messages.RetryDelivery(
        system_id=SYSTEM_ID, id=str(endpoint["id"]), delivery_id=delivery_id
    )


class TestRetryDelivery:
    @pytest.mark.parametrize("status", ["failed", "succeeded"])
    async def test_a_finished_delivery_is_due_again_and_wakes_the_dispatcher(
        self, deps: Deps, repo: FakeRepository, dispatcher: FakeDispatcher, status: str
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        finished = repo.add_delivery(row, status=status, schedule_step=3, next_attempt_at=None)
        cmd = retry_delivery(row, str(finished["id"]))
        ctx = request_context(deps, cmd)

        requeued = await handlers.retry_delivery(cmd, ctx)

        assert requeued == [str(finished["id"])]
        stored = repo.delivery_rows[finished["id"]]
        assert (stored["status"], stored["schedule_step"]) == ("pending", 0)
        assert ctx.after_commit == [dispatcher.wake]

    @pytest.mark.parametrize("which", ["pending", "another endpoint's", "unknown", "not a uuid"])
    async def test_a_delivery_that_cannot_be_retried_is_not_found(
        self, deps: Deps, repo: FakeRepository, which: str
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        pending = repo.add_delivery(row)
        elsewhere = repo.add_delivery(repo.add_endpoint(system_id=SYSTEM_ID), status="failed")
        delivery_id = {
            "pending": str(pending["id"]),
            "another endpoint's": str(elsewhere["id"]),
            "unknown": str(uuid.uuid4()),
            "not a uuid": "42",
        }[which]
        cmd = retry_delivery(row, delivery_id)
        ctx = request_context(deps, cmd)

        with pytest.raises(NotFound, match="finished delivery"):
            await handlers.retry_delivery(cmd, ctx)

        assert repo.delivery_rows[elsewhere["id"]]["status"] == "failed"
        assert ctx.after_commit == []


class TestRecoverDeliveries:
    async def test_every_failed_delivery_created_in_the_window_is_due_again(
        self, deps: Deps, repo: FakeRepository, dispatcher: FakeDispatcher
    ) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        hour = timedelta(hours=1)
        before = repo.add_delivery(row, status="failed", created_at=NOW - 2 * hour)
        inside = [
            repo.add_delivery(row, status="failed", created_at=NOW + minutes * timedelta(minutes=1))
            for minutes in (0, 30)
        ]
        succeeded = repo.add_delivery(row, status="succeeded", created_at=NOW)
        after = repo.add_delivery(row, status="failed", created_at=NOW + hour)
        cmd = messages.RecoverDeliveries(
            system_id=SYSTEM_ID,
            id=str(row["id"]),
            window=messages.Recovery(since=NOW, until=NOW + hour),
        )
        ctx = request_context(deps, cmd)

        requeued = await handlers.recover_deliveries(cmd, ctx)

        assert requeued == [str(delivery["id"]) for delivery in inside]
        statuses = {key: delivery["status"] for key, delivery in repo.delivery_rows.items()}
        assert [statuses[d["id"]] for d in (before, succeeded, after)] == [
            "failed",
            "succeeded",
            "failed",
        ]
        assert ctx.after_commit == [dispatcher.wake]

    async def test_nothing_to_recover_wakes_nothing(self, deps: Deps, repo: FakeRepository) -> None:
        row = repo.add_endpoint(system_id=SYSTEM_ID)
        repo.add_delivery(row, status="succeeded")
        cmd = messages.RecoverDeliveries(
            system_id=SYSTEM_ID, id=str(row["id"]), window=messages.Recovery(since=NOW)
        )
        ctx = request_context(deps, cmd)

        assert await handlers.recover_deliveries(cmd, ctx) == []
        assert ctx.after_commit == []
