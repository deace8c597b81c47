"""Who the caller is behind a trusted proxy: `Forwarded` / `X-Forwarded-For` / `-Proto`.

A balancer that terminates TLS connects to us itself, so the socket's peer is the balancer and
the connection is plain HTTP. For a peer inside one of the `--trusted-proxy` networks, the
client address and scheme are read from the headers the proxy adds; from any other peer those
headers are ignored (anyone can send them). Walking the hop list from the right, every hop that
is itself a trusted proxy is skipped, and the first untrusted hop is the client: a client that
sends its own `X-Forwarded-For: 1.2.3.4` only adds a hop to the left of the one the proxy
appended, which is never reached.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable
from typing import Any

FORWARDING_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-forwarded-proto")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_network(text: str) -> Network:
    """`10.0.0.0/8`, `192.0.2.7` (one host) or `2001:db8::/32`; ValueError otherwise."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an address or CIDR network "
                         "(e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)") from None


def _address(text: str) -> Address | None:
    """An address from a hop: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:80`, `2001:db8::1`."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None  # "unknown", an obfuscated identifier ("_hidden"), garbage
    mapped = getattr(found, "ipv4_mapped", None)
    return mapped if mapped is not None else found


def _split_list(value: str) -> list[str]:
    """Split a header list on commas outside quoted strings."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


@dataclasses.dataclass(frozen=True)
class _Hop:
    """One hop a proxy recorded: who connected to it, and over which scheme (if it said)."""

    address: Address | None
    proto: str | None


def _forwarded_hops(value: str) -> list[_Hop]:
    """RFC 7239 `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]"`."""
    hops = []
    for element in _split_list(value):
        pairs: dict[str, str] = {}
        for pair in element.split(";"):
            key, sep, raw = pair.partition("=")
            if sep:
                pairs[key.strip().lower()] = raw.strip().strip('"')
        hops.append(_Hop(_address(pairs.get("for", "")), pairs.get("proto", "").lower() or None))
    return hops


def _x_forwarded_hops(for_value: str, proto_value: str | None) -> list[_Hop]:
    """`X-Forwarded-For: client, proxy1` with `X-Forwarded-Proto: https` (one value, or one
    per hop); a proto list of another length is ambiguous and counts as no scheme."""
    addresses = [_address(item) for item in _split_list(for_value)]
    protos = [p.lower() for p in _split_list(proto_value or "")]
    if len(protos) == 1:
        protos = protos * len(addresses)
    elif len(protos) != len(addresses):
        protos = []
    return [_Hop(a, protos[i] if protos else None) for i, a in enumerate(addresses)]


@dataclasses.dataclass(frozen=True)
class Caller:
    """The client as the service should see it."""

    ip: str  # the client's address (the socket peer unless a trusted proxy forwarded it)
    tls: bool | None  # the client's scheme was https (True) or http (False); None: not said
    proxy_ip: str | None  # the trusted proxy the request came through, if any


class ProxyTrust:
    """Resolves the caller from the socket peer and the forwarding headers."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self._networks = tuple(networks)

    def trusts(self, address: Address | str) -> bool:
        """Whether this address is one of the configured trusted proxies."""
        if isinstance(address, str):
            found = _address(address)
            if found is None:
                return False
            address = found
        return any(address.version == net.version and address in net for net in self._networks)

    def resolve(self, peer_ip: str, headers: dict[str, str]) -> Caller:
        """The caller for a request from `peer_ip` with these lower-cased headers."""
        if not self._networks or not self.trusts(peer_ip):
            return Caller(peer_ip, None, None)
        if "forwarded" in headers:
            hops = _forwarded_hops(headers["forwarded"])
        elif "x-forwarded-for" in headers:
            hops = _x_forwarded_hops(headers["x-forwarded-for"], headers.get("x-forwarded-proto"))
        else:
            proto = headers.get("x-forwarded-proto", "").strip().lower() or None
            return Caller(peer_ip, _scheme(proto), peer_ip if proto else None)
        client: _Hop | None = None
        for hop in reversed(hops):
            client = hop
            if hop.address is None or not self.trusts(hop.address):
                break
        if client is None or client.address is None:
            # The proxy forwarded nothing usable ("unknown", garbage): count the proxy itself.
            return Caller(peer_ip, _scheme(client.proto) if client else None, peer_ip)
        return Caller(str(client.address), _scheme(client.proto), peer_ip)


def _scheme(proto: str | None) -> bool | None:
    if proto == "https":
        return True
    if proto == "http":
        return False
    return None


def forwarding_headers(request: Any) -> dict[str, str]:
    """The forwarding headers of a twisted.web request, lower-cased, repeats joined by ", "."""
    found: dict[str, str] = {}
    for name in FORWARDING_HEADERS:
        values = request.requestHeaders.getRawHeaders(name)
        if values:
            found[name.decode()] = ", ".join(v.decode("latin-1") for v in values)
    return found
