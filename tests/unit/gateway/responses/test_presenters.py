"""What the services' presenters show matches the gateway's reply models, keys and types: the
contract test checks every reply over HTTP, these check the presenters on their own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.badges.domain import instances, organizations, public
from services.gateway.responses.awards import Instance
from services.gateway.responses.credentials import Credential
from services.gateway.responses.organizations import System
from services.gateway.responses.public import Assertion, IssuerProfile, RevokedAssertion
from services.gateway.responses.webhooks import Delivery, NewWebhook, Webhook
from services.issuer import domain as issuer
from services.webhooks import domain as webhooks
from shared.public_urls import profile_url

BASE = "https://badges.example.org"
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def org(slug: str) -> dict[str, Any]:
    return {
        "id": 1,
        "slug": slug,
        "url": f"https://{slug}.example.org",
        "name": slug,
        "description": None,
        "email": None,
        "image_url": None,
        "image_slug": "5f2b",
    }


def award_row(**more: Any) -> dict[str, Any]:
    return {
        "slug": "a1",
        "email": "ada@example.org",
        "expires": None,
        "issued_on": NOW,
        "claim_code": None,
        "salt": "pepper",
        "system": "s",
        "issuer": None,
        "program": None,
        "badge": "b",
        "evidence_url": None,
        "narrative": None,
        "revoked_at": None,
        "revocation_reason": None,
        **more,
    }


def test_a_system_with_its_issuers_and_programs() -> None:
    found = {"org": org("s"), "nested": [{**org("i"), "programs": [org("p")]}]}
    System.model_validate(organizations.system(found, BASE))


def test_an_award_with_and_without_its_credential() -> None:
    Instance.model_validate(instances.instance(award_row(), BASE))
    row = award_row(credential_id="c1", credential_status="issued", credential_vc_id="urn:x")
    assert "credential" in Instance.model_validate(instances.instance(row, BASE)).model_fields_set


def test_assertions_active_and_revoked() -> None:
    Assertion.model_validate(public.assertion(award_row(), BASE))
    told = award_row(evidence_url="https://e.example.org/1", narrative="Read *twelve* books.")
    assert "narrative" in Assertion.model_validate(public.assertion(told, BASE)).model_fields_set
    revoked = award_row(revoked_at=NOW, revocation_reason="mistake", expires=NOW)
    RevokedAssertion.model_validate(public.assertion(revoked, BASE))


def test_an_issuer_profile() -> None:
    url = profile_url(BASE, "s", None, None)
    IssuerProfile.model_validate(public.issuer_profile([org("s")], url, BASE))


def test_webhook_endpoints_enabled_disabled_and_new() -> None:
    row = {
        "id": "e1",
        "url": "https://hooks.example.org",
        "events": ["*"],
        "format": "standard",
        "description": None,
        "enabled": True,
        "disabled_reason": None,
        "disabled_at": None,
        "created_at": NOW,
    }
    Webhook.model_validate(webhooks.endpoint(row))
    Webhook.model_validate(webhooks.endpoint({**row, "enabled": False}))
    NewWebhook.model_validate(webhooks.endpoint(row, secret="whsec_x"))


def test_a_delivery_with_its_attempts() -> None:
    row = {
        "id": "d1",
        "event_id": "v1",
        "event_type": "badge.awarded",
        "status": "pending",
        "created_at": NOW,
        "next_attempt_at": NOW,
    }
    attempt = {"at": NOW, "status_code": None, "duration_ms": 3, "response": None, "error": "x"}
    Delivery.model_validate(webhooks.delivery(row, [attempt]))


def test_a_credential_with_its_attempts() -> None:
    row = {
        "id": "c1",
        "issuer_reference_id": "plaudit:c1",
        "kind": "OCA",
        "status": "failed",
        "body": {"holderOcId": "ada.edu"},
        "vc_id": None,
        "error": {"message": "refused"},
        "created_at": NOW,
        "updated_at": NOW,
        "award_uid": None,
    }
    attempt = {"at": NOW, "status_code": 400, "duration_ms": 12, "outcome": "refused"}
    Credential.model_validate(issuer.credential(row, [attempt]))
