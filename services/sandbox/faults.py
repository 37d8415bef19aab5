"""Fault injection: which outcome each issuance call gets.

A scripted `sequence` is consumed first, one outcome per call; then every call draws one number
from a RNG seeded with `seed` and `rates` decide (a probability per outcome, `ok` for the rest).
The same settings therefore give the same outcomes in the same order, run after run.
"""

from __future__ import annotations

import random
from collections import deque
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class Outcome(StrEnum):
    OK = "ok"
    # Answered before the request is read: nothing validated, nothing recorded.
    ERROR = "error"  # 503
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After
    REJECT = "reject"  # a 400 that is not the duplicate error
    # The request is processed (validated, checked for a duplicate, recorded), then answered:
    SLOW = "slow"  # after slowS seconds, beyond the client's timeout
    AMBIGUOUS_500 = "ambiguous_500"  # with a 500
    AMBIGUOUS_DROP = "ambiguous_drop"  # not at all: the connection is dropped


UNPROCESSED = frozenset({Outcome.ERROR, Outcome.RATE_LIMIT, Outcome.REJECT})


class FaultSettings(BaseModel):
    """The body of `PUT /_sandbox/faults`; every field is optional."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    sequence: tuple[Outcome, ...] = Field(default=(), max_length=100_000)
    rates: dict[Outcome, float] = Field(default_factory=dict)
    latency_ms: float = Field(default=0, ge=0, le=600_000)
    slow_s: float = Field(default=30, ge=0, le=3600)
    retry_after_s: int = Field(default=1, ge=0, le=86_400)
    seed: int = 0

    @model_validator(mode="after")
    def _rates_are_probabilities(self) -> Self:
        if any(not 0 <= rate <= 1 for rate in self.rates.values()):
            raise ValueError("each rate is a probability between 0 and 1")
        if sum(self.rates.values()) > 1 + 1e-9:
            raise ValueError("the rates add up to more than 1")
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Faults:
    """The settings in force and how far their sequence has been consumed."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.set(settings or FaultSettings())

    def set(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._pending = deque(settings.sequence)
        self._random = random.Random(settings.seed)

    def clear(self) -> None:
        self.set(FaultSettings())

    def next(self) -> Outcome:
        if self._pending:
            return self._pending.popleft()
        draw = self._random.random()
        cumulative = 0.0
        for outcome in Outcome:  # a fixed order, whatever the order of the JSON keys
            cumulative += self.settings.rates.get(outcome, 0.0)
            if draw < cumulative:
                return outcome
        return Outcome.OK

    def to_json(self) -> dict[str, Any]:
        return {"faults": self.settings.to_json(), "remaining": list(self._pending)}
