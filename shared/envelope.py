"""The one envelope every message travels in.

`message_id` is unique per message and is what consumers dedupe on; `correlation_id` follows one
user request through every service; `causation_id` is the `message_id` of the message that caused
this one; `system_id` is the tenant's immutable id (never only its slug); `data` is the payload of
the message model named by `type`.

`request_hash` is set only on a request sent under an `Idempotency-Key`: its `message_id` then
derives from the key (every retry arrives with the same id), and the hash of the HTTP request lets
the owner tell a retry (same hash) from the key reused for another request.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.messages.base import Message


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    occurred_at: datetime = Field(default_factory=utcnow)
    correlation_id: str
    causation_id: str | None = None
    system_id: int | None = None
    data: dict[str, Any]
    request_hash: str | None = None

    @classmethod
    def wrap(
        cls,
        message: Message,
        *,
        correlation_id: str,
        causation_id: str | None = None,
        system_id: int | None = None,
        message_id: uuid.UUID | None = None,
        request_hash: str | None = None,
    ) -> Envelope:
        return cls(
            message_id=message_id or uuid.uuid4(),
            type=message.TYPE,
            correlation_id=correlation_id,
            causation_id=causation_id,
            system_id=system_id,
            data=message.to_data(),
            request_hash=request_hash,
        )

    def to_bytes(self) -> bytes:
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        return cls.model_validate_json(body)
