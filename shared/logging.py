"""structlog, configured once per process.

JSON lines in production and test (machines read them), a readable console in development.
Context lives in contextvars: every line carries the process's `service` (and its `replica`
name where several run, `PLAUDIT_REPLICA`); the HTTP middleware and the message consumers bind
`correlation_id` (and `message_id`, `type`), so every line of one request carries it, in every
service it crosses.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import structlog

from shared.config import Environment

log = structlog.get_logger()


def _orjson_dumps(value: Any, **_: Any) -> bytes:
    return orjson.dumps(value, default=str)


def configure_logging(
    environment: Environment, service: str, level: str = "info", replica: str | None = None
) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if environment is Environment.DEVELOPMENT and sys.stderr.isatty():
        renderer: Any = structlog.dev.ConsoleRenderer()
        factory: Any = structlog.PrintLoggerFactory(sys.stderr)
    else:
        # Tracebacks as data, without the frames' local variables: a local may hold a secret.
        processors.append(
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        )
        # orjson's bytes straight to the stream: no decode, no print() per line.
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        factory = structlog.BytesLoggerFactory(sys.stderr.buffer)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    if replica:
        structlog.contextvars.bind_contextvars(replica=replica)
    # Libraries log through the standard library; keep their warnings, in the same stream.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")


def new_correlation_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind log context for the duration of a block (one request, one message)."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
