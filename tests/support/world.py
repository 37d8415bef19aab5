"""One of every kind of resource, made through the API, for tests that need real values for
path parameters (the OpenAPI contract test): a system with an issuer and a program, a badge at
each level, a claim code, an award and a revoked one, an application with a review, a
milestone, an API key, a webhook endpoint with a delivery, an Open Campus credential and an
uploaded image. Synchronous (requests): schemathesis drives requests too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
import requests

from shared.tokens import signed_headers
from tests.support.factories import oc_body

# A 1x1 PNG: the gateway keeps it as an uploaded image, with its own public URL.
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg"
    "YGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)
LEARNER = "learner@example.org"
REVOKED = "revoked@example.org"
# Nothing listens there: deliveries fail and wait for their next attempt.
HOOK_URL = "http://127.0.0.1:9/hook"


class Api:
    """Signed calls with the master key; any answer but a success fails the test at once."""

    def __init__(self, session: requests.Session, base_url: str, secret: str) -> None:
        self.session = session
        self.base_url = base_url
        self.secret = secret

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = orjson.dumps(body) if body is not None else None
        headers = signed_headers(self.secret, method=method, path=path, body=data)
        answer = self.session.request(method, self.base_url + path, data=data, headers=headers)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()


def _organization(slug: str) -> dict[str, Any]:
    return {"slug": slug, "name": slug.title(), "url": f"https://{slug}.example.org"}


def _badge(slug: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": slug.title(),
        "earnerDescription": "You did it",
        "consumerDescription": "They did it",
        "criteriaUrl": "https://criteria.example.org",
        "unique": False,
        "imageUrl": "https://images.example.org/badge.png",
        "criteria": [{"description": "Do it", "required": True}],
    }


@dataclass(frozen=True)
class World:
    """The path parameters that name the world's resources."""

    values: dict[str, str]
    # A badge at the system's and at the issuer's own level (public BadgeClass URLs live at
    # the badge's level only); `badge` is the program's, reachable at every level.
    system_badge: str
    issuer_badge: str
    revoked_assertion: str

    def parameters(self, path: str, names: list[str], pick: int = 0) -> dict[str, str]:
        """Values for the parameters `names` of the route `path`; `pick` chooses between
        alternatives (an active or a revoked award's assertion)."""
        chosen = {name: self.values[name] for name in names if name in self.values}
        if "badge" in chosen and path.startswith("/public/systems/"):
            if re.match(r"^/public/systems/\{system\}/badges/", path):
                chosen["badge"] = self.system_badge
            elif re.match(r"^/public/systems/\{system\}/issuers/\{issuer\}/badges/", path):
                chosen["badge"] = self.issuer_badge
        if "slug" in chosen and pick % 2:
            chosen["slug"] = self.revoked_assertion
        return chosen


def build(api: Api, name: str) -> World:
    """Make a world whose slugs start with `name` (unique within the stack)."""
    s, i, p = f"/systems/{name}", f"/systems/{name}/issuers/{name}-i", ""
    p = f"{i}/programs/{name}-p"
    system = api.call("POST", "/systems", {**_organization(name), "image": PNG})["system"]
    api.call("POST", f"{s}/issuers", _organization(f"{name}-i"))
    api.call("POST", f"{i}/programs", _organization(f"{name}-p"))
    badge = api.call("POST", f"{p}/badges", _badge(f"{name}-b"))["badge"]
    system_badge = api.call("POST", f"{s}/badges", _badge(f"{name}-sb"))["badge"]
    issuer_badge = api.call("POST", f"{i}/badges", _badge(f"{name}-ib"))["badge"]
    b = f"{p}/badges/{badge['slug']}"
    code = api.call("POST", f"{b}/codes", {"code": f"{name}-code", "multiuse": True})
    award = api.call("POST", f"{b}/instances", {"email": LEARNER})["instance"]
    revoked = api.call("POST", f"{b}/instances", {"email": REVOKED})["instance"]
    api.call("DELETE", f"{b}/instances/{REVOKED}")
    application = api.call("POST", f"{b}/applications", {"learner": LEARNER})["application"]
    item = {"criterionId": badge["criteria"][0]["id"], "satisfied": True}
    review = api.call(
        "POST",
        f"{b}/applications/{application['slug']}/reviews",
        {"author": "reviewer@example.org", "reviewItems": [item]},
    )["review"]
    milestone = api.call(
        "POST",
        f"{s}/milestones",
        {
            "primaryBadgeId": system_badge["id"],
            "numberRequired": 1,
            "supportBadges": [issuer_badge["id"]],
        },
    )["milestone"]
    consumer = api.call("POST", f"{s}/consumers", {"description": "contract"})["consumer"]
    webhook = api.call("POST", f"{s}/webhooks", {"url": HOOK_URL})["webhook"]
    delivery = api.call("POST", f"{s}/webhooks/{webhook['id']}/test")["deliveries"][0]
    credential = api.call("POST", f"{s}/credentials", oc_body(f"{name}-credential"))
    signing_key = api.call("GET", f"{s}/signing-keys")["keys"][0]["id"]
    status_list = api.call("GET", f"/public/credentials/{award['slug']}")["credentialStatus"]
    return World(
        values={
            "system": name,
            "issuer": f"{name}-i",
            "program": f"{name}-p",
            "badge": badge["slug"],
            "code": code["claimCode"]["code"],
            "email": LEARNER,
            "application": application["slug"],
            "review": review["slug"],
            "milestone": str(milestone["id"]),
            "key": consumer["apiKey"],
            "credential": credential["credential"]["id"],
            "webhook": webhook["id"],
            "delivery": delivery,
            "image": system["imageUrl"].rsplit("/", 1)[1],
            "slug": award["slug"],
            "signingKey": signing_key,
            "list": status_list["statusListCredential"].rsplit("/", 1)[1],
        },
        system_badge=system_badge["slug"],
        issuer_badge=issuer_badge["slug"],
        revoked_assertion=revoked["slug"],
    )
