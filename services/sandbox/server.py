"""The sandbox as a process: where it listens, which keys it accepts, a clean stop on signals."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from services.sandbox.app import create_app
from services.sandbox.config import SERVICE, SHUTDOWN_TIMEOUT_S
from shared.config import Settings, is_loopback_host
from shared.entrypoint import main
from shared.listening import listen

log = structlog.get_logger()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.sandbox",
        description="A local stand-in for the Open Campus issuance API, with fault injection. "
        "Its /_sandbox/ admin API has no authentication: never expose it.",
    )
    parser.add_argument("--host", help="listen here instead of OPEN_CAMPUS_BASE_URL's host")
    parser.add_argument("--port", type=int, help="listen here instead of OPEN_CAMPUS_BASE_URL's")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="accept this API key too (repeatable); OPEN_CAMPUS_API_KEY is always accepted",
    )
    return parser.parse_args(argv)


def listen_address(settings: Settings, args: argparse.Namespace) -> tuple[str, int, str]:
    """Host, port and base path: OPEN_CAMPUS_BASE_URL's, unless --host/--port say otherwise."""
    url = settings.open_campus_base_url or ""
    parts = urlsplit(url)
    if parts.scheme != "http" and (args.host is None or args.port is None):
        raise SystemExit(
            f"plaudit: the sandbox serves plain http, and OPEN_CAMPUS_BASE_URL is {url!r}; "
            "point it at http://127.0.0.1:8090 (the development default) or pass --host and --port"
        )
    host = args.host if args.host is not None else parts.hostname or "127.0.0.1"
    port = args.port if args.port is not None else parts.port or 80
    return host, port, parts.path if parts.scheme == "http" else ""


def api_keys(settings: Settings, args: argparse.Namespace) -> list[str]:
    keys = list(args.api_key)
    if settings.open_campus_api_key is not None:
        keys.insert(0, settings.open_campus_api_key.get_secret_value())
    return [key for key in keys if key]


async def serve(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_production:
        raise SystemExit(
            "plaudit: the Open Campus sandbox is for development and tests; "
            "it never runs with PLAUDIT_ENV=production"
        )
    host, port, base_path = listen_address(settings, args)
    keys = api_keys(settings, args)
    runner = web.AppRunner(
        create_app(keys, base_path=base_path),
        access_log=None,  # one line per call from the handler, without keys or bodies
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    try:
        await listen(
            runner,
            host,
            port,
            what="the sandbox",
            advice="stop what holds the port, or give the sandbox another (--port, or the port "
            "of OPEN_CAMPUS_BASE_URL)",
        )
        if not is_loopback_host(host):
            log.warning(
                "sandbox.listening_beyond_loopback",
                host=host,
                advice="its /_sandbox/ admin API has no authentication: never expose this port",
            )
        log.info("sandbox.started", host=host, port=port, base_path=base_path, api_keys=len(keys))
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        log.info("sandbox.stopping")
    finally:
        await runner.cleanup()
    log.info("sandbox.stopped")


def run(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    main(SERVICE, lambda settings: serve(settings, args))
