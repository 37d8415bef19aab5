"""The gateway's public edges: health, readiness, metrics, unknown routes, HEAD, requests the
HTTP parser refuses, auth over HTTP, correlation ids, and what logs must never hold."""

from __future__ import annotations

import hashlib

import jwt
import orjson
import pytest

from services.gateway.config import MAX_HEADER_FIELD_SIZE
from shared.tokens import authorization, mint
from tests.e2e.test_systems_api import new_slug, system_body
from tests.support.client import Answer, Client
from tests.support.factories import make_badge, make_system
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e


class TestPublicRoutes:
    @pytest.mark.parametrize("path", ["/", "/healthcheck"])
    async def test_badgekit_ping(self, client: Client, path: str) -> None:
        answer = await client.get(path, sign=False)
        assert answer.status == 200
        assert answer.body["app"] == "BadgeKit API"
        assert isinstance(answer.body["version"], str)

    async def test_healthz(self, client: Client) -> None:
        assert (await client.get("/healthz", sign=False)).body == {"status": "ok"}

    async def test_readyz(self, client: Client) -> None:
        answer = await client.get("/readyz", sign=False)
        assert answer.status == 200
        assert answer.body == {
            "status": "ready",
            "broker": "ok",
            "services": {"badges": "ok", "issuer": "ok", "webhooks": "ok"},
            "replicas": {"badges": 1, "issuer": 1, "webhooks": 1},
        }

    async def test_metrics_use_route_templates(self, client: Client) -> None:
        slug = new_slug()
        await client.post("/systems", json=system_body(slug))
        await client.get(f"/systems/{slug}")
        text = (await client.get("/metrics", sign=False)).body
        assert 'route="/systems/{system}"' in text
        assert slug not in text

    async def test_openapi_document_and_page(self, client: Client) -> None:
        spec = await client.get("/openapi.json", sign=False)
        assert spec.status == 200
        assert spec.body["openapi"] == "3.1.0"
        assert "/systems/{system}/badges" in spec.body["paths"]
        async with client.session.get(client.base_url + "/docs") as page:
            assert page.status == 200
            assert page.content_type == "text/html"
            assert "/systems/{system}/issuers/{issuer}/badges" in await page.text()

    async def test_unknown_route_is_not_found_before_auth(self, client: Client) -> None:
        answer = await client.get("/no/such/route", sign=False)
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": "/no/such/route does not exist",
        }

    async def test_wrong_method(self, client: Client) -> None:
        answer = await client.request("PATCH", "/systems")
        assert answer.status == 405
        assert answer.body["code"] == "MethodNotAllowed"


def same_but_the_body(head: Answer, get: Answer) -> None:
    assert head.status == get.status
    assert head.body is None
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.headers.get("Cache-Control") == get.headers.get("Cache-Control")


class TestHead:
    """HEAD answers every GET route as GET does, without the body (load balancers, link
    checkers); a signed HEAD is signed for `HEAD`."""

    @pytest.mark.parametrize(
        "path", ["/", "/healthcheck", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]
    )
    async def test_public_routes(self, client: Client, path: str) -> None:
        get = await client.get(path, sign=False)
        head = await client.request("HEAD", path, sign=False)
        same_but_the_body(head, get)

    async def test_a_stable_document_keeps_its_length(self, client: Client) -> None:
        system = await make_system(client)
        get = await client.get(f"/public{system}", sign=False)
        head = await client.request("HEAD", f"/public{system}", sign=False)
        same_but_the_body(head, get)
        assert head.headers["Content-Length"] == str(len(orjson.dumps(get.body)))

    async def test_signed_routes_take_a_token_signed_for_head(self, client: Client) -> None:
        system = await make_system(client)
        get = await client.get(system)
        head = await client.request("HEAD", system)
        same_but_the_body(head, get)
        assert head.headers["Content-Length"] == get.headers["Content-Length"]
        missing = await client.request("HEAD", f"/systems/{new_slug()}")
        assert (missing.status, missing.body) == (404, None)

    async def test_a_token_signed_for_get_is_refused(self, client: Client) -> None:
        system = await make_system(client)
        token = mint(client.secret, method="GET", path=system)
        answer = await client.request(
            "HEAD", system, headers={"Authorization": authorization(token)}
        )
        assert answer.status == 403
        assert (await client.request("HEAD", system, sign=False)).status == 403

    async def test_head_is_not_allowed_where_get_is_not(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.request("HEAD", f"{system}/milestones/1/add-badge")
        assert answer.status == 405


class TestRefusedByTheParser:
    """What aiohttp's HTTP parser refuses, before any middleware, gets a JSON error too."""

    async def test_an_over_long_token_gets_a_json_431(self, client: Client) -> None:
        token = "e" * (MAX_HEADER_FIELD_SIZE + 1)
        answer = await client.get("/systems", headers={"Authorization": f'JWT token="{token}"'})
        assert answer.status == 431
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.body["code"] == "RequestHeaderFieldsTooLarge"
        assert "longer than" in answer.body["message"]

    async def test_an_over_long_idempotency_key_gets_json(self, client: Client) -> None:
        body = system_body(new_slug())
        for size in (10_000, MAX_HEADER_FIELD_SIZE + 1):
            answer = await client.post(
                "/systems", json=body, headers={"Idempotency-Key": "k" * size}
            )
            assert answer.headers["Content-Type"] == "application/json"
            assert answer.status in (400, 431)
            assert {"code", "message"} <= set(answer.body)

    async def test_a_long_signed_url_fits_its_token(self, client: Client) -> None:
        # The token carries the path: a URL near the request line's limit needs a longer header.
        system = await make_system(client)
        path = f"{system}?note={'n' * 7000}"
        answer = await client.get(path)
        assert answer.status == 200, answer.body
        assert len(mint(client.secret, method="GET", path=path)) > 8190


class TestAuthOverHttp:
    async def test_missing_header(self, client: Client) -> None:
        answer = await client.get("/systems", sign=False)
        assert answer.status == 403
        assert answer.body["code"] == "NotAuthorized"
        assert answer.body["message"].startswith("Missing valid Authorization header")

    async def test_alg_none_is_refused(self, client: Client) -> None:
        token = jwt.encode(
            {"key": "master", "method": "GET", "path": "/systems", "exp": 4_000_000_000},
            None,
            algorithm="none",
        )
        answer = await client.get("/systems", headers={"Authorization": f'JWT token="{token}"'})
        assert answer.status == 403
        assert answer.body["message"] == "Unsupported JWT algorithm: only HS256 is accepted"

    async def test_body_hash_is_checked_on_the_raw_body(self, client: Client, stack: Stack) -> None:
        body = b'{"slug": "x", "name": "y", "url": "https://x.example.org"}'
        claims = {
            "key": "master",
            "method": "POST",
            "path": "/systems",
            "exp": 4_000_000_000 // 1000 * 1000,
            "body": {"alg": "sha256", "hash": hashlib.sha256(body + b" ").hexdigest()},
        }
        token = jwt.encode(claims, stack.settings.master_secret_value, algorithm="HS256")
        answer = await client.post(
            "/systems",
            raw=body,
            content_type="application/json",
            headers={"Authorization": f'JWT token="{token}"'},
        )
        assert answer.status == 403


class TestObservability:
    async def test_correlation_id_follows_the_request_through_every_service(
        self, client: Client, stack: Stack
    ) -> None:
        badge = await make_badge(client, credential={"kind": "OCA", "achievementType": "Badge"})
        request_id = f"trace-{new_slug()}"
        # An award reaches badges, then the issuer (its credential) and webhooks (its event).
        answer = await client.post(
            f"{badge}/instances",
            json={"email": "ada@example.org", "holderOcId": "ada.edu", "name": "Ada Reader"},
            headers={"X-Request-Id": request_id},
        )
        assert answer.status == 201
        assert answer.headers["X-Request-Id"] == request_id

        def seen_by(service: str) -> bool:
            return any(e.get("correlation_id") == request_id for e in stack.log_events(service))

        for service in ("gateway", "badges", "issuer", "webhooks"):
            wait_for(lambda s=service: seen_by(s), timeout_s=5, what=f"{service} to log the id")

    async def test_logs_hold_no_emails_secrets_or_raw_paths(
        self, client: Client, stack: Stack
    ) -> None:
        slug = new_slug()
        email = f"{slug}@private.example.org"
        await client.post("/systems", json=system_body(slug, email=email))
        consumer = (await client.post(f"/systems/{slug}/consumers", json={})).body["consumer"]
        await client.get(f"/systems/{slug}")
        marker = f"/systems/{slug}"
        wait_for(
            lambda: any(e.get("route") == "/systems/{system}" for e in stack.log_events("gateway")),
            timeout_s=5,
            what="the request log line",
        )
        for service in ("gateway", "badges", "issuer", "webhooks"):
            text = stack.log_text(service)
            assert email not in text
            assert consumer["apiSecret"] not in text
            assert stack.settings.master_secret_value not in text
            assert marker not in text
