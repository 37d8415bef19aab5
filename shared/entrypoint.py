"""`python -m services.<name>`: settings, logging, event loop, and clear start-up errors."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import pydantic
import structlog

from shared.config import Settings
from shared.logging import configure_logging

try:
    from uvloop import run as run_event_loop
except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
    from asyncio import run as run_event_loop  # type: ignore[assignment]

log = structlog.get_logger()
T = TypeVar("T")

# How long a starting process waits for Postgres and RabbitMQ (compose starts them together).
STARTUP_WAIT_S = 60.0
_UNREACHABLE = (OSError, asyncpg.CannotConnectNowError, aio_pika.exceptions.AMQPConnectionError)


def load_settings() -> Settings:
    try:
        return Settings()
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        sys.stderr.write(f"plaudit: invalid configuration: {problems}\n")
        raise SystemExit(2) from None


def redact_url(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def wait_until_reachable(
    what: str, url: str, attempt: Callable[[], Awaitable[T]], timeout_s: float = STARTUP_WAIT_S
) -> T:
    """Retry `attempt` while the server is not reachable yet, saying so; give up after a while."""
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            return await attempt()
        except _UNREACHABLE as error:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"plaudit: cannot reach {what} at {redact_url(url)} ({error}); "
                    f"start it, or point the right environment variable at it"
                ) from None
            log.warning("startup.waiting", dependency=what, url=redact_url(url), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def main(service: str, run: Callable[[Settings], Coroutine[Any, Any, None]]) -> None:
    settings = load_settings()
    configure_logging(settings.plaudit_env, service, replica=settings.plaudit_replica)
    run_event_loop(run(settings))
