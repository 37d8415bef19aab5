"""Scenarios: one small async function each, registered by name.

A scenario gets a `Setup` (a signed client for the data it needs, and the run's unique id) and
returns a `CallFactory`: request number `index` of the run, unsigned. Requests that create
something use the index in their slugs and emails, so every request of every run is new.

An awards scenario, for instance, creates its system, issuer, program and badge through
`setup.call` and returns `lambda index: Call.json("POST", f"{badge}/instances",
{"email": f"{setup.run_id}-{index}@example.org"})`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bench.deliveries import WebhookTargets
from bench.signing import Call, CallFactory


class Setup(Protocol):
    run_id: str  # unique per run: a prefix for slugs, so runs never collide
    webhooks: WebhookTargets | None  # the receivers the harness runs for the webhooks scenario

    async def call(self, call: Call) -> Any:
        """Send one signed request; its JSON answer, or `SetupFailed` unless it is a 2xx."""
        ...


class SetupFailed(Exception):
    pass


Prepare = Callable[[Setup], Awaitable[CallFactory]]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    prepare: Prepare


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, summary: str) -> Callable[[Prepare], Prepare]:
    def register(prepare: Prepare) -> Prepare:
        SCENARIOS[name] = Scenario(name, summary, prepare)
        return prepare

    return register


def system_fields(slug: str) -> dict[str, str]:
    return {"slug": slug, "name": f"Bench {slug}", "url": f"https://{slug}.example.org"}


@scenario("systems-create", "POST /systems: a new system, with a unique slug, per request")
async def systems_create(setup: Setup) -> CallFactory:
    def call(index: int) -> Call:
        return Call.json("POST", "/systems", system_fields(f"{setup.run_id}-{index}"))

    return call


@scenario("get-system", "GET /systems/<slug>: one system, created before the run, read back")
async def get_system(setup: Setup) -> CallFactory:
    slug = f"{setup.run_id}-read"
    await setup.call(Call.json("POST", "/systems", system_fields(slug)))
    read = Call("GET", f"/systems/{slug}")
    return lambda index: read


@scenario(
    "list-webhooks",
    "GET /systems/<slug>/webhooks: one system with one endpoint, created before the run, listed"
    " (answered by the webhooks service, which needs the system's id)",
)
async def list_webhooks(setup: Setup) -> CallFactory:
    slug = f"{setup.run_id}-hooks"
    await setup.call(Call.json("POST", "/systems", system_fields(slug)))
    hook = {"url": "https://example.org/bench-hook", "events": ["badge.awarded"]}
    await setup.call(Call.json("POST", f"/systems/{slug}/webhooks", hook))
    read = Call("GET", f"/systems/{slug}/webhooks")
    return lambda index: read


def badge_fields(slug: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": f"Bench badge {slug}",
        "earnerDescription": "Awarded by the benchmark",
        "consumerDescription": "Awarded by the benchmark",
        "criteriaUrl": "https://example.org/criteria",
        "unique": True,
        "imageUrl": "https://example.org/badge.png",
    }


# What a site's badge catalogue page might show: a system with a score of badges.
LISTED_BADGES = 20


@scenario(
    "badge-list",
    f"GET /systems/<slug>/badges: one system with {LISTED_BADGES} badges, created before the run,"
    " listed",
)
async def badge_list(setup: Setup) -> CallFactory:
    system = f"/systems/{setup.run_id}-catalogue"
    await setup.call(Call.json("POST", "/systems", system_fields(f"{setup.run_id}-catalogue")))
    for number in range(LISTED_BADGES):
        await setup.call(Call.json("POST", f"{system}/badges", badge_fields(f"badge-{number}")))
    read = Call("GET", f"{system}/badges")
    return lambda index: read


async def _award_path(setup: Setup) -> str:
    """A program-level unique badge, made for the run; the path its awards are posted to."""
    system = f"/systems/{setup.run_id}-awards"
    issuer = f"{system}/issuers/issuer"
    program = f"{issuer}/programs/program"
    await setup.call(Call.json("POST", "/systems", system_fields(f"{setup.run_id}-awards")))
    await setup.call(Call.json("POST", f"{system}/issuers", system_fields("issuer")))
    await setup.call(Call.json("POST", f"{issuer}/programs", system_fields("program")))
    await setup.call(Call.json("POST", f"{program}/badges", badge_fields("bench-badge")))
    return f"{program}/badges/bench-badge/instances"


@scenario(
    "award",
    "POST {B}/instances: a program-level unique badge awarded to a new email per request",
)
async def award(setup: Setup) -> CallFactory:
    path = await _award_path(setup)

    def call(index: int) -> Call:
        return Call.json("POST", path, {"email": f"{setup.run_id}-{index}@example.org"})

    return call


@scenario(
    "award-keyed",
    "POST {B}/instances as `award`, each with an Idempotency-Key of its own (as a client that"
    " retries sends it)",
)
async def award_keyed(setup: Setup) -> CallFactory:
    path = await _award_path(setup)

    def call(index: int) -> Call:
        key = (("Idempotency-Key", f"{setup.run_id}-{index}"),)
        return Call.json("POST", path, {"email": f"{setup.run_id}-{index}@example.org"}, key)

    return call


# Awards per request of the `webhooks` scenario: each one `badge.awarded`, one delivery per
# endpoint.
BULK_AWARDS = 100
WEBHOOKS = "webhooks"


@scenario(
    WEBHOOKS,
    f"POST {{B}}/instances/bulk, {BULK_AWARDS} new emails per request, to a system with two "
    "endpoints for badge.awarded: a receiver the harness runs, answering 200 at once, and one "
    "that never answers; reports deliveries/s to the healthy one (see bench/deliveries.py)",
)
async def webhooks(setup: Setup) -> CallFactory:
    targets = setup.webhooks
    if targets is None:
        raise SetupFailed("the webhooks scenario needs the harness's receivers")
    path = await _award_path(setup)
    hooks = f"/systems/{setup.run_id}-awards/webhooks"
    healthy = {"url": targets.healthy_url, "events": ["badge.awarded"], "description": "healthy"}
    created = await setup.call(Call.json("POST", hooks, healthy))
    targets.secret = created["webhook"]["secret"]
    hanging = {"url": targets.hanging_url, "events": ["badge.awarded"], "description": "hangs"}
    await setup.call(Call.json("POST", hooks, hanging))

    def call(index: int) -> Call:
        first = index * BULK_AWARDS
        emails = [f"{setup.run_id}-{first + n}@example.org" for n in range(BULK_AWARDS)]
        return Call.json("POST", f"{path}/bulk", {"emails": emails})

    return call


@scenario(
    "public-assertion",
    "GET /public/assertions/<slug>: the hosted Open Badges 2.0 assertion of one award, made"
    " before the run (a public route: the signature the harness adds is not read)",
)
async def public_assertion(setup: Setup) -> CallFactory:
    path = await _award_path(setup)
    award = await setup.call(Call.json("POST", path, {"email": f"{setup.run_id}@example.org"}))
    read = Call("GET", f"/public/assertions/{award['instance']['slug']}")
    return lambda index: read


# What a browser sends; the gateway answers it the page (DESIGN.md, Public pages).
BROWSER_ACCEPT = (("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),)


@scenario(
    "award-page",
    "GET /public/assertions/<slug> as a browser: the award page of one award made before the run"
    " (its badge, issuer, verification report, share links)",
)
async def award_page(setup: Setup) -> CallFactory:
    path = await _award_path(setup)
    award = await setup.call(Call.json("POST", path, {"email": f"{setup.run_id}@example.org"}))
    read = Call("GET", f"/public/assertions/{award['instance']['slug']}", headers=BROWSER_ACCEPT)
    return lambda index: read


@scenario(
    "badge-page",
    "GET /public/systems/.../badges/<slug> as a browser: the page of the badge `award` awards",
)
async def badge_page(setup: Setup) -> CallFactory:
    path = await _award_path(setup)
    read = Call("GET", "/public" + path.removesuffix("/instances"), headers=BROWSER_ACCEPT)
    return lambda index: read
