"""The gateway's HTTP server: aiohttp's, except that a request its parser refuses (a header or
URL over the size limit, a malformed request) gets a BadgeKit error body like every other error,
instead of aiohttp's plain text.

Such a request never reaches the application or its middlewares: aiohttp's protocol answers it
itself, through `RequestHandler.handle_error`, and offers no other hook for it
(aio-libs/aiohttp#3287). So the protocol is subclassed here, with the server that builds it and
the runner that builds that server.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.web_request import BaseRequest

from services.gateway import metrics
from services.gateway.config import (
    KEEPALIVE_TIMEOUT_S,
    MAX_HEADER_FIELD_SIZE,
    MAX_REQUEST_LINE_SIZE,
    SHUTDOWN_TIMEOUT_S,
)
from services.gateway.middleware import REQUEST_ID_HEADER, error_response
from shared.errors import AppError, InternalError
from shared.listening import listen

log = structlog.get_logger()

# aiohttp's parser names this failure only by its text.
_TOO_MANY_HEADERS = "Too many headers received"
# The metrics' route label of a request refused before routing.
UNPARSED_ROUTE = "unparsed"


def _error(code: str, status: int, message: str) -> AppError:
    error = AppError(message)
    error.status, error.code = int(status), code
    return error


def parser_error(exc: BaseException | None, status: int, protocol: web.RequestHandler) -> AppError:
    """The BadgeKit error for a request aiohttp's protocol refused (or, past the middlewares,
    failed). Messages quote nothing of an over-long line: it may hold a token or an email."""
    if isinstance(exc, LineTooLong):
        # The parser raises it with the limit it hit: the request line's or a header's.
        limit = exc.args[1] if len(exc.args) > 1 else None
        if limit == protocol.max_line_size != protocol.max_field_size:
            return _error(
                "URITooLong",
                HTTPStatus.REQUEST_URI_TOO_LONG,
                f"The request's URL is longer than {limit} bytes",
            )
        return _error(
            "RequestHeaderFieldsTooLarge",
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            f"A request header is longer than {protocol.max_field_size} bytes (name and value"
            " together); send a shorter one",
        )
    if isinstance(exc, BadHttpMessage):
        if exc.message == _TOO_MANY_HEADERS:
            return _error(
                "RequestHeaderFieldsTooLarge",
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"The request has more than {protocol.max_headers} headers",
            )
        # The first line names the fault (llhttp's reason); what follows quotes the request. It
        # goes back only to the client that sent it, and never to the logs.
        reason = (exc.message.strip().splitlines() or [""])[0].rstrip(":")[:200]
        return _error("BadRequest", HTTPStatus.BAD_REQUEST, f"Malformed HTTP request: {reason}")
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        return InternalError()
    phrase = HTTPStatus(status).phrase
    return _error(phrase.replace(" ", ""), status, phrase)


class JsonErrorsProtocol(web.RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # As aiohttp's: part of a response went out, so no other can.
            raise ConnectionError("Response is sent already, cannot send an error response")
        error = parser_error(exc, status, self)
        correlation_id = str(uuid.uuid4())
        if error.status >= 500:
            log.error(
                "http.failed",
                status=error.status,
                reason=type(exc).__name__,
                correlation_id=correlation_id,
            )
        else:
            # The exception's text quotes the request; its type is enough to tell what failed.
            log.info(
                "http.refused",
                status=error.status,
                code=error.code,
                reason=type(exc).__name__,
                correlation_id=correlation_id,
            )
        metrics.observe(request.method, UNPARSED_ROUTE, error.status, 0.0)
        response = error_response(error)
        response.headers[REQUEST_ID_HEADER] = correlation_id
        # The rest of the connection's bytes cannot be trusted to start a request.
        response.force_close()
        return response


class JsonErrorsServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        # As `web.Server.__call__`, with the protocol above.
        return JsonErrorsProtocol(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return JsonErrorsServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


def runner(app: web.Application) -> GatewayRunner:
    return GatewayRunner(
        app,
        access_log=None,  # the frame middleware logs route templates, never raw paths
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        keepalive_timeout=KEEPALIVE_TIMEOUT_S,
        max_line_size=MAX_REQUEST_LINE_SIZE,
        max_field_size=MAX_HEADER_FIELD_SIZE,
    )


async def serve(app: web.Application, *, host: str, port: int) -> None:
    """Serve `app` until SIGTERM or SIGINT, then let the requests in flight finish (up to
    SHUTDOWN_TIMEOUT_S) before the app's cleanup. The signal handlers are in place before
    anything starts, so a signal during start-up still ends in a clean stop."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    serving = runner(app)
    await serving.setup()
    try:
        # SO_REUSEPORT: the replicas of one machine (PLAUDIT_SCALE=gateway=2) share the port,
        # and the kernel spreads the connections among them.
        await listen(
            serving,
            host,
            port,
            what="the gateway",
            advice="stop what holds the port, or set GATEWAY_PORT",
            reuse_port=True,
        )
        await stopping.wait()
        log.info("gateway.stopping")
    finally:
        started = time.monotonic()
        await serving.cleanup()
        log.info("gateway.stopped", ms=round((time.monotonic() - started) * 1000))
