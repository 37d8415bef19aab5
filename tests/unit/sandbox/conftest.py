"""The sandbox application on a real local port, called over HTTP with aiohttp's client."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from multidict import CIMultiDictProxy

from services.sandbox.app import create_app
from shared.opencampus import API_KEY_HEADER, ISSUE_PATH

SUBJECT_PATH = "credentialPayload.credentialSubject"
ACHIEVEMENT_PATH = f"{SUBJECT_PATH}.achievement"
KEY = "sandbox-test-key-0001"
OTHER_KEY = "sandbox-test-key-0002"
_DEFAULT = object()


def oca(**top: Any) -> dict[str, Any]:
    """A valid OCA body, as the seed document shows it."""
    body: dict[str, Any] = {
        "credentialPayload": {
            "validFrom": "2023-12-10T16:00:00.000Z",
            "awardedDate": "2023-12-10T16:00:00.000Z",
            "description": "An achievement for outstanding results in mathematics",
            "credentialSubject": {
                "name": "John Doe",
                "type": "Person",
                "email": "johndoe@something.edu",
                "image": "https://img.example.org/medal.jpg",
                "profileUrl": "https://mycourse.example.org/profile/johndoe",
                "achievement": {
                    "name": "Gold Medal",
                    "identifier": "tt:1111222333",
                    "description": "Reached 200 points in intermediate mathematics",
                    "achievementType": "Achievement",
                },
            },
        },
        "holderOcId": "bob.edu",
        "issuerReferenceId": "tt:1111222333",
    }
    body.update(top)
    return body


def ocb(**top: Any) -> dict[str, Any]:
    """A valid OCB body to a wallet address, without the recipient's name and email."""
    body = oca(
        collectionSymbol="ocbadge", holderAddress="0xabcD1234567890abcdef1234567890ABCDEF1234"
    )
    del body["holderOcId"]
    subject = body["credentialPayload"]["credentialSubject"]
    del subject["name"], subject["email"]
    subject["achievement"]["achievementType"] = "Badge"
    body.update(top)
    return body


def changed(body: dict[str, Any], path: str, value: Any = _DEFAULT) -> dict[str, Any]:
    """A copy of `body` with the dotted `path` set to `value`, or removed without one."""
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    if value is _DEFAULT:
        del node[last]
    else:
        node[last] = value
    return body


@dataclass
class Answer:
    status: int
    body: Any
    headers: CIMultiDictProxy[str]


@dataclass
class Sandbox:
    url: str
    http: aiohttp.ClientSession

    async def issue(
        self,
        body: Any,
        *,
        api_key: str | None = KEY,
        raw: bytes | None = None,
        timeout_s: float | None = None,
    ) -> Answer:
        headers = {} if api_key is None else {API_KEY_HEADER: api_key}
        async with self.http.post(
            f"{self.url}{ISSUE_PATH}",
            data=raw if raw is not None else orjson.dumps(body),
            headers={**headers, "Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            return Answer(response.status, await _json(response), response.headers)

    async def admin(self, method: str, path: str, body: Any = _DEFAULT) -> Answer:
        data = None if body is _DEFAULT else orjson.dumps(body)
        async with self.http.request(method, f"{self.url}/_sandbox/{path}", data=data) as response:
            return Answer(response.status, await _json(response), response.headers)

    async def set_faults(self, **faults: Any) -> dict[str, Any]:
        answer = await self.admin("PUT", "faults", faults)
        assert answer.status == 200, answer.body
        result: dict[str, Any] = answer.body
        return result

    async def credentials(self, reference: str | None = None) -> list[dict[str, Any]]:
        query = "" if reference is None else f"?issuerReferenceId={reference}"
        found: list[dict[str, Any]] = (await self.admin("GET", f"credentials{query}")).body[
            "credentials"
        ]
        return found

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = (await self.admin("GET", "stats")).body
        return result


async def _json(response: aiohttp.ClientResponse) -> Any:
    raw = await response.read()
    if response.content_type != "application/json":
        return raw.decode(errors="replace")
    return orjson.loads(raw)


async def running(app: web.Application) -> AsyncIterator[Sandbox]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as http:
            yield Sandbox(f"http://{host}:{port}", http)
    finally:
        await runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async for running_sandbox in running(create_app([KEY, OTHER_KEY])):
        yield running_sandbox
