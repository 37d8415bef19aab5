"""What the dispatcher tests share: the service's dependencies, a fake AMQP delivery (what the
dispatchers read of one), envelopes, and Postgres ending a handler's connection."""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.db import Connection
from shared.envelope import Envelope
from shared.messages.events import BadgeCreated


@dataclass
class Deps:
    calls: list[str] = field(default_factory=list)


_tags = itertools.count(1)
# The fake channel's deliveries by tag, for a `multiple` ack to settle them as a broker does.
_OPEN: weakref.WeakValueDictionary[int, Delivery] = weakref.WeakValueDictionary()
# Every ack frame sent on the fake channel: (delivery tag, multiple).
ack_frames: list[tuple[int, bool]] = []


@dataclass(eq=False)
class Delivery:
    """What the dispatchers read of an AMQP delivery, on one fake channel: each has the next
    delivery tag, and an ack with `multiple` settles every unsettled one up to its tag."""

    redelivered: bool = False
    outcome: str = ""
    body: bytes = b""
    routing_key: str = ""
    consumer_tag: str = "consumer"
    delivery_tag: int = field(default_factory=lambda: next(_tags))

    def __post_init__(self) -> None:
        _OPEN[self.delivery_tag] = self

    async def ack(self, multiple: bool = False) -> None:
        ack_frames.append((self.delivery_tag, multiple))
        self.outcome = "ack"
        _OPEN.pop(self.delivery_tag, None)
        if multiple:
            for tag, delivery in list(_OPEN.items()):
                if tag < self.delivery_tag:
                    delivery.outcome = "ack"
                    del _OPEN[tag]

    async def nack(self, requeue: bool = True) -> None:
        self.outcome = "requeue" if requeue else "nack"
        _OPEN.pop(self.delivery_tag, None)

    async def reject(self, requeue: bool = False) -> None:
        self.outcome = "requeue" if requeue else "dead-letter"
        _OPEN.pop(self.delivery_tag, None)


def reply(body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(body)
    return decoded


def created(system: str) -> BadgeCreated:
    return BadgeCreated(system=system, badge={"slug": "b"})


def delivery_of(event: Any, **kwargs: Any) -> tuple[Envelope, Delivery]:
    envelope = Envelope.wrap(event, correlation_id="c", system_id=5)
    return envelope, Delivery(body=envelope.to_bytes(), routing_key=envelope.type, **kwargs)


async def drop_connection(conn: Connection) -> None:
    """Postgres ends the connection, mid-transaction, as a failover or a restart would."""
    await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
