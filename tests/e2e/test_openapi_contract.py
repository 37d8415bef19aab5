"""The OpenAPI document as a contract, checked by schemathesis against the running stack.

Every operation gets generated requests, valid and invalid, each signed as BadgeKit clients sign
(the JWT covers the method, the path with its query and the body's hash, so it is computed from
the request as it leaves, after serialisation). Path parameters name real resources of a world
made through the API first. Every reply must be no server error, have a documented status and
match its schema; a 2xx or 410 also its reply model, which refuses undeclared keys.
Deterministic: Hypothesis derandomized, no example database, a bounded number of examples.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator

import pydantic
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.config import VERSION
from services.gateway.route_table import all_routes, api_document
from services.gateway.routes import Route
from shared.tokens import authorization, mint
from tests.support import world
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# Examples per operation and generation mode: about two minutes for the ~140 operations on the
# two-core CI machine (its budget for this test is three).
EXAMPLES = 10

SCHEMA = schemathesis.openapi.from_dict(api_document(VERSION))
SCHEMA.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    deterministic=True,
)
# Below the gateway's rate limit (RATE_LIMIT_PER_S 200, burst 400), so that no generated request
# is answered 429 instead of being tried (which requests are would vary from run to run).
SCHEMA.config.update(rate_limit="150/s")


def _replies(routes: list[Route]) -> dict[tuple[str, str, int], type[pydantic.BaseModel]]:
    """Each route's reply models by method, path template and status."""
    found: dict[tuple[str, str, int], type[pydantic.BaseModel]] = {}
    for route in routes:
        answers = [(route.status, route.reply), *((a.status, a.reply) for a in route.also)]
        for status, reply in answers:
            if isinstance(reply, type):
                found[(route.method, route.path, status)] = reply
    return found


_REPLIES = _replies(all_routes())
IDEMPOTENCY_KEY = "Idempotency-Key"
VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_HTTP = re.compile(r"^\s*https?:", re.IGNORECASE)


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


@pytest.fixture(scope="module")
def worlds(stack: Stack, session: requests.Session) -> Callable[[Case], world.World]:
    """The world whose resources fill a case's path parameters. GET and POST operations share
    one; each PUT and DELETE operation gets its own, since it changes what others read (an
    archived badge, a deleted system), and the outcome must not hang on the order of tests."""
    api = world.Api(session, stack.base_url, stack.settings.master_secret_value)
    names = (f"contract{n}" for n in itertools.count())
    made: dict[str, world.World] = {}

    def world_for(case: Case) -> world.World:
        own = case.operation.method.upper() in ("PUT", "DELETE")
        key = case.operation.label if own else "shared"
        if key not in made:
            made[key] = world.build(api, next(names))
        return made[key]

    return world_for


def _fill(case: Case, found: world.World) -> None:
    """Real values for the case's path parameters, except in one example of four, which keeps
    the generated ones (for the answers to names that do not exist)."""
    generated = case.path_parameters or {}
    if not generated:
        return
    pick = sum(map(ord, repr(sorted(generated.items()))))
    if pick % 4 == 3:
        return
    case.path_parameters = {
        **generated,
        **found.parameters(case.operation.path, list(generated), pick // 4),
    }


def _keep_webhooks_local(case: Case) -> None:
    """A webhook endpoint's generated URL that the gateway would take (http or https) becomes
    one on this machine: the webhooks service sends every event of the system to it, and tests
    send traffic to this machine only."""
    if not case.operation.path.startswith("/systems/{system}/webhooks"):
        return
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("url"), str) and _HTTP.match(body["url"]):
        case.body = {**body, "url": world.HOOK_URL}


def _coverage_of_another_media_type(case: Case) -> bool:
    """The coverage phase enumerates its cases for each media type a body may have; JSON's
    are kept, the same for a form or multipart body are left out (the same model validates
    all three), which halves the test's time. The fuzzing phase sends all three."""
    meta = case._meta
    return (
        meta is not None
        and meta.phase.name == TestPhase.COVERAGE
        and case.media_type not in (None, "application/json")
    )


@SCHEMA.parametrize()
@settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_to_the_document(
    case: Case,
    stack: Stack,
    session: requests.Session,
    worlds: Callable[[Case], world.World],
) -> None:
    if _coverage_of_another_media_type(case):
        return
    _fill(case, worlds(case))
    _keep_webhooks_local(case)
    secret = stack.settings.master_secret_value
    response = case.call(base_url=stack.base_url, session=session, auth=SignedRequest(secret))
    case.validate_response(response, checks=CHECKS)


class SignedRequest(requests.auth.AuthBase):
    """Signs the prepared request (its final method, path with query string and body) as
    BadgeKit clients do. A valid Idempotency-Key gets the request's hash appended, so that a
    key generated again for another body is another key: the same key with another body is a
    422, which would otherwise answer most generated POSTs before their body is read."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        path = request.path_url
        key = request.headers.get(IDEMPOTENCY_KEY)
        if key is not None and VALID_KEY.match(key):
            digest = hashlib.sha256(f"{request.method} {path}".encode() + (body or b""))
            request.headers[IDEMPOTENCY_KEY] = f"{key[:200]}-{digest.hexdigest()[:16]}"
        token = mint(self.secret, method=request.method or "GET", path=path, body=body or None)
        request.headers["Authorization"] = authorization(token)
        return request


def matches_reply_model(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A success (or a 410 assertion) validates against the route's reply model: a key the
    model does not declare fails here, although the published schema leaves objects open."""
    key = (case.operation.method.upper(), case.operation.path, response.status_code)
    model = _REPLIES.get(key)
    if model is None or response.headers.get("content-type", [""])[0].startswith("text/html"):
        return None  # no model, or the page a route also answers (`?format=html`)
    try:
        model.model_validate_json(response.content)
    except pydantic.ValidationError as error:
        raise AssertionError(f"The reply does not match {model.__name__}: {error}") from None
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    matches_reply_model,
]


def test_the_served_document_is_the_one_under_test(stack: Stack, session: requests.Session) -> None:
    served = session.get(f"{stack.base_url}/openapi.json", timeout=10).json()
    assert served == api_document(VERSION)
