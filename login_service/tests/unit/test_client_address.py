"""Which address counts as the client for throttling."""

import ipaddress

import pytest

from login_service.guard.client_address import (
    UNPARSEABLE_CLIENT,
    client_address,
    client_network,
)

PROXIES = [ipaddress.ip_network("10.0.0.0/8")]


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert client_address("198.51.100.1", ["192.0.2.9"], PROXIES) == "198.51.100.1"


def test_behind_a_trusted_proxy_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    assert client_address("10.0.0.2", ["6.6.6.6, 192.0.2.9, 10.0.0.7"], PROXIES) == "192.0.2.9"


def test_a_client_behind_two_proxies_is_keyed_by_its_own_address_whatever_it_forged() -> None:
    # The load balancer (10.0.0.7) appended the client's address; the client wrote the rest.
    honest = client_address("10.0.0.2", ["192.0.2.9, 10.0.0.7"], PROXIES)
    forged = client_address("10.0.0.2", ["203.0.113.66, 10.9.9.9, 192.0.2.9, 10.0.0.7"], PROXIES)
    assert honest == forged == "192.0.2.9"


def test_every_header_line_counts_in_order_as_one_list() -> None:
    lines = ["203.0.113.66", "192.0.2.9", "10.0.0.7"]
    assert client_address("10.0.0.2", lines, PROXIES) == "192.0.2.9"
    assert client_address("10.0.0.2", ["192.0.2.9", "10.0.0.7, 10.0.0.8"], PROXIES) == "192.0.2.9"


def test_a_hop_that_is_no_address_makes_one_shared_client_never_the_proxy() -> None:
    assert client_address("10.0.0.2", ["192.0.2.9, nonsense"], PROXIES) == UNPARSEABLE_CLIENT
    assert client_address("10.0.0.2", ["nonsense, 10.0.0.7"], PROXIES) == UNPARSEABLE_CLIENT
    # Beyond the first untrusted hop nothing is read: a client's own garbage changes nothing.
    assert client_address("10.0.0.2", ["nonsense, 192.0.2.9"], PROXIES) == "192.0.2.9"


def test_only_trusted_hops_name_the_leftmost_proxy() -> None:
    assert client_address("10.0.0.2", ["10.1.1.1, 10.0.0.7"], PROXIES) == "10.1.1.1"


def test_no_peer_gives_a_stable_placeholder() -> None:
    assert client_address(None, [], PROXIES) == "unknown"


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


@pytest.mark.parametrize(
    "written",
    ["192.0.2.9:51234", "[2001:db8::9]:443", "[2001:db8::9]", "::ffff:192.0.2.9"],
)
def test_hops_written_with_ports_brackets_or_mapped_are_read_as_their_address(
    written: str,
) -> None:
    expected = written.strip("[]").rsplit("]", 1)[0] if written.startswith("[") else "192.0.2.9"
    assert client_address("10.0.0.2", [f"{written}, 10.0.0.7:8443"], PROXIES) == expected


def test_a_dual_stack_peer_is_matched_against_ipv4_proxies() -> None:
    assert client_address("::ffff:10.0.0.2", ["192.0.2.9"], PROXIES) == "192.0.2.9"
