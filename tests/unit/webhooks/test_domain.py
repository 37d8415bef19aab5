"""The webhooks service's rules: signatures (checked with the `standardwebhooks` package, an
implementation of the spec other than ours), BadgeKit's JWT, payloads, retry delays, and what
endpoints and deliveries look like in responses."""

from __future__ import annotations

import base64
import hashlib
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import orjson
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.webhooks import domain
from shared.tokens import short_secrets_allowed
from tests.unit.webhooks.fakes import NOW, delivery_row, endpoint_row

SCHEDULE = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30))
BODY = b'{"type":"badge.awarded","timestamp":"2024-05-01T12:00:00+00:00","data":{}}'


class TestStandardSignature:
    def test_a_receiver_verifies_it_with_the_secret(self) -> None:
        secret = domain.new_secret()
        headers = domain.standard_headers([secret], "msg_1", int(time.time()), BODY)

        assert Webhook(secret).verify(BODY, headers) == orjson.loads(BODY)

    def test_during_a_rotation_both_secrets_sign(self) -> None:
        new, old = domain.new_secret(), domain.new_secret()
        headers = domain.standard_headers([new, old], "msg_1", int(time.time()), BODY)

        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (new, old):
            Webhook(secret).verify(BODY, headers)

    def test_another_secret_or_body_does_not_verify(self) -> None:
        headers = domain.standard_headers([domain.new_secret()], "msg_1", int(time.time()), BODY)

        with pytest.raises(WebhookVerificationError):
            Webhook(domain.new_secret()).verify(BODY, headers)

    def test_secrets_have_the_prefix_and_enough_random_bytes(self) -> None:
        secrets = {domain.new_secret() for _ in range(20)}

        assert len(secrets) == 20
        assert all(secret.startswith(domain.SECRET_PREFIX) for secret in secrets)
        # Standard Webhooks wants 24 to 64 random bytes.
        assert all(
            24 <= len(base64.b64decode(secret.removeprefix(domain.SECRET_PREFIX))) <= 64
            for secret in secrets
        )


class TestBadgeKitSignature:
    def test_a_jwt_with_the_bodys_hash_signed_with_the_secret(self) -> None:
        header = domain.badgekit_headers("shh", BODY)["Authorization"]

        token = header.removeprefix('JWT token="').removesuffix('"')
        with short_secrets_allowed():
            claims = jwt.decode(token, "shh", algorithms=["HS256"])
        assert claims == {"body": {"alg": "sha256", "hash": hashlib.sha256(BODY).hexdigest()}}


class TestPayloads:
    def test_the_standard_body_is_type_timestamp_and_data(self) -> None:
        body = domain.standard_payload("badge.awarded", NOW, {"uid": "a1"})

        assert orjson.loads(body) == {
            "type": "badge.awarded",
            "timestamp": "2024-05-01T12:00:00+00:00",
            "data": {"uid": "a1"},
        }

    def test_badgekits_body_is_its_action_and_the_fields_it_sent(self) -> None:
        data = {"uid": "a1", "badge": "reader", "email": "ada@example.org", "extra": 1}

        body = domain.badgekit_payload("badge.revoked", data)

        assert body is not None
        assert orjson.loads(body) == {
            "action": "revoke",
            "uid": "a1",
            "badge": "reader",
            "email": "ada@example.org",
        }

    @pytest.mark.parametrize("event_type", ["badge.created", "credential.issued", "webhook.test"])
    def test_badgekit_sent_nothing_for_other_events(self, event_type: str) -> None:
        assert domain.badgekit_payload(event_type, {}) is None


class TestRetryDelay:
    def test_within_twenty_percent_of_each_step(self) -> None:
        rng = random.Random(7)
        for step, base in enumerate(SCHEDULE):
            delays = [domain.retry_delay(step, SCHEDULE, None, rng) for _ in range(500)]
            seconds = base.total_seconds()
            assert all(d is not None and 0.8 * seconds <= d <= 1.2 * seconds for d in delays)

    def test_retry_after_is_a_floor(self) -> None:
        assert domain.retry_delay(0, SCHEDULE, 600.0, random.Random(1)) == 600.0

    def test_none_once_the_schedule_is_spent(self) -> None:
        assert domain.retry_delay(len(SCHEDULE), SCHEDULE, None, random.Random()) is None


class TestPresenters:
    def test_an_endpoint_shows_its_secret_only_when_given_one(self) -> None:
        row = endpoint_row(secret_ciphertext="ciphertext")

        assert "secret" not in domain.endpoint(row)
        assert domain.endpoint(row, secret="whsec_x")["secret"] == "whsec_x"
        assert "ciphertext" not in str(domain.endpoint(row, secret="whsec_x"))

    def test_a_disabled_endpoint_says_why_and_since_when(self) -> None:
        row = endpoint_row(enabled=False, disabled_reason="410", disabled_at=NOW)

        shown = domain.endpoint(row)

        assert (shown["disabledReason"], shown["disabledAt"]) == ("410", NOW.isoformat())
        assert "disabledReason" not in domain.endpoint(endpoint_row())

    def test_only_a_pending_delivery_has_a_next_attempt(self) -> None:
        endpoint = endpoint_row()
        later = datetime(2024, 5, 2, tzinfo=UTC)

        pending = domain.delivery(delivery_row(endpoint, next_attempt_at=later), [])
        failed = domain.delivery(delivery_row(endpoint, status="failed", next_attempt_at=later), [])

        assert pending["nextAttemptAt"] == later.isoformat()
        assert failed["nextAttemptAt"] is None

    def test_a_delivery_lists_its_attempts(self) -> None:
        row = delivery_row(endpoint_row(), event_id=uuid.UUID(int=1))
        attempt = {"at": NOW, "status_code": 500, "duration_ms": 9, "response": "no", "error": None}

        shown = domain.delivery(row, [attempt])

        assert shown["eventId"] == str(uuid.UUID(int=1))
        assert shown["attempts"] == [
            {
                "at": NOW.isoformat(),
                "statusCode": 500,
                "durationMs": 9,
                "response": "no",
                "error": None,
            }
        ]
