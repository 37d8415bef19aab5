"""The address a request came from, for what is limited per client (`POST /public/verify`).

The peer's address, unless the peer is a proxy the operator trusts (`TRUSTED_PROXIES`): then the
nearest address in `X-Forwarded-For` that is not a trusted proxy itself, read from the right,
as each proxy appends the address it was called from. Whatever lies further left came from the
client and is never believed; an entry that is no address ends the walk at the last trusted hop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

from shared.config import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(request: web.Request, trusted: Sequence[Network]) -> str:
    peer = request.remote or "unknown"
    address = _parse(peer)
    if address is None or not _within(address, trusted):
        return peer
    hops = [
        hop for header in request.headers.getall("X-Forwarded-For", ()) for hop in header.split(",")
    ]
    for hop in reversed(hops):
        forwarded = _parse(hop)
        if forwarded is None:
            break
        address = forwarded
        if not _within(address, trusted):
            break
    return str(address)


def _within(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def _parse(text: str) -> Address | None:
    """An address as proxies write it: `203.0.113.7`, `2001:db8::1`, and with a port
    `203.0.113.7:4711` or `[2001:db8::1]:4711`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
