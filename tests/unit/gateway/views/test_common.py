"""What every view shares: the path's system from the cache, and requests that name it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.keys import correlation_key, rpc_key, systems_key
from services.gateway.systems import System, SystemCache
from services.gateway.views.common import ask, path_system
from shared.errors import NotFound
from shared.messages.base import Message
from shared.messages.systems import GetSystem
from shared.messages.webhooks import ListEndpoints
from shared.rpc import Answer
from shared.rpc_client import RpcClient

DEMO = System(id=7, slug="demo")


class RecordingRpc(RpcClient):
    """The RPC client without a broker: records each request's envelope fields, answers ok."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Message, int | None]] = []

    async def request(
        self,
        service: str,
        message: Message,
        *,
        correlation_id: str,
        timeout_s: float,
        system_id: int | None = None,
        message_id: uuid.UUID | None = None,
        request_hash: str | None = None,
    ) -> Answer:
        self.sent.append((service, message, system_id))
        return Answer({"ok": True, "data": {"items": [], "total": 0}})


async def resolve(slug: str) -> System | None:
    return DEMO if slug == "demo" else None


def request_for(slug: str, rpc: RpcClient | None = None) -> web.Request:
    app = web.Application()
    app[systems_key] = SystemCache(resolve, ttl_s=60, unknown_ttl_s=1, max_size=10)
    app[rpc_key] = rpc or RecordingRpc()
    request = make_mocked_request(
        "GET", f"/systems/{slug}/webhooks", match_info={"system": slug}, app=app
    )
    request[correlation_key] = "c-1"
    return request


class TestPathSystem:
    async def test_the_path_names_a_known_system(self) -> None:
        assert await path_system(request_for("demo")) == DEMO

    async def test_an_unknown_slug_is_the_badges_service_404(self) -> None:
        with pytest.raises(NotFound) as caught:
            await path_system(request_for("nobody"))
        assert caught.value.status == 404
        assert caught.value.to_body() == {
            "code": "ResourceNotFound",
            "message": "Could not find system field: `slug`, value: `nobody`",
        }


class TestAsk:
    async def test_a_message_about_a_system_names_it_in_its_envelope(self) -> None:
        rpc = RecordingRpc()
        request = request_for("demo", rpc)
        system = await path_system(request)
        await ask(request, "webhooks", ListEndpoints(system_id=system.id))
        assert [(service, system_id) for service, _, system_id in rpc.sent] == [("webhooks", 7)]

    async def test_a_message_about_no_system_names_none(self) -> None:
        rpc = RecordingRpc()
        found: Any = await ask(request_for("demo", rpc), "badges", GetSystem(slug="demo"))
        assert found == {"items": [], "total": 0}
        assert rpc.sent[0][2] is None
