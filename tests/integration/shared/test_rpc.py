"""Request/reply over a real RabbitMQ: replies, deadlines, expired requests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from typing import Any

import aio_pika
import orjson
import pytest

from shared import topology
from shared.bus import Bus
from shared.envelope import Envelope
from shared.errors import KeyInUse, NotFound, ServiceUnavailable
from shared.messages.systems import GetSystem
from shared.rpc import BATCH_TYPE, DEADLINE_HEADER, Answer, error_reply, now_ms, ok_reply
from shared.rpc_client import RpcClient
from shared.rpc_server import RpcServer
from tests.support.infra import Isolation

pytestmark = pytest.mark.integration


async def test_call_and_reply(own_vhost: Isolation) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    seen: list[Envelope] = []

    async def handle(envelope: Envelope, message: aio_pika.abc.AbstractIncomingMessage) -> bytes:
        seen.append(envelope)
        slug = envelope.data["slug"]
        if slug == "missing":
            return error_reply(NotFound("Could not find system"))
        return ok_reply({"slug": slug})

    server = RpcServer(bus, "badges", handle, prefetch=8)
    client = RpcClient(bus, name="gateway")
    await server.start()
    await client.start()
    try:
        answer = await client.call("badges", GetSystem(slug="a"), correlation_id="c-9", timeout_s=5)
        assert answer == {"slug": "a"}
        assert seen[0].correlation_id == "c-9"
        with pytest.raises(NotFound, match="Could not find system"):
            await client.call("badges", GetSystem(slug="missing"), correlation_id="c", timeout_s=5)
        answers = await asyncio.gather(
            *(
                client.call("badges", GetSystem(slug=str(n)), correlation_id="c", timeout_s=5)
                for n in range(50)
            )
        )
        assert [a["slug"] for a in answers] == [str(n) for n in range(50)]
        assert await client.probe()
    finally:
        await client.stop()
        await server.stop()
        await bus.close()


async def test_no_answer_in_time_is_service_unavailable(own_vhost: Isolation) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    client = RpcClient(bus, name="gateway")
    await client.start()
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as caught:
            await client.call("issuer", GetSystem(slug="x"), correlation_id="c", timeout_s=0.3)
        assert time.monotonic() - started < 2
        assert caught.value.status == 503
        assert caught.value.headers == {"Retry-After": "1"}
    finally:
        await client.stop()
        await bus.close()


async def test_a_request_past_its_deadline_is_dropped_unexecuted(own_vhost: Isolation) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    handled: list[str] = []

    async def handle(envelope: Envelope, message: aio_pika.abc.AbstractIncomingMessage) -> bytes:
        handled.append(envelope.data["slug"])
        return ok_reply(None)

    late = Envelope.wrap(GetSystem(slug="late"), correlation_id="c")
    await bus.publish_direct(
        aio_pika.Message(late.to_bytes(), headers={DEADLINE_HEADER: now_ms() - 1}),
        topology.request_queue("webhooks"),
    )
    server = RpcServer(bus, "webhooks", handle, prefetch=8)
    client = RpcClient(bus, name="gateway")
    await server.start()
    await client.start()
    try:
        # A later request is answered, so the late one was taken before it and dropped.
        await client.call("webhooks", GetSystem(slug="on-time"), correlation_id="c", timeout_s=5)
        assert handled == ["on-time"]
    finally:
        await client.stop()
        await server.stop()
        await bus.close()


async def test_calls_made_together_share_messages_and_each_gets_its_reply(
    own_vhost: Isolation,
) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    deliveries: set[int] = set()

    async def handle(envelope: Envelope, message: aio_pika.abc.AbstractIncomingMessage) -> bytes:
        deliveries.add(message.delivery_tag or 0)
        await asyncio.sleep(0.01)
        slug = envelope.data["slug"]
        if slug == "missing":
            return error_reply(NotFound("Could not find system"))
        return ok_reply({"slug": slug})

    server = RpcServer(bus, "badges", handle, prefetch=8)
    client = RpcClient(bus, name="gateway")
    await server.start()
    await client.start()
    try:
        calls = [
            client.call("badges", GetSystem(slug=str(n)), correlation_id="c", timeout_s=5)
            for n in range(20)
        ]
        missing = client.call("badges", GetSystem(slug="missing"), correlation_id="c", timeout_s=5)
        *answers, failed = await asyncio.gather(*calls, missing, return_exceptions=True)
        assert [a["slug"] for a in answers] == [str(n) for n in range(20)]  # type: ignore[index]
        assert isinstance(failed, NotFound)
        # One tick's calls travelled as one message.
        assert len(deliveries) == 1
    finally:
        await client.stop()
        await server.stop()
        await bus.close()


async def test_a_batched_request_past_its_deadline_is_dropped_alone(own_vhost: Isolation) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    handled: list[str] = []
    replies: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def handle(envelope: Envelope, message: aio_pika.abc.AbstractIncomingMessage) -> bytes:
        handled.append(envelope.data["slug"])
        return ok_reply(envelope.data["slug"])

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        replies.append(message)

    callback = await bus.consume_private("tests.replies", on_reply)
    late = Envelope.wrap(GetSystem(slug="late"), correlation_id="c")
    on_time = Envelope.wrap(GetSystem(slug="on-time"), correlation_id="c")
    body = orjson.dumps(
        [
            (now_ms() - 1, orjson.Fragment(late.to_bytes())),
            (now_ms() + 5000, orjson.Fragment(on_time.to_bytes())),
        ]
    )
    await bus.publish_direct(
        aio_pika.Message(
            body,
            type=BATCH_TYPE,
            reply_to="tests.replies",
            headers={DEADLINE_HEADER: now_ms() + 5000},
        ),
        topology.request_queue("webhooks"),
    )
    server = RpcServer(bus, "webhooks", handle, prefetch=8)
    await server.start()
    try:
        deadline = time.monotonic() + 5
        while not replies:
            assert time.monotonic() < deadline, "no reply"
            await asyncio.sleep(0.02)
        assert handled == ["on-time"]
        assert replies[0].correlation_id == str(on_time.message_id)
        assert orjson.loads(replies[0].body) == {"ok": True, "data": "on-time"}
    finally:
        await server.stop()
        await callback.stop(timeout_s=1)
        await bus.close()


async def test_a_closed_channel_is_service_unavailable(own_vhost: Isolation) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    client = RpcClient(bus, name="gateway")
    await client.start()
    await bus.direct_channel.close()
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            await client.call("badges", GetSystem(slug="x"), correlation_id="c", timeout_s=2)
        assert "broker" in caught.value.message
    finally:
        await client.stop()
        await bus.close()


async def test_a_keyed_request_carries_its_id_and_hash_and_one_runs_at_a_time(
    own_vhost: Isolation,
) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    seen: list[Envelope] = []
    release = asyncio.Event()

    async def handle(envelope: Envelope, message: aio_pika.abc.AbstractIncomingMessage) -> bytes:
        seen.append(envelope)
        await release.wait()
        return orjson.dumps({"ok": True, "data": {"n": len(seen)}, "replayed": len(seen) > 1})

    server = RpcServer(bus, "badges", handle, prefetch=8)
    client = RpcClient(bus, name="gateway")
    await server.start()
    await client.start()
    message_id = uuid.uuid4()

    def send() -> Coroutine[Any, Any, Answer]:
        return client.request(
            "badges",
            GetSystem(slug="a"),
            correlation_id="c",
            timeout_s=5,
            message_id=message_id,
            request_hash="h",
        )

    try:
        first = asyncio.ensure_future(send())
        await asyncio.sleep(0)  # its request is registered; the retry below comes meanwhile
        with pytest.raises(KeyInUse):
            await send()
        release.set()
        answer = await first
        assert (answer.unwrap(), answer.replayed) == ({"n": 1}, False)
        assert (seen[0].message_id, seen[0].request_hash) == (message_id, "h")
        again = await send()
        assert (again.unwrap(), again.replayed) == ({"n": 2}, True)
    finally:
        await client.stop()
        await server.stop()
        await bus.close()


async def test_a_request_about_a_system_names_it_in_its_envelope(own_vhost: Isolation) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    seen: list[Envelope] = []

    async def handle(envelope: Envelope, message: aio_pika.abc.AbstractIncomingMessage) -> bytes:
        seen.append(envelope)
        return ok_reply(None)

    server = RpcServer(bus, "webhooks", handle, prefetch=8)
    client = RpcClient(bus, name="gateway")
    await server.start()
    await client.start()
    try:
        await client.request(
            "webhooks", GetSystem(slug="a"), correlation_id="c", timeout_s=5, system_id=7
        )
        await client.call("webhooks", GetSystem(slug="b"), correlation_id="c", timeout_s=5)
        assert [envelope.system_id for envelope in seen] == [7, None]
    finally:
        await client.stop()
        await server.stop()
        await bus.close()
