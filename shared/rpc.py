"""Request/reply over RabbitMQ: the wire format both sides share.

The caller (`shared.rpc_client`) publishes an envelope to `<service>.requests` with `reply_to`
(its own exclusive callback queue), `correlation_id` = the envelope's `message_id`, an
`expiration` equal to its deadline and the deadline itself in the `x-deadline-ms` header. The
owner (`shared.rpc_server`) answers `{"ok": true, "data": ...}` or `{"ok": false, "error":
{status, code, message, ...}}` to `reply_to` (with `"replayed": true` when it is the stored
reply of an earlier run), then acks. A request found past its deadline is dropped unexecuted:
its caller has already answered 503.

Coalescing (`shared.coalescing`): requests to one service made in the same event-loop tick
travel as one message (type `rpc.batch`, a JSON array of `[deadline_ms, envelope]`), and replies
to one callback queue that are ready in the same tick travel as one message (type `rpc.batch`,
an array of `[correlation_id, reply]`). A tick holding a single request or reply sends the plain
form above. Each request of a batch keeps its own `message_id` (what the owner dedupes on and
stores its reply under) and its own deadline; the owner runs them concurrently and acks the
batch message once every one of its replies is sent, so a crash redelivers the whole batch and
each request in it gets its stored reply or runs, as a lone request would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import pydantic

from shared.envelope import Envelope
from shared.errors import AppError

DEADLINE_HEADER = "x-deadline-ms"
JSON = "application/json"
BATCH_TYPE = "rpc.batch"
# Set in a reply that is the stored reply of an earlier run of the same request.
REPLAYED = "replayed"

BATCH = pydantic.TypeAdapter(list[tuple[int, Envelope]])


def ok_reply(data: Any) -> bytes:
    return orjson.dumps({"ok": True, "data": data})


def replayed_reply(stored: bytes) -> bytes:
    """A stored reply sent again, marked as such."""
    return orjson.dumps({**orjson.loads(stored), REPLAYED: True})


def error_reply(error: AppError) -> bytes:
    return orjson.dumps({"ok": False, "error": error.to_wire()})


def now_ms() -> int:
    return int(time.time() * 1000)


def milliseconds(seconds: float) -> str:
    """An AMQP `expiration`: milliseconds, as a string."""
    return str(int(seconds * 1000))


@dataclass(frozen=True)
class Answer:
    """A reply as the owner sent it: `{ok, data}` or `{ok: false, error}`, and `replayed` when
    it is the stored reply of an earlier run of the same request."""

    reply: dict[str, Any]

    @property
    def replayed(self) -> bool:
        return bool(self.reply.get(REPLAYED))

    def unwrap(self) -> Any:
        """The reply's `data`; an error reply raises its AppError."""
        if self.reply.get("ok"):
            return self.reply.get("data")
        raise AppError.from_wire(self.reply.get("error") or {})
