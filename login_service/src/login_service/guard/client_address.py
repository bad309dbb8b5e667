"""The client's address: the socket peer, or X-Forwarded-For behind trusted proxies only."""

import ipaddress
from collections.abc import Sequence

from login_service.config import IpNetwork


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: bare, `ip:port`, `[v6]` or `[v6]:port`; an
    IPv4-mapped IPv6 address (a dual-stack socket's peer) as the IPv4 one."""
    text = value.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # IPv4 with a port; an IPv6 address has several colons
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


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


# The key every client whose forwarded address cannot be read shares: never the proxy's own
# address (one bad header would then throttle everyone behind it), never a value it wrote.
UNPARSEABLE_CLIENT = "unparseable"


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[IpNetwork]
) -> str:
    """Walk X-Forwarded-For from the right while hops are trusted proxies.

    `forwarded_for` holds the header's lines in the order received; as one list (RFC 9110,
    5.3), their hops in order. The first untrusted hop is the client; a hop that is no
    address, reached before any untrusted one, makes the client UNPARSEABLE_CLIENT. Without
    a trusted peer the header is ignored: anyone can write it.
    """
    peer_address = _parse(peer) if peer else None
    if peer_address is None:
        return peer or "unknown"
    hops = [hop for line in forwarded_for for hop in line.split(",")]
    if not hops or not _trusted(peer_address, trusted_proxies):
        return str(peer_address)
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return UNPARSEABLE_CLIENT
        if not _trusted(address, trusted_proxies):
            return str(address)
    # Every hop is a trusted proxy: the leftmost one is the nearest to the client there is.
    leftmost = _parse(hops[0])
    return str(leftmost)
