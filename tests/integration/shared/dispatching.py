"""What the dispatcher tests share: the service's dependencies, a fake AMQP delivery (what the
dispatchers read of one), and envelopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.envelope import Envelope
from shared.messages.events import BadgeCreated


@dataclass
class Deps:
    calls: list[str] = field(default_factory=list)


@dataclass
class Delivery:
    """What the dispatchers read of an AMQP delivery."""

    redelivered: bool = False
    outcome: str = ""
    body: bytes = b""
    routing_key: str = ""

    async def ack(self) -> None:
        self.outcome = "ack"

    async def nack(self, requeue: bool = True) -> None:
        self.outcome = "requeue" if requeue else "nack"

    async def reject(self, requeue: bool = False) -> None:
        self.outcome = "requeue" if requeue else "dead-letter"


def reply(body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(body)
    return decoded


def created(system: str) -> BadgeCreated:
    return BadgeCreated(system=system, badge={"slug": "b"})


def delivery_of(event: Any, **kwargs: Any) -> tuple[Envelope, Delivery]:
    envelope = Envelope.wrap(event, correlation_id="c", system_id=5)
    return envelope, Delivery(body=envelope.to_bytes(), routing_key=envelope.type, **kwargs)
