"""The client address behind trusted proxies (services/gateway/client_address.py): the peer's
unless it is trusted, then the nearest forwarded address that is not a trusted proxy; what a
client writes into X-Forwarded-For itself never counts."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from services.gateway.client_address import client_address
from shared.config import parse_networks


def address(peer: str, *forwarded: str, trusted: str = "10.0.0.0/8, 127.0.0.1, fd00::/8") -> str:
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded)
    request = make_mocked_request("POST", "/public/verify", headers=headers).clone(remote=peer)
    return client_address(request, parse_networks(trusted))


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert address("203.0.113.5", "198.51.100.9", trusted="") == "203.0.113.5"
    assert address("10.0.0.2", "198.51.100.9", trusted="") == "10.0.0.2"


def test_a_peer_that_is_no_trusted_proxy_is_the_client() -> None:
    assert address("203.0.113.5", "198.51.100.9") == "203.0.113.5"


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client() -> None:
    assert address("10.0.0.2", "203.0.113.5") == "203.0.113.5"


def test_what_the_client_wrote_itself_is_never_believed() -> None:
    # The client sent "X-Forwarded-For: 198.51.100.9"; the ingress appended its real address.
    assert address("10.0.0.2", "198.51.100.9, 203.0.113.5") == "203.0.113.5"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    assert address("127.0.0.1", "198.51.100.9, 203.0.113.5, 10.1.2.3") == "203.0.113.5"
    # Proxies that each add a header of their own: the headers in order, as one list.
    assert address("127.0.0.1", "198.51.100.9, 203.0.113.5", "10.1.2.3") == "203.0.113.5"


def test_only_trusted_hops_give_the_farthest_of_them() -> None:
    assert address("10.0.0.2", "10.9.9.9") == "10.9.9.9"
    assert address("10.0.0.2") == "10.0.0.2"


def test_an_entry_that_is_no_address_stops_at_the_last_trusted_hop() -> None:
    assert address("10.0.0.2", "203.0.113.5, unknown") == "10.0.0.2"
    assert address("10.0.0.2", "garbage, 10.3.3.3") == "10.3.3.3"


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        ("203.0.113.5:4711", "203.0.113.5"),
        ("[2001:db8::1]:4711", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        (" 203.0.113.5 ", "203.0.113.5"),
    ],
)
def test_addresses_as_proxies_write_them(forwarded: str, client: str) -> None:
    assert address("fd00::7", forwarded) == client


def test_an_ipv4_peer_on_an_ipv6_socket_is_matched_as_ipv4() -> None:
    assert address("::ffff:127.0.0.1", "203.0.113.5") == "203.0.113.5"
