import sys

import structlog
from aiohttp import web

from services.gateway.app import create_app
from services.gateway.config import SERVICE, SHUTDOWN_TIMEOUT_S
from shared.config import is_loopback_host
from shared.entrypoint import load_settings
from shared.logging import configure_logging

log = structlog.get_logger()


def run() -> None:
    settings = load_settings()
    configure_logging(settings.plaudit_env, SERVICE)
    in_use = settings.development_defaults_in_use()
    if in_use and not is_loopback_host(settings.gateway_host):
        sys.exit(
            f"plaudit: refusing to listen on {settings.gateway_host} with the development "
            f"default of {', '.join(in_use)}; set them, or listen on 127.0.0.1"
        )
    if len(settings.master_secret_value) < 32:
        log.warning("gateway.weak_master_secret", advice="use at least 32 random bytes")
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = None
    web.run_app(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log=None,  # the frame middleware logs route templates, never raw paths
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        print=None,
        loop=loop,
    )


run()
