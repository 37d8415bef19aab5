import structlog

from services.gateway.app import create_app
from services.gateway.config import SERVICE
from services.gateway.server import serve
from shared.config import Settings, is_loopback_host
from shared.entrypoint import main

log = structlog.get_logger()


async def run(settings: Settings) -> None:
    in_use = settings.development_defaults_in_use()
    if in_use and not is_loopback_host(settings.gateway_host):
        raise SystemExit(
            f"plaudit: refusing to listen on {settings.gateway_host} with the development "
            f"default of {', '.join(in_use)}; set them, or listen on 127.0.0.1"
        )
    if len(settings.master_secret_value) < 32:
        log.warning("gateway.weak_master_secret", advice="use at least 32 random bytes")
    await serve(create_app(settings), host=settings.gateway_host, port=settings.gateway_port)


main(SERVICE, run)
