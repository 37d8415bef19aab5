"""`POST /public/verify` against the running stack: JSON-LD, a VC-JWT, a baked PNG and a URL of
credentials whose issuer is a did:web host started here (an aiohttp server on 127.0.0.1 serving
its DID document, its signed status list and a credential), what is no credential (400), and
the rate limit per client address (429), behind a trusted proxy too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from yarl import URL

from services.issuer.ob3 import baking, data_integrity, did, keys, status_list, vc_jwt
from tests.support.local_http import serving
from tests.support.stack import Stack
from tests.unit.issuer.ob3 import samples
from tests.unit.issuer.ob3.test_baking import make_png

pytestmark = pytest.mark.e2e

CREATED = datetime(2025, 3, 1, 12, tzinfo=UTC)
INDEX = 77


@dataclass
class Host:
    """A did:web issuer of its own: keys, and the documents its server answers."""

    did: str
    base: str
    ed25519: keys.SigningKey
    rsa: keys.SigningKey
    documents: dict[str, tuple[str, bytes]]

    def method(self, key: keys.SigningKey) -> str:
        return did.verification_method_id(self.did, key.id)

    def credential(self) -> dict[str, Any]:
        document = samples.credential(self.did)
        document["credentialStatus"] = status_list.status_entry(f"{self.base}/status/1", INDEX)
        return document

    def ldp(self) -> dict[str, Any]:
        assert isinstance(self.ed25519.private, Ed25519PrivateKey)
        return data_integrity.add_proof(
            self.credential(), self.ed25519.private, self.method(self.ed25519), CREATED
        )

    def jwt(self) -> str:
        assert isinstance(self.rsa.private, RSAPrivateKey)
        return vc_jwt.encode(self.credential(), self.rsa.private, self.method(self.rsa))

    def publish_list(self, revoked: bool = False) -> None:
        bits = status_list.StatusList()
        if revoked:
            bits.set(INDEX)
        url = f"{self.base}/status/1"
        document = status_list.status_list_credential(
            list_url=url, issuer=self.did, valid_from=CREATED, encoded_list=bits.encode()
        )
        assert isinstance(self.ed25519.private, Ed25519PrivateKey)
        signed = data_integrity.add_proof(
            document, self.ed25519.private, self.method(self.ed25519), CREATED
        )
        self.documents["/status/1"] = ("application/json", json.dumps(signed).encode())


@pytest.fixture
async def host() -> AsyncIterator[Host]:
    documents: dict[str, tuple[str, bytes]] = {}

    async def serve(request: web.Request) -> web.Response:
        found = documents.get(request.path)
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[1], content_type=found[0])

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    async with serving(app) as base:
        port = URL(base).port
        made = Host(
            f"did:web:127.0.0.1%3A{port}:issuers:acme",
            base,
            keys.generate(keys.KeyType.ED25519),
            keys.generate(keys.KeyType.RSA),
            documents,
        )
        document = did.did_document(
            made.did, [made.ed25519.verification_key(), made.rsa.verification_key()]
        )
        documents["/issuers/acme/did.json"] = ("application/json", json.dumps(document).encode())
        made.publish_list()
        yield made


async def verify(
    http: aiohttp.ClientSession, stack: Stack, body: bytes, content_type: str
) -> tuple[int, Any]:
    async with http.post(
        f"{stack.base_url}/public/verify", data=body, headers={"Content-Type": content_type}
    ) as response:
        return response.status, await response.json()


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {check["check"]: check["outcome"] for check in report["checks"]}


async def test_json_ld(stack: Stack, http: aiohttp.ClientSession, host: Host) -> None:
    status, report = await verify(http, stack, json.dumps(host.ldp()).encode(), "application/json")
    assert status == 200, report
    assert report["verified"] is True, report
    assert report["kind"] == "ob3-ldp"
    assert [check["check"] for check in report["checks"]] == [
        "structure",
        "schema",
        "proof",
        "issuer",
        "status",
        "validity",
    ]
    assert report["credential"]["issuer"] == {"id": host.did, "name": "Demo"}


async def test_a_tampered_credential(stack: Stack, http: aiohttp.ClientSession, host: Host) -> None:
    signed = host.ldp()
    signed["name"] = "Writer"
    status, report = await verify(http, stack, json.dumps(signed).encode(), "application/ld+json")
    assert status == 200
    assert report["verified"] is False
    assert outcomes(report)["proof"] == "failed"


async def test_a_jwt_revoked(stack: Stack, http: aiohttp.ClientSession, host: Host) -> None:
    status, report = await verify(http, stack, host.jwt().encode(), "application/vc+jwt")
    assert status == 200
    assert report["kind"] == "ob3-jwt"
    assert report["verified"] is True, report
    host.publish_list(revoked=True)
    # The issuer keeps a fetched status list for a minute: a new list URL is not cached.
    host.documents["/status/2"] = host.documents["/status/1"]
    credential = host.credential()
    credential["credentialStatus"] = status_list.status_entry(f"{host.base}/status/2", INDEX)
    assert isinstance(host.rsa.private, RSAPrivateKey)
    token = vc_jwt.encode(credential, host.rsa.private, host.method(host.rsa))
    status, report = await verify(http, stack, token.encode(), "text/plain")
    assert outcomes(report)["status"] == "failed", report
    assert report["verified"] is False


async def test_a_baked_png(stack: Stack, http: aiohttp.ClientSession, host: Host) -> None:
    image = baking.bake_png(make_png(), json.dumps(host.ldp()))
    status, report = await verify(http, stack, image, "image/png")
    assert status == 200
    assert report["verified"] is True, report


async def test_a_url(stack: Stack, http: aiohttp.ClientSession, host: Host) -> None:
    host.documents["/credentials/1"] = ("application/ld+json", json.dumps(host.ldp()).encode())
    body = json.dumps({"url": f"{host.base}/credentials/1"}).encode()
    status, report = await verify(http, stack, body, "application/json")
    assert status == 200
    assert report["kind"] == "ob3-ldp"
    assert report["verified"] is True, report


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b'{"hello": "world"}', "application/json"),
        (b"not a token", "text/plain"),
        (make_png(), "image/png"),
    ],
)
async def test_what_is_no_credential(
    stack: Stack, http: aiohttp.ClientSession, body: bytes, content_type: str
) -> None:
    status, error = await verify(http, stack, body, content_type)
    assert status == 400
    assert error["code"] == "InvalidContent"
    assert error["message"].startswith("Nothing to verify")


async def test_the_rate_limit_per_address(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    # A stack of its own: spending this address's whole burst on the shared gateway would
    # leave every later verification in the session a 429.
    stack = own_stack()
    stack.start()
    for attempt in range(60):
        # No proxy is trusted (the default): an address the client writes itself changes nothing.
        forged = {"X-Forwarded-For": f"198.51.100.{attempt}"}
        async with http.post(
            f"{stack.base_url}/public/verify", data=b"x", headers=forged
        ) as response:
            if response.status == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert (await response.json())["code"] == "TooManyRequests"
                return
    pytest.fail("no 429 after 60 verifications from one address")


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack(TRUSTED_PROXIES="127.0.0.1", VERIFY_RATE_BURST="3", VERIFY_RATE_PER_S="0.01")
    stack.start()

    async def status(forwarded_for: str) -> int:
        # An empty body: refused (400) once the limit let it through, without the issuer.
        headers = {"X-Forwarded-For": forwarded_for}
        async with http.post(
            f"{stack.base_url}/public/verify", data=b"", headers=headers
        ) as response:
            return response.status

    assert [await status("203.0.113.5") for _ in range(4)] == [400, 400, 400, 429]
    # Another client behind the same proxy, even one claiming the first's address on the left.
    assert await status("203.0.113.5, 203.0.113.6") == 400
