"""The SSRF guard: the blocked ranges, URL checks, and the guarded aiohttp connector.

Nothing here contacts the internet: public addresses only ever come from a fake resolver, and
the end-to-end checks talk to a server on 127.0.0.1 (`localhost` resolves from /etc/hosts)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from shared import guard
from shared.guard import (
    BlockedAddressError,
    BlockedTarget,
    GuardedResolver,
    blocked_reason,
    check_url,
    guarded_connector,
    is_blocked,
)
from tests.support.local_http import serving

# (range, addresses inside it)
BLOCKED = [
    ("0.0.0.0/8", ["0.0.0.0", "0.255.255.255"]),
    ("10.0.0.0/8", ["10.0.0.1", "10.255.255.255"]),
    ("100.64.0.0/10 carrier-grade NAT", ["100.64.0.1", "100.127.255.254"]),
    ("127.0.0.0/8", ["127.0.0.1", "127.255.255.254"]),
    ("169.254.0.0/16 link-local, metadata", ["169.254.169.254", "169.254.0.1"]),
    ("172.16.0.0/12", ["172.16.0.1", "172.31.255.255"]),
    ("192.0.0.0/24", ["192.0.0.1", "192.0.0.170"]),
    ("192.0.2.0/24", ["192.0.2.1"]),
    ("192.88.99.0/24", ["192.88.99.1"]),
    ("192.168.0.0/16", ["192.168.0.1", "192.168.255.255"]),
    ("198.18.0.0/15", ["198.18.0.1", "198.19.255.255"]),
    ("198.51.100.0/24", ["198.51.100.7"]),
    ("203.0.113.0/24", ["203.0.113.9"]),
    ("224.0.0.0/4 multicast", ["224.0.0.1", "239.255.255.250"]),
    ("240.0.0.0/4 reserved, broadcast", ["240.0.0.1", "255.255.255.255"]),
    ("::", ["::"]),
    ("::1", ["::1"]),
    ("fe80::/10", ["fe80::1", "febf:ffff::1", "fe80::1%eth0"]),
    ("fc00::/7", ["fc00::1", "fdff:ffff::1", "fd00:ec2::254"]),
    ("ff00::/8", ["ff02::1", "ff0e::1"]),
    ("2001:db8::/32", ["2001:db8::1", "2001:db8:ffff::1"]),
    ("3fff::/20", ["3fff::1", "3fff:fff:ffff::1"]),
    ("100::/64", ["100::1"]),
    ("2002::/16 6to4", ["2002:7f00:1::1", "2002:5db8:d822::1"]),
    ("64:ff9b::/96 NAT64", ["64:ff9b::7f00:1", "64:ff9b::5db8:d822"]),
    ("64:ff9b:1::/48", ["64:ff9b:1::1"]),
    ("5f00::/16", ["5f00::1"]),
    ("2001::/32 Teredo", ["2001:0:4136:e378:8000:63bf:3fff:fdd2"]),
    ("IPv4-mapped", ["::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254"]),
    ("IPv4-mapped", ["::ffff:100.64.0.1", "::ffff:255.255.255.255", "::ffff:0.0.0.0"]),
    ("IPv4-compatible", ["::127.0.0.1", "::10.0.0.1", "::169.254.169.254"]),
    ("IPv4-translated", ["::ffff:0:7f00:1", "::ffff:0:5db8:d822"]),
]

PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:81c::200e",
    "::ffff:93.184.216.34",
    # just outside the blocked ranges
    "1.0.0.0",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.0",
    "192.0.3.0",
    "192.88.98.255",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "203.0.112.255",
    "223.255.255.255",
    "2001:200::1",
    "2003::1",
    "3fff:1000::1",
]


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(address, id=f"{label}: {address}")
        for label, inside in BLOCKED
        for address in inside
    ],
)
def test_blocked_ranges(address: str) -> None:
    assert is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert not is_blocked(ipaddress.ip_address(address))
    assert blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("::1", "loopback address"),
        ("::ffff:127.0.0.1", "loopback address"),
        ("169.254.169.254", "link-local address"),
        ("10.0.0.1", "private address"),
        ("100.64.0.1", "carrier-grade NAT address"),
        ("255.255.255.255", "broadcast address"),
        ("fd00:ec2::254", "unique local address"),
    ],
)
def test_reason_names_the_address_class(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


# --- check_url ---------------------------------------------------------------------------------

# Refused whatever allow_private says.
BAD_SCHEME_OR_HOST = [
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://example.com/",
    "ws://example.com/",
    "example.com/hook",
    "//example.com/hook",
    "",
    "http://",
    "http:///hook",
    "https://:443/hook",
    "http://[::1/",
    "http://example.com:99999/",
]

# Refused unless allow_private.
PRIVATE_TARGETS = [
    # 127.0.0.1
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0X7F000001/",
    "http://017700000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0x7f.1/",
    "http://0x7f.0.0.0x1/",
    "http://127.0.0.1./",
    "http://127.0.0.1:8080/hook",
    "http://user:secret@127.0.0.1/",
    # 169.254.169.254
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://025177524776/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://169.16689662/",
    "http://0xa9.0xfe.0xa9fe/",
    "http://0xa9.254.169.0376/",
    # other ranges, IPv6
    "http://0/",
    "http://10.1.2.3/",
    "https://192.168.1.1/",
    "http://[::1]/",
    "http://[::1]:8080/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1%25eth0]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    # names
    "http://localhost/",
    "http://LOCALHOST:8080/",
    "http://localhost./",
    "http://sub.localhost/",
    "http://a.b.localhost./",
    # numeric-looking hosts that are no valid address are not handed to DNS
    "http://1.2.3.4.5/",
    "http://4294967296/",
    "http://256.0.0.1/",
    "http://08.0.0.1/",
    "http://0x7g.1/",
    "http://example.123/",
    "http://%31%32%37.0.0.1/",
]

PUBLIC_URLS = [
    "https://example.com/hooks/plaudit",
    "http://example.com:8080/x?y=1",
    "HTTPS://Example.COM/",
    "http://93.184.216.34/",
    "http://[2606:4700::1111]:8443/",
    "https://localhost.example.com/",
    "https://127.0.0.1.example.com/",  # a name: its resolved address is checked at send time
    "https://1e100.net/",
    # Legacy notation of a public address: not blocked (aiohttp itself then refuses to connect
    # to non-canonical IPv4 hosts).
    "http://1572395042/",
]


@pytest.mark.parametrize("url", BAD_SCHEME_OR_HOST)
@pytest.mark.parametrize("allow_private", [False, True])
def test_scheme_and_host_are_required(url: str, allow_private: bool) -> None:
    with pytest.raises(BlockedTarget):
        check_url(url, allow_private=allow_private)


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(BlockedTarget):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", [u for u in PRIVATE_TARGETS if "%31" not in u])
def test_private_targets_pass_with_allow_private(url: str) -> None:
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", PUBLIC_URLS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_public_urls_pass(url: str, allow_private: bool) -> None:
    check_url(url, allow_private=allow_private)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "scheme must be http or https"),
        ("http:///x", "URL has no host"),
        ("http://0x7f000001/", "loopback address"),
        ("http://[fd00:ec2::254]/", "unique local address"),
        ("http://0xa9fea9fe/", "link-local address"),
        ("http://sub.localhost/", "localhost name"),
        ("http://1.2.3.4.5/", "malformed IP address literal"),
    ],
)
def test_refusals_carry_a_safe_reason(url: str, reason: str) -> None:
    with pytest.raises(BlockedTarget) as caught:
        check_url(url, allow_private=False)
    assert caught.value.reason == reason
    assert str(caught.value) == reason


def test_reason_does_not_echo_credentials() -> None:
    with pytest.raises(BlockedTarget) as caught:
        check_url("http://user:s3cret@10.0.0.1/?token=abc", allow_private=False)
    assert "s3cret" not in str(caught.value)
    assert "abc" not in str(caught.value)


# --- GuardedResolver ---------------------------------------------------------------------------


class FakeResolver(AbstractResolver):
    """Answers from a table; never touches DNS."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int, socket.AddressFamily]] = []
        self.closed = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append((host, port, family))
        if host not in self.table:
            raise OSError(None, f"unknown host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        self.closed += 1


MIXED = [
    "127.0.0.1",
    "93.184.216.34",
    "169.254.169.254",
    "::1",
    "2606:4700::1111",
    "fd00:ec2::254",
    "::ffff:10.0.0.1",
    "10.1.2.3",
    "fe80::1%eth0",
    "not-an-address",
    "8.8.8.8",
]


async def test_resolver_keeps_only_allowed_addresses() -> None:
    fake = FakeResolver({"hook.example": MIXED})
    resolver = GuardedResolver(fake)
    results = await resolver.resolve("hook.example", 443, socket.AF_UNSPEC)
    assert [result["host"] for result in results] == ["93.184.216.34", "2606:4700::1111", "8.8.8.8"]
    assert all(result["port"] == 443 and result["hostname"] == "hook.example" for result in results)
    assert fake.calls == [("hook.example", 443, socket.AF_UNSPEC)]


async def test_resolver_refuses_when_only_blocked_addresses_remain() -> None:
    fake = FakeResolver({"rebind.example": ["127.0.0.1", "169.254.169.254", "::1", "fc00::5"]})
    resolver = GuardedResolver(fake)
    with pytest.raises(OSError, match="resolves only to blocked addresses") as caught:
        await resolver.resolve("rebind.example", 80)
    assert isinstance(caught.value, BlockedAddressError)
    assert isinstance(caught.value, BlockedTarget)
    # the internal addresses are not echoed back (they would end up in the delivery log)
    assert "127.0.0.1" not in str(caught.value)
    assert "169.254" not in str(caught.value)


async def test_resolver_refuses_an_empty_answer() -> None:
    resolver = GuardedResolver(FakeResolver({"empty.example": []}))
    with pytest.raises(OSError, match="no address"):
        await resolver.resolve("empty.example", 80)


async def test_resolver_passes_wrapped_errors_through() -> None:
    resolver = GuardedResolver(FakeResolver({}))
    with pytest.raises(OSError, match="unknown host"):
        await resolver.resolve("nowhere.example", 80)


async def test_resolver_close_closes_the_wrapped_resolver_once() -> None:
    fake = FakeResolver({})
    resolver = GuardedResolver(fake)
    await resolver.close()
    await resolver.close()
    assert fake.closed == 1


async def test_default_wrapped_resolver_is_aiohttps() -> None:
    resolver = GuardedResolver()
    results = await resolver.resolve("93.184.216.34", 80)  # numeric: no DNS query is made
    assert [result["host"] for result in results] == ["93.184.216.34"]
    assert isinstance(resolver._resolver, aiohttp.resolver.DefaultResolver)
    await resolver.close()


# --- guarded_connector, end to end -------------------------------------------------------------


@pytest.fixture
async def local_port() -> AsyncIterator[int]:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="reached")

    app = web.Application()
    app.router.add_get("/", hello)
    async with serving(app) as url:
        yield URL(url).port or 0


async def test_connector_settings() -> None:
    for allow_private in (False, True):
        connector = guarded_connector(allow_private=allow_private, limit=4)
        try:
            assert connector.limit == 4
            assert not connector.use_dns_cache
        finally:
            await connector.close()


async def test_guarded_connector_refuses_localhost(local_port: int) -> None:
    connector = guarded_connector(allow_private=False, limit=4)
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectionError) as caught:
            await session.get(f"http://localhost:{local_port}/", allow_redirects=False)
    assert isinstance(caught.value, aiohttp.ClientConnectorError)
    assert isinstance(caught.value.os_error, BlockedAddressError)
    assert "blocked addresses" in str(caught.value)


async def test_guarded_connector_refuses_ip_literals_at_dial_time(local_port: int) -> None:
    # IP-literal hosts skip the resolver; the socket factory still refuses them.
    connector = guarded_connector(allow_private=False, limit=4)
    async with aiohttp.ClientSession(connector=connector) as session:
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]"):
            with pytest.raises(aiohttp.ClientConnectionError) as caught:
                await session.get(f"http://{host}:{local_port}/", allow_redirects=False)
            assert isinstance(caught.value, aiohttp.ClientConnectorError)
            assert isinstance(caught.value.os_error, BlockedAddressError)


async def test_allow_private_reaches_localhost(local_port: int) -> None:
    connector = guarded_connector(allow_private=True, limit=4)
    async with aiohttp.ClientSession(connector=connector) as session:
        for host in ("localhost", "127.0.0.1"):
            async with session.get(f"http://{host}:{local_port}/") as response:
                assert response.status == 200
                assert await response.text() == "reached"


async def test_rebinding_name_is_refused_and_resolver_closed(
    local_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant's name that resolves to internal addresses (DNS rebinding, nip.io-style) is
    resolved once, filtered, and never connected to; closing the session closes the resolver."""
    fake = FakeResolver({"hook.example": ["127.0.0.1", "::1", "169.254.169.254"]})
    monkeypatch.setattr(guard, "DefaultResolver", lambda: fake)
    connector = guarded_connector(allow_private=False, limit=4)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(2):  # no DNS cache: every new connection asks the resolver again
            with pytest.raises(aiohttp.ClientConnectorError) as caught:
                await session.get(f"http://hook.example:{local_port}/", allow_redirects=False)
            assert isinstance(caught.value.os_error, BlockedAddressError)
    assert [call[0] for call in fake.calls] == ["hook.example", "hook.example"]
    assert fake.closed == 1
