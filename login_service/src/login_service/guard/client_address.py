"""The client's address: the socket peer, or X-Forwarded-For behind trusted proxies only."""

import ipaddress
from collections.abc import Sequence

from login_service.config import IpNetwork


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[IpNetwork]
) -> bool:
    return any(address in network for network in proxies)


IPV6_CLIENT_PREFIX = 64


def client_network(address: str) -> str:
    """The key of a client for throttling and remembered networks: an IPv4 address as is,
    an IPv6 address by its /64 (one subscriber's prefix: rotating within it buys nothing)."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        network = ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(parsed) if parsed is not None else address


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IpNetwork]
) -> str:
    """Walk X-Forwarded-For from the right while hops are trusted proxies.

    The first untrusted hop is the client. Without a trusted peer the header is
    ignored: anyone can write it.
    """
    peer_address = _parse(peer) if peer else None
    if peer_address is None:
        return peer or "unknown"
    if not forwarded_for or not _trusted(peer_address, trusted_proxies):
        return str(peer_address)
    current = peer_address
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, trusted_proxies):
            break
    return str(current)
