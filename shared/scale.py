"""`PLAUDIT_SCALE`: how many processes of each service the dev runner and the test stacks start.

`gateway=2,badges=2` runs two gateways (sharing the port with `SO_REUSEPORT`) and two badges
processes (competing consumers of the same queues), one of every other service. Each process is
a replica with a name of its own: the first keeps the service's name (`badges`), the others are
numbered from 2 (`badges-2`), so logs, readiness and supervisors can tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# The services a scale may name, in the order they start (the gateway last: it answers
# requests only once the services behind it consume).
SERVICES = ("badges", "issuer", "webhooks", "gateway")
# More than this many replicas of one service on one machine is a typo, not a plan.
MAX_REPLICAS = 16


class ScaleError(ValueError):
    """A `PLAUDIT_SCALE` that cannot be read; its message says what to write instead."""


@dataclass(frozen=True)
class Replica:
    service: str
    number: int  # from 1

    @property
    def name(self) -> str:
        return self.service if self.number == 1 else f"{self.service}-{self.number}"


def parse(text: str | None) -> dict[str, int]:
    """Replicas per service: one of each unless `text` says otherwise."""
    scale = dict.fromkeys(SERVICES, 1)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        service, sep, count = (piece.strip() for piece in part.partition("="))
        if not sep or service not in SERVICES:
            raise ScaleError(
                f"PLAUDIT_SCALE: {part.strip()!r} is not service=count "
                f"(services: {', '.join(SERVICES)}; for example gateway=2,badges=2)"
            )
        if not count.isdigit() or not 1 <= int(count) <= MAX_REPLICAS:
            raise ScaleError(
                f"PLAUDIT_SCALE: {service}={count!r}: a count from 1 to {MAX_REPLICAS}"
            )
        scale[service] = int(count)
    return scale


def replicas(scale: Mapping[str, int], services: Iterable[str] = SERVICES) -> list[Replica]:
    """The replicas of `services` (all, by default) under `scale`, in starting order."""
    return [
        Replica(service, number)
        for service in services
        for number in range(1, scale.get(service, 1) + 1)
    ]


def describe(scale: Mapping[str, int]) -> str:
    """`badges x2, issuer, webhooks, gateway x2`: the scale as a person reads it."""
    return ", ".join(
        service if scale.get(service, 1) == 1 else f"{service} x{scale[service]}"
        for service in SERVICES
    )
