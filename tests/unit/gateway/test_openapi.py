"""The OpenAPI document: valid 3.1, every route the gateway serves, what each takes and every
reply and error it answers."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from services.gateway.openapi import UNDOCUMENTED
from services.gateway.route_table import api_document, setup_routes
from shared.errors import (
    AppError,
    Conflict,
    InvalidParameter,
    KeyMismatch,
    NotFound,
    ValidationFailed,
)


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = api_document("1.2.3")
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["version"] == "1.2.3"
    validate(spec)


def test_every_served_route_is_documented() -> None:
    app = web.Application()
    setup_routes(app)
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    spec = api_document("1.2.3")
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert served - {("GET", path) for path in UNDOCUMENTED} == documented


def test_request_bodies_come_from_the_validating_models() -> None:
    spec = api_document("1.2.3")
    create = spec["paths"]["/systems/{system}/badges"]["post"]
    reference = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert {"name", "earnerDescription", "consumerDescription", "criteriaUrl", "unique"} <= set(
        schema["required"]
    )
    assert "criteria" in schema["properties"]


def test_public_routes_need_no_token() -> None:
    spec = api_document("1.2.3")
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    assert spec["paths"]["/systems"]["get"]["security"] == [{"BadgeKitJWT": []}]


def test_operation_ids_are_unique() -> None:
    spec = api_document("1.2.3")
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def _validator(schema: dict[str, Any], spec: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema` whose references resolve in the document's components."""
    return Draft202012Validator(
        {**schema, "components": spec["components"]}, format_checker=FormatChecker()
    )


class TestReplies:
    def test_every_operation_declares_its_success_with_a_schema(self) -> None:
        spec = api_document("1.2.3")
        for method, path, operation in _operations(spec):
            successes = [s for s in operation["responses"] if s.startswith("2")]
            assert len(successes) >= 1, (method, path)
            content = operation["responses"][successes[0]]["content"]
            assert all("schema" in media for media in content.values()), (method, path)

    def test_json_replies_are_components_with_an_example(self) -> None:
        spec = api_document("1.2.3")
        for method, path, operation in _operations(spec):
            for response in operation["responses"].values():
                media = response.get("content", {}).get("application/json")
                if media is None or "Error" in media["schema"].get("$ref", ""):
                    continue
                assert "example" in media, (method, path)

    def test_every_example_matches_its_schema(self) -> None:
        spec = api_document("1.2.3")
        for method, path, operation in _operations(spec):
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json", {})
                if "example" in media:
                    problems = list(_validator(media["schema"], spec).iter_errors(media["example"]))
                    assert problems == [], (method, path, status, problems)

    def test_badgekit_envelopes(self) -> None:
        schemas = api_document("1.2.3")["components"]["schemas"]
        created = schemas["BadgeCreated"]
        assert created["properties"]["status"]["const"] == "created"
        assert set(created["required"]) == {"status", "badge"}
        listing = schemas["BadgeList"]
        assert listing["required"] == ["badges"]
        assert listing["properties"]["pageData"] == {
            "$ref": "#/components/schemas/PageData",
            "description": "Only with ?page=&count=",
        }
        assert set(schemas["ClaimCodeCreated"]["required"]) == {"status", "claimCode", "badge"}

    def test_reply_objects_stay_open_to_new_keys(self) -> None:
        schemas = api_document("1.2.3")["components"]["schemas"]
        assert "additionalProperties" not in schemas["Badge"]
        # A request model that refuses unknown fields still says so.
        assert schemas["IssueRequest"]["additionalProperties"] is False

    def test_nullable_and_omitted_keys(self) -> None:
        badge = api_document("1.2.3")["components"]["schemas"]["Badge"]
        assert "strapline" in badge["required"]
        assert {"type": "null"} in badge["properties"]["strapline"]["anyOf"]
        assert "issuer" not in badge["required"]
        assert badge["properties"]["issuer"]["$ref"] == "#/components/schemas/Organization"

    def test_a_revoked_assertion_is_410_with_revoked_true(self) -> None:
        spec = api_document("1.2.3")
        responses = spec["paths"]["/public/assertions/{slug}"]["get"]["responses"]
        gone = responses["410"]["content"]["application/json"]
        assert gone["schema"] == {"$ref": "#/components/schemas/RevokedAssertion"}
        assert gone["example"]["revoked"] is True

    def test_readiness_answers_503_with_its_own_body(self) -> None:
        responses = api_document("1.2.3")["paths"]["/readyz"]["get"]["responses"]
        assert responses["503"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Readiness"
        }


class TestErrors:
    def test_signed_posts_declare_idempotency_answers(self) -> None:
        spec = api_document("1.2.3")
        for method, path, operation in _operations(spec):
            signed_post = method == "POST" and operation["security"]
            assert ("409" in operation["responses"]) == bool(signed_post), path
            # A baked badge's image may be unusable (422 `UnusableImage`), a public GET's own.
            baked = path.endswith(("/badge.png", "/badge.svg"))
            assert ("422" in operation["responses"]) == bool(signed_post or baked), path

    def test_signed_routes_declare_403_413_and_429(self) -> None:
        spec = api_document("1.2.3")
        for method, path, operation in _operations(spec):
            signed = bool(operation["security"])
            assert ("403" in operation["responses"]) == signed, path
            for status in ("413", "429"):
                # The public verifier has limits of its own: a body size, a rate per address
                # (its page, `GET`, has neither).
                expected = signed or (path, method) == ("/public/verify", "POST")
                assert (status in operation["responses"]) == expected, path

    def test_429_and_503_say_when_to_retry(self) -> None:
        spec = api_document("1.2.3")
        responses = spec["paths"]["/systems"]["post"]["responses"]
        for status in ("429", "503"):
            assert responses[status]["headers"]["Retry-After"]["required"] is True
        # Answered by the gateway alone: no service to be unavailable.
        assert "503" not in spec["paths"]["/healthz"]["get"]["responses"]

    def test_unsupported_media_types_only_where_a_body_is_read(self) -> None:
        spec = api_document("1.2.3")
        for _, path, operation in _operations(spec):
            # A body validated by a model (JSON, form, multipart); the verifier takes any body.
            modelled = "requestBody" in operation and path != "/public/verify"
            assert ("415" in operation["responses"]) == modelled, path

    @pytest.mark.parametrize(
        "error",
        [
            ValidationFailed([{"field": "url", "value": "x", "message": "Invalid URL"}]),
            Conflict("badge with that `slug` already exists", details={"slug": "b", "x": None}),
            InvalidParameter("archived", "`archived` must be one of 'true'"),
            KeyMismatch("This Idempotency-Key was used with another request body"),
            NotFound("Could not find badge field: `slug`, value: `b`"),
        ],
    )
    def test_the_error_schema_takes_every_error_body(self, error: AppError) -> None:
        spec = api_document("1.2.3")
        validator = _validator({"$ref": "#/components/schemas/Error"}, spec)
        assert list(validator.iter_errors(error.to_body())) == []


class TestRequestFields:
    def test_formats_and_patterns(self) -> None:
        schemas = api_document("1.2.3")["components"]["schemas"]
        organization = schemas["OrganizationFields"]["properties"]
        assert organization["url"]["format"] == "uri"
        assert organization["slug"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9._~-]*$"
        assert organization["email"]["anyOf"][0]["format"] == "email"
        assert organization["image"]["format"] == "uri"
        award = schemas["AwardFields"]["properties"]
        assert {"type": "string", "format": "date-time"} in award["issuedOn"]["anyOf"]
        assert schemas["Recovery"]["properties"]["since"]["format"] == "date-time"

    def test_a_new_badge_needs_an_image(self) -> None:
        badge = api_document("1.2.3")["components"]["schemas"]["BadgeFields"]
        assert badge["anyOf"] == [{"required": ["imageUrl"]}, {"required": ["image"]}]

    def test_the_idempotency_key_is_visible_ascii(self) -> None:
        spec = api_document("1.2.3")
        parameters = spec["paths"]["/systems"]["post"]["parameters"]
        (key,) = [p for p in parameters if p["name"] == "Idempotency-Key"]
        assert key["schema"]["pattern"] == "^[\\x21-\\x7e]{1,255}$"
