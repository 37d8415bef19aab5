"""Watching asynchronous effects in end-to-end tests: poll with a deadline, tap the events
exchange, read what a subscriber recorded in its inbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aio_pika

from shared.envelope import Envelope
from shared.topology import EVENTS_EXCHANGE
from tests.support.client import Client
from tests.support.stack import Stack, query

DEADLINE_S = 20.0


async def eventually(
    check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = DEADLINE_S
) -> Any:
    """Poll `check` until it answers something truthy; fail after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not (value := await check()):
        assert loop.time() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        await asyncio.sleep(0.05)
    return value


class EventTap:
    """Every domain event published while it listens, with its data, read from a queue of the
    test's own bound to the events exchange."""

    def __init__(self) -> None:
        self.seen: list[Envelope] = []

    def of(self, event_type: str, system_id: int) -> list[dict[str, Any]]:
        return [e.data for e in self.seen if e.type == event_type and e.system_id == system_id]

    async def wait(
        self, event_type: str, system_id: int, count: int = 1, timeout_s: float = DEADLINE_S
    ) -> list[dict[str, Any]]:
        """The data of the system's events of this type, once there are `count` of them."""

        async def enough() -> list[dict[str, Any]] | None:
            found = self.of(event_type, system_id)
            return found if len(found) >= count else None

        found: list[dict[str, Any]] = await eventually(
            enough, f"{count} {event_type} event(s)", timeout_s
        )
        return found


@asynccontextmanager
async def tap_events(stack: Stack, *patterns: str) -> AsyncIterator[EventTap]:
    """An `EventTap` on the routing keys `patterns` (all events when none are given)."""
    tap = EventTap()
    connection = await aio_pika.connect(stack.isolation.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for pattern in patterns or ("#",):
            await queue.bind(EVENTS_EXCHANGE, routing_key=pattern)

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            tap.seen.append(Envelope.from_bytes(message.body))
            await message.ack()

        await queue.consume(collect)
        yield tap
    finally:
        await connection.close()


async def inbox_types(stack: Stack, system_id: int, service: str = "webhooks") -> list[str]:
    """The types of the system's events a subscriber has recorded."""
    rows = await query(
        stack,
        f"SELECT type FROM {service}.inbox WHERE system_id = $1 ORDER BY handled_at",
        system_id,
    )
    return [row["type"] for row in rows]


async def subscribe(client: Client, path: str) -> None:
    """Give the system a path starts with a webhook endpoint taking every event: the webhooks
    service records an event in its inbox only where some endpoint takes it (deliveries to this
    closed port fail and are retried, which nothing here waits for)."""
    system = "/".join(path.split("/")[:3])
    answer = await client.post(f"{system}/webhooks", json={"url": "http://127.0.0.1:9/hooks"})
    assert answer.status == 201, answer.body


async def wait_for_inbox(stack: Stack, system_id: int, event_type: str, count: int) -> None:
    """Until the webhooks service has recorded `count` events of this type for the system
    (which must have an endpoint taking them: `subscribe`)."""

    async def arrived() -> bool:
        return (await inbox_types(stack, system_id)).count(event_type) >= count

    await eventually(arrived, f"{count} {event_type} event(s) in the webhooks inbox")


async def system_id_of(client: Client, path: str) -> int:
    """The id of the system a path starts with (`/systems/<slug>/...`)."""
    answer = await client.get("/".join(path.split("/")[:3]))
    assert answer.status == 200, answer.body
    found: int = answer.body["system"]["id"]
    return found
