"""tasks.fetching.addresses without a server: the edges bench/mutation.py found untested (the
IPv4-compatible range's bounds, an IPv4-mapped address allowed by an IPv4 rule, a host name's
trailing dot)."""

from __future__ import annotations

import ipaddress

import pytest

from tasks.fetching.addresses import allowance_rules, classify


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("::2", "an unspecified address in IPv6 form"),  # ::0.0.0.2, the first IPv4-compatible address
        ("::1:0:0", "a reserved address"),  # one bit above the 32 of an IPv4-compatible address
        ("::ffff:0:0", "an unspecified address in IPv6 form"),
    ],
)
def test_the_ipv4_compatible_range_ends_where_32_bits_do(address: str, refused: str) -> None:
    assert classify(ipaddress.ip_address(address)) == refused


def test_an_ipv4_rule_allows_the_same_host_in_ipv4_mapped_form() -> None:
    (rule,) = allowance_rules(("10.0.0.0/8",))
    assert rule.matches("x", 80, ipaddress.ip_address("::ffff:10.1.2.3"))
    assert not rule.matches("x", 80, ipaddress.ip_address("::ffff:11.1.2.3"))
    assert not rule.matches("x", 80, ipaddress.ip_address("2001:4860::1"))


@pytest.mark.parametrize(("host", "allowed"), [("Intranet.Example.", True), ("intranet.example", True), (".x", False)])
def test_a_host_rule_ignores_case_and_the_trailing_dot(host: str, allowed: bool) -> None:
    (rule,) = allowance_rules(("intranet.example:8080",))
    assert rule.matches(host, 8080, ipaddress.ip_address("10.0.0.1")) is allowed
    assert not rule.matches(host, 8081, ipaddress.ip_address("10.0.0.1"))
