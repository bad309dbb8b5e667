"""Which address counts as the client for throttling."""

import ipaddress

import pytest

from login_service.guard.client_address import client_address, client_network

PROXIES = [ipaddress.ip_network("10.0.0.0/8")]


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert client_address("198.51.100.1", "192.0.2.9", PROXIES) == "198.51.100.1"


def test_behind_a_trusted_proxy_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    assert client_address("10.0.0.2", "6.6.6.6, 192.0.2.9, 10.0.0.7", PROXIES) == "192.0.2.9"


def test_garbage_in_forwarded_for_stops_the_walk() -> None:
    assert client_address("10.0.0.2", "192.0.2.9, nonsense", PROXIES) == "10.0.0.2"


def test_no_peer_gives_a_stable_placeholder() -> None:
    assert client_address(None, None, PROXIES) == "unknown"


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", "unknown"),
    ],
)
def test_client_network_is_the_ipv4_address_or_the_ipv6_64(address: str, network: str) -> None:
    assert client_network(address) == network
