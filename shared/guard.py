"""The SSRF guard of every outbound request to an address a user chose: webhook deliveries, and
the issuer's fetches of other issuers' documents when it verifies a credential (reference:
webhooks-reliability.md §A8).

Two layers, as §A8 asks:

- `check_url` runs when an endpoint is registered and again before each send. It refuses schemes
  other than http/https, URLs without a host, `localhost` names and IP literals in any notation
  (dotted quad, bracketed IPv6, and the legacy forms `inet_aton` accepts: `2130706433`,
  `0x7f000001`, `017700000001`, `127.1`, `0x7f.1`) that fall in a blocked range. It does no DNS.
- `guarded_connector` builds the `aiohttp.TCPConnector` such requests go through. Its
  `GuardedResolver` resolves each host once, drops every blocked address and hands aiohttp only
  the rest, so the addresses checked are the addresses connected to (no DNS-rebinding window).
  IP-literal hosts skip aiohttp's resolver, so the connector also checks every address again
  when it creates the socket (the equivalent of Go's `Dialer.Control`).

Requests must also be sent with `allow_redirects=False`: a redirect is not re-checked here.
"""

from __future__ import annotations

import ipaddress
import socket
import string
from typing import Final, TypeAlias
from urllib.parse import unquote

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

# First match names the reason, so more specific networks come before the ones containing them.
_BLOCKED_V4: Final[tuple[tuple[ipaddress.IPv4Network, str], ...]] = tuple(
    (ipaddress.IPv4Network(network), label)
    for network, label in (
        ("0.0.0.0/8", "'this network' address"),
        ("10.0.0.0/8", "private address"),
        ("100.64.0.0/10", "carrier-grade NAT address"),
        ("127.0.0.0/8", "loopback address"),
        ("169.254.0.0/16", "link-local address"),  # cloud metadata (169.254.169.254)
        ("172.16.0.0/12", "private address"),
        ("192.0.0.0/24", "IETF protocol assignment address"),
        ("192.0.2.0/24", "documentation address"),
        ("192.88.99.0/24", "6to4 relay anycast address"),
        ("192.168.0.0/16", "private address"),
        ("198.18.0.0/15", "benchmarking address"),
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("224.0.0.0/4", "multicast address"),
        ("255.255.255.255/32", "broadcast address"),
        ("240.0.0.0/4", "reserved address"),
    )
)

_BLOCKED_V6: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = tuple(
    (ipaddress.IPv6Network(network), label)
    for network, label in (
        ("::/128", "unspecified address"),
        ("::1/128", "loopback address"),
        ("::ffff:0:0:0/96", "IPv4-translated address"),
        ("64:ff9b::/96", "NAT64 address"),
        ("64:ff9b:1::/48", "local-use NAT64 address"),
        ("100::/64", "discard-only address"),
        # Not in §A8: the IETF protocol assignments block (Teredo 2001::/32, benchmarking,
        # ORCHID). Nothing in it is an ordinary host.
        ("2001::/23", "IETF protocol assignment address"),
        ("2001:db8::/32", "documentation address"),
        ("2002::/16", "6to4 address"),
        ("3fff::/20", "documentation address"),
        ("5f00::/16", "SRv6 SID address"),
        ("fc00::/7", "unique local address"),  # includes AWS IMDS at fd00:ec2::254
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "site-local address"),  # not in §A8; deprecated, still routed by some
        ("ff00::/8", "multicast address"),
    )
)

# IPv4-compatible addresses (::a.b.c.d, deprecated); judged by the embedded IPv4 address.
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")


class BlockedTarget(Exception):
    """A target the SSRF guard refuses; `reason` is safe to show to the tenant (or the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedAddressError(BlockedTarget, OSError):
    """Raised inside aiohttp's connector: an `OSError`, so aiohttp reports a connection error
    (`aiohttp.ClientConnectorError`, whose `os_error` is this exception)."""

    def __init__(self, reason: str) -> None:
        OSError.__init__(self, None, reason)  # errno None; strerror shows in aiohttp's message
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def blocked_reason(address: IPAddress) -> str | None:
    """The class of a blocked address ("loopback address", ...), or None when it is allowed."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(address.packed)  # drop any scope id (fe80::1%eth0)
        for network6, label in _BLOCKED_V6:
            if address in network6:
                return label
        mapped = address.ipv4_mapped
        if mapped is not None:
            return blocked_reason(mapped)
        if address in _IPV4_COMPATIBLE:
            return blocked_reason(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    else:
        for network4, label in _BLOCKED_V4:
            if address in network4:
                return label
    # Belt and braces: the table above is the policy; `is_global` only ever adds to it (its
    # exact meaning varies between Python versions).
    if not address.is_global:
        return "non-global address"
    return None


def is_blocked(address: IPAddress) -> bool:
    """True for every address in the blocked ranges of §A8 (IPv4-mapped and IPv4-compatible
    IPv6 addresses are judged by their embedded IPv4 address)."""
    return blocked_reason(address) is not None


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse (`BlockedTarget`) a URL that is not http(s), has no host, or, unless
    `allow_private`, names localhost or an IP literal in a blocked range. No DNS lookup happens
    here; resolved addresses are checked by `guarded_connector` at send time."""
    try:
        parsed = URL(url)
        host = parsed.raw_host
    except (TypeError, ValueError):
        raise BlockedTarget("malformed URL") from None
    if parsed.scheme not in ("http", "https"):
        raise BlockedTarget("scheme must be http or https")
    if not host or not host.strip("."):
        raise BlockedTarget("URL has no host")
    if allow_private:
        return
    host = host.lower()
    _check_host(host)
    decoded = unquote(host)
    if decoded != host and ":" not in host:  # %-escapes; an IPv6 zone is "%25" + zone
        _check_host(decoded)


def _check_host(host: str) -> None:
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise BlockedTarget("localhost name")
    address = _parse_ip_literal(name)
    if address is not None:
        reason = blocked_reason(address)
        if reason is not None:
            raise BlockedTarget(reason)


def _parse_ip_literal(host: str) -> IPAddress | None:
    """The address an IP-literal host denotes, or None for a domain name. A host that looks
    numeric but is not a valid address is refused rather than handed to DNS."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise BlockedTarget("malformed IP address literal") from None
    parts = host.split(".")
    # As in the WHATWG URL standard: a host whose last label is a number is an IPv4 address.
    if not _is_number(parts[-1]):
        return None
    numbers = [_parse_number(part) for part in parts]
    if len(parts) > 4 or any(number is None for number in numbers):
        raise BlockedTarget("malformed IP address literal")
    *leading, last = [number for number in numbers if number is not None]
    if any(number > 0xFF for number in leading) or last >= 256 ** (4 - len(leading)):
        raise BlockedTarget("malformed IP address literal")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _is_number(label: str) -> bool:
    if not label.isascii():
        return False
    if label[:2] in ("0x", "0X"):
        return all(char in string.hexdigits for char in label[2:])
    return label.isdigit()


def _parse_number(part: str) -> int | None:
    """One part of an `inet_aton` address: decimal, 0x-hex or 0-octal."""
    if not part.isascii():
        return None
    if part[:2] in ("0x", "0X"):
        digits, base, allowed = part[2:], 16, string.hexdigits
        if not digits:
            return 0  # WHATWG reads a bare "0x" as 0; inet_aton refuses it. Either way: blocked.
    elif len(part) > 1 and part[0] == "0":
        digits, base, allowed = part[1:], 8, string.octdigits
    else:
        digits, base, allowed = part, 10, string.digits
    if not digits or any(char not in allowed for char in digits):
        return None
    return int(digits, base)


def _parse_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class GuardedResolver(AbstractResolver):
    """Resolves through another resolver (default: aiohttp's `DefaultResolver`) and returns only
    the addresses that are not blocked; aiohttp connects to exactly those. When none is left it
    raises `BlockedAddressError` (an `OSError`), which aiohttp reports as a connection error."""

    def __init__(self, resolver: AbstractResolver | None = None) -> None:
        self._resolver = resolver
        self._closed = False

    def _wrapped(self) -> AbstractResolver:
        if self._resolver is None:
            # Created on first use: aiohttp's resolvers want a running event loop.
            self._resolver = DefaultResolver()
        return self._resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._wrapped().resolve(host, port, family)
        allowed = [result for result in results if _result_allowed(result)]
        if not allowed:
            if not results:
                raise OSError(None, "host resolves to no address")
            raise BlockedAddressError("host resolves only to blocked addresses")
        return allowed

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._resolver is not None:
            await self._resolver.close()


def _result_allowed(result: ResolveResult) -> bool:
    address = _parse_address(result["host"])
    return address is not None and not is_blocked(address)


def _guarded_socket(
    addr_info: tuple[int, int, int, str, tuple[str, int] | tuple[str, int, int, int]],
) -> socket.socket:
    """aiohttp's `socket_factory`: called with the exact address of every connection attempt,
    including IP-literal hosts, which never reach the resolver."""
    family, type_, proto, _, sockaddr = addr_info
    address = _parse_address(sockaddr[0])
    if address is None or is_blocked(address):
        raise BlockedAddressError("connection to a blocked address refused")
    return socket.socket(family=family, type=type_, proto=proto)


class _GuardedConnector(aiohttp.TCPConnector):
    """A `TCPConnector` that also closes the resolver it was given (aiohttp closes only a
    resolver it created itself)."""

    def __init__(self, *, limit: int, resolver: GuardedResolver) -> None:
        super().__init__(
            limit=limit,
            use_dns_cache=False,
            resolver=resolver,
            socket_factory=_guarded_socket,
        )
        self._guarded_resolver = resolver

    async def close(self, *, abort_ssl: bool = False) -> None:
        try:
            await super().close(abort_ssl=abort_ssl)
        finally:
            await self._guarded_resolver.close()


def guarded_connector(*, allow_private: bool, limit: int) -> aiohttp.TCPConnector:
    """The connector of guarded requests: at most `limit` connections, no DNS cache (each new
    connection resolves afresh through the guard), and, unless `allow_private`, only
    non-blocked addresses resolved once and connected to as checked. Needs a running loop."""
    if allow_private:
        return aiohttp.TCPConnector(limit=limit, use_dns_cache=False)
    return _GuardedConnector(limit=limit, resolver=GuardedResolver())
