"""The RabbitMQ topology, declared in full by every process at start.

- `plaudit.events` (topic): domain events, routing key = event type. Its alternate exchange
  `plaudit.unroutable` keeps anything no queue is bound to in the queue of the same name.
- `<service>.events` (quorum): one per subscribing service, bound to exactly the event types
  that service has handlers for. An explicit delivery limit; over it, or on rejection, messages are
  dead-lettered at least once through `plaudit.dead-letter` into `<service>.events.dlq`.
- `<service>.requests` (classic): request/reply traffic. Requests carry an expiration equal to
  the caller's deadline, so a request nobody took in time disappears instead of running late.
- Replies go to each gateway's exclusive callback queue through the default exchange.

Declaring a queue again with other arguments is refused by the broker: changing an argument here
means a new queue name or an operator policy, never a silent redeclare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.messages.credentials import (
    CancelCredential,
    CredentialFailed,
    CredentialIssued,
    IssueCredential,
)
from shared.messages.events import (
    BadgeCreated,
    BadgeDeleted,
    BadgeUpdated,
    ConsumerDeleted,
    IssuerDeleted,
    IssuerUpdated,
    MilestoneCreated,
    MilestoneDeleted,
    MilestoneUpdated,
    ProgramDeleted,
    ProgramUpdated,
    SystemDeleted,
    SystemUpdated,
)
from shared.messages.instances import BadgeAwarded, BadgeRevoked
from shared.messages.open_badges import SignOpenBadgeCredential
from shared.messages.webhooks import FANNED_OUT

EVENTS_EXCHANGE = "plaudit.events"
UNROUTABLE_EXCHANGE = "plaudit.unroutable"
UNROUTABLE_QUEUE = "plaudit.unroutable"
DEAD_LETTER_EXCHANGE = "plaudit.dead-letter"

# Deliveries of one message before it is dead-lettered: enough to ride out a restart or a
# short database outage, few enough that a poison message stops looping quickly.
DELIVERY_LIMIT = 10


@dataclass(frozen=True)
class EventQueue:
    name: str
    bindings: tuple[str, ...]
    # Bindings of earlier versions, removed at start (a redeclare never removes a binding).
    obsolete: tuple[str, ...] = ()
    arguments: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "arguments",
            {
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": self.dead_letter_queue,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"


QUORUM: dict[str, Any] = {"x-queue-type": "quorum"}

# Each subscriber is bound to exactly the types it has handlers for (its EventDispatcher checks
# at start): an event no service acts on is not published at all. The issuer also receives the
# commands the badges service sends it through its outbox (they carry recipients' names and
# emails: nobody else may be bound to them), and the awards and revocations it signs
# Open Badges 3.0 credentials for.
ISSUER_EVENTS = EventQueue(
    "issuer.events",
    (
        SystemDeleted.TYPE,
        IssueCredential.TYPE,
        CancelCredential.TYPE,
        BadgeAwarded.TYPE,
        BadgeRevoked.TYPE,
        SignOpenBadgeCredential.TYPE,
    ),
    obsolete=("system.*",),
)
WEBHOOKS_EVENTS = EventQueue(
    "webhooks.events",
    (SystemDeleted.TYPE, *FANNED_OUT),
    obsolete=(
        "#",
        "system.*",
        "badge.*",
        "application.*",
        "claim_code.*",
        "credential.*",
        "webhook.test",
    ),
)
BADGES_EVENTS = EventQueue(
    "badges.events", (CredentialIssued.TYPE, CredentialFailed.TYPE), obsolete=("credential.*",)
)
EVENT_QUEUES = (ISSUER_EVENTS, WEBHOOKS_EVENTS, BADGES_EVENTS)

# Every change to what a gateway's read cache holds (a badge, a badge list, a public assertion:
# the badges, the systems, issuers and programs they show, their milestones, the awards'
# revocations), each carrying its system's slug, whose cached reads it drops.
CHANGES_READS = (
    SystemUpdated.TYPE,
    SystemDeleted.TYPE,
    IssuerUpdated.TYPE,
    IssuerDeleted.TYPE,
    ProgramUpdated.TYPE,
    ProgramDeleted.TYPE,
    BadgeCreated.TYPE,
    BadgeUpdated.TYPE,
    BadgeDeleted.TYPE,
    MilestoneCreated.TYPE,
    MilestoneUpdated.TYPE,
    MilestoneDeleted.TYPE,
    BadgeRevoked.TYPE,
)
# What every gateway process must hear at once, on its own exclusive queue.
GATEWAY_BROADCASTS = (ConsumerDeleted.TYPE, *CHANGES_READS)

SERVICES = ("badges", "issuer", "webhooks")


def request_queue(service: str) -> str:
    return f"{service}.requests"


def dead_letter_queues() -> list[str]:
    return [queue.dead_letter_queue for queue in EVENT_QUEUES]


def durable_queues() -> dict[str, dict[str, Any]]:
    """Every durable queue of the topology, with its declaration arguments."""
    queues: dict[str, dict[str, Any]] = {UNROUTABLE_QUEUE: QUORUM}
    for event_queue in EVENT_QUEUES:
        queues[event_queue.dead_letter_queue] = QUORUM
        queues[event_queue.name] = event_queue.arguments
    for service in SERVICES:
        queues[request_queue(service)] = {}
    return queues
