from __future__ import annotations

from shared.messages.base import Query


class Ping(Query):
    """Answered by every service's request handler; the gateway's readiness probe."""

    TYPE = "ping"
