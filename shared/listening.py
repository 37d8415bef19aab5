"""Where a process starts listening for HTTP (the gateway, the health probes, the sandbox): a
port it cannot have ends the process with one line saying which, why, and what to do, never a
traceback."""

from __future__ import annotations

from aiohttp import web


async def listen(
    runner: web.BaseRunner,
    host: str,
    port: int,
    *,
    what: str,
    advice: str,
    reuse_port: bool = False,
) -> None:
    """Serve `runner` on host:port (`reuse_port`: beside other processes that ask the same)."""
    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port).start()
    except OSError as error:
        raise SystemExit(
            f"plaudit: {what} cannot listen on {host}:{port} ({error.strerror}); {advice}"
        ) from None
