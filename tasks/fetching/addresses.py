"""Which addresses a fetch may connect to: the ranges that are internal (private, loopback,
link-local and cloud metadata, reserved; IPv6 forms that embed an IPv4 host are judged as that
host), and the operator's explicit allowance of internal hosts (intranet sources, tests).

Pure rules over addresses: tasks.fetching.netguard applies them to each address actually
connected to."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- which addresses are internal ----------------------------------------------------------------

_V4_BLOCKED: list[tuple[IPNetwork, str]] = [
    (ipaddress.ip_network(net), label)
    for net, label in [
        ("0.0.0.0/8", "an unspecified address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.169.254/32", "a link-local (cloud metadata) address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a reserved address"),
        ("192.0.2.0/24", "a reserved (documentation) address"),
        ("192.88.99.0/24", "a reserved address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a reserved (benchmarking) address"),
        ("198.51.100.0/24", "a reserved (documentation) address"),
        ("203.0.113.0/24", "a reserved (documentation) address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # 255.255.255.255 included
    ]
]
_V6_BLOCKED: list[tuple[IPNetwork, str]] = [
    (ipaddress.ip_network(net), label)
    for net, label in [
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/8", "a reserved address"),
        ("64:ff9b:1::/48", "a private (local NAT64) address"),
        ("100::/64", "a reserved (discard) address"),
        ("2001::/23", "a reserved address"),  # IETF assignments, Teredo included
        ("2001:db8::/32", "a reserved (documentation) address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    ]
]


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: mapped, compatible, NAT64 or 6to4 forms all lead to
    the IPv4 host they embed, so they must be judged as that host."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (deprecated IPv4-compatible)
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def classify(ip: IPAddress) -> str | None:
    """Why `ip` must not be fetched ("a private address", ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_unspecified or ip.is_loopback:
            return "an unspecified address" if ip.is_unspecified else "a loopback address"
        inner = _embedded_v4(ip)
        if inner is not None:
            why = classify(inner)
            return f"{why} in IPv6 form" if why else None
    for net, label in _V4_BLOCKED if ip.version == 4 else _V6_BLOCKED:
        if ip in net:
            return label
    # Anything else the stdlib does not call global (new special-purpose ranges) is refused too.
    return None if ip.is_global else "a non-public address"


# --- the explicit allowance (intranet sources, tests) --------------------------------------------


@dataclass(frozen=True)
class AllowRule:
    """One entry of the allowance: a network or a host name, on any port or on one."""

    net: IPNetwork | None
    host: str | None
    port: int | None

    def matches(self, host: str, port: int, ip: IPAddress) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.host is not None:
            return host.lower().rstrip(".") == self.host
        assert self.net is not None
        v4 = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return ip in self.net or (v4 is not None and v4 in self.net)


def split_allowance(text: str) -> tuple[str, ...]:
    """Split "a, b c" into ("a", "b", "c")."""
    return tuple(part for part in re.split(r"[,\s]+", text) if part)


@functools.lru_cache(maxsize=64)
def allowance_rules(entries: tuple[str, ...]) -> tuple[AllowRule, ...]:
    """Hosts ("intranet.example"), host:port pairs ("127.0.0.1:8080", "[::1]:8080") or CIDRs
    ("10.1.0.0/16"). A bare IP is a one-address CIDR. ValueError names a bad entry."""
    rules = []
    for entry in entries:
        target, port = entry, None
        bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
        if bracketed:
            target, port = bracketed[1], int(bracketed[2]) if bracketed[2] else None
        elif entry.count(":") == 1:  # host:port or v4/cidr:port; more colons is bare IPv6
            target, _, port_text = entry.partition(":")
            if not port_text.isdigit():
                raise ValueError(f"allow_private: bad port in {entry!r}")
            port = int(port_text)
        try:
            rules.append(AllowRule(ipaddress.ip_network(target, strict=False), None, port))
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", target) or "/" in target:
                raise ValueError(f"allow_private: not a host, host:port or CIDR: {entry!r}") from None
            rules.append(AllowRule(None, target.lower().rstrip("."), port))
    return tuple(rules)


def check_allowance(entries: tuple[str, ...]) -> None:
    """Raise ValueError naming the first bad entry of an allowance (see allowance_rules)."""
    allowance_rules(entries)
