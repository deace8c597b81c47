"""Trusted proxies: who the caller is behind a balancer, and that nobody else can say so."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from twisted.internet.address import IPv4Address
from twisted.web.test.requesthelper import DummyRequest

from client import HighwayClient
from client.retry import NO_RETRY
from soap_service.frontdoor.forwarded import Caller, ProxyTrust, parse_network
from soap_service.settings_loader import ConfigError, add_setting_arguments, load_settings
from soap_service.web.listener import transport_info_factory
from tests.conftest import RunningServer
from tests.ops.ops_helpers import add_account, password_text_header
from tests.soap_helpers import RawResponse, envelope, request

TRUST = ProxyTrust([parse_network("10.0.0.0/8"), parse_network("2001:db8:1::/48")])
Factory = Callable[..., RunningServer]


@pytest.mark.parametrize(("peer", "headers", "expected"), [
    # From an untrusted peer every forwarding header is ignored.
    ("192.0.2.9", {"x-forwarded-for": "198.51.100.1", "x-forwarded-proto": "https"},
     Caller("192.0.2.9", None, None)),
    ("192.0.2.9", {"forwarded": "for=198.51.100.1;proto=https"}, Caller("192.0.2.9", None, None)),
    # One trusted proxy.
    ("10.0.0.5", {"x-forwarded-for": "198.51.100.1", "x-forwarded-proto": "https"},
     Caller("198.51.100.1", True, "10.0.0.5")),
    ("10.0.0.5", {"x-forwarded-for": "198.51.100.1", "x-forwarded-proto": "http"},
     Caller("198.51.100.1", False, "10.0.0.5")),
    # A client's own X-Forwarded-For is to the left of what the proxy appended: never reached.
    ("10.0.0.5", {"x-forwarded-for": "1.2.3.4, 198.51.100.1"},
     Caller("198.51.100.1", None, "10.0.0.5")),
    # Two trusted proxies: the rightmost untrusted hop is the client; proto per hop.
    ("10.0.0.5", {"x-forwarded-for": "6.6.6.6, 198.51.100.1, 10.0.0.7",
                  "x-forwarded-proto": "http, https, http"},
     Caller("198.51.100.1", True, "10.0.0.5")),
    # A proto list of another length is ambiguous: no scheme.
    ("10.0.0.5", {"x-forwarded-for": "198.51.100.1, 10.0.0.7", "x-forwarded-proto": "a, b, c"},
     Caller("198.51.100.1", None, "10.0.0.5")),
    # Every hop trusted: the leftmost.
    ("10.0.0.5", {"x-forwarded-for": "10.9.9.9, 10.0.0.7"}, Caller("10.9.9.9", None, "10.0.0.5")),
    # RFC 7239, quoted IPv6 with a port, and the proto of the client's own hop.
    ("10.0.0.5", {"forwarded": 'for="[2001:db8:2::1]:4711";proto=https, for=10.0.0.7;proto=http'},
     Caller("2001:db8:2::1", True, "10.0.0.5")),
    ("10.0.0.5", {"forwarded": "For=198.51.100.1:80;Proto=HTTPS"},
     Caller("198.51.100.1", True, "10.0.0.5")),
    # Forwarded wins over X-Forwarded-For when both are present.
    ("10.0.0.5", {"forwarded": "for=198.51.100.1", "x-forwarded-for": "198.51.100.2"},
     Caller("198.51.100.1", None, "10.0.0.5")),
    # Nothing usable forwarded: the proxy itself is the caller.
    ("10.0.0.5", {"forwarded": "for=unknown"}, Caller("10.0.0.5", None, "10.0.0.5")),
    ("10.0.0.5", {"forwarded": "for=_hidden;proto=https"}, Caller("10.0.0.5", True, "10.0.0.5")),
    ("10.0.0.5", {"x-forwarded-for": "not-an-ip"}, Caller("10.0.0.5", None, "10.0.0.5")),
    ("10.0.0.5", {"x-forwarded-for": "198.51.100.1, garbage"},
     Caller("10.0.0.5", None, "10.0.0.5")),
    ("10.0.0.5", {}, Caller("10.0.0.5", None, None)),
    ("10.0.0.5", {"x-forwarded-proto": "https"}, Caller("10.0.0.5", True, "10.0.0.5")),
    # IPv6 proxy, IPv4-mapped client.
    ("2001:db8:1::9", {"x-forwarded-for": "::ffff:198.51.100.3"},
     Caller("198.51.100.3", None, "2001:db8:1::9")),
    ("::ffff:10.0.0.5", {"x-forwarded-for": "198.51.100.1"},
     Caller("198.51.100.1", None, "::ffff:10.0.0.5")),
])
def test_caller_resolution(peer: str, headers: dict[str, str], expected: Caller) -> None:
    assert TRUST.resolve(peer, headers) == expected


def test_no_trusted_proxy_means_headers_never_count() -> None:
    caller = ProxyTrust([]).resolve("127.0.0.1", {"x-forwarded-for": "198.51.100.1",
                                                 "x-forwarded-proto": "https"})
    assert caller == Caller("127.0.0.1", None, None)


def _settings(*argv: str):  # noqa: ANN202
    parser = argparse.ArgumentParser()
    add_setting_arguments(parser)
    return load_settings(parser.parse_args(list(argv)), environ={})


def test_setting_validates_each_network() -> None:
    settings = _settings("--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.7")
    assert settings.frontdoor.trusted_proxies == ("10.0.0.0/8", "192.0.2.7")
    with pytest.raises(ConfigError, match="--trusted-proxy"):
        _settings("--trusted-proxy", "10.0.0.0/33")


def _dummy(peer: str, **headers: str) -> DummyRequest:
    request = DummyRequest([b"soap"])
    request.client = IPv4Address("TCP", peer, 40000)
    for name, value in headers.items():
        request.requestHeaders.addRawHeader(name.replace("_", "-").encode(), value.encode())
    return request


def test_transport_info_behind_a_tls_terminating_balancer() -> None:
    """On a public plain-HTTP listener, PasswordText is allowed only when a trusted proxy says
    the client used https; a proxied request is never treated as local."""
    info = transport_info_factory(_settings("--host", "0.0.0.0", "--trusted-proxy", "10.0.0.0/8"))
    via = info(_dummy("10.0.0.5", x_forwarded_for="198.51.100.1", x_forwarded_proto="https"))
    assert (via.peer_ip, via.is_tls, via.proxy_ip) == ("198.51.100.1", True, "10.0.0.5")
    spoofed = info(_dummy("192.0.2.9", x_forwarded_for="198.51.100.1", x_forwarded_proto="https"))
    assert (spoofed.peer_ip, spoofed.is_tls, spoofed.proxy_ip) == ("192.0.2.9", False, None)
    local = transport_info_factory(_settings("--trusted-proxy", "127.0.0.1"))
    direct = local(_dummy("127.0.0.1"))
    assert direct.is_loopback_listener and direct.proxy_ip is None
    proxied = local(_dummy("127.0.0.1", x_forwarded_for="198.51.100.1"))
    assert not proxied.is_loopback_listener and not proxied.is_tls


def test_live_per_ip_limit_and_access_log_behind_a_trusted_proxy(server_factory: Factory) -> None:
    server = server_factory("--no-require-auth", "--ip-rate-limit", "2/minute",
                            "--trusted-proxy", "127.0.0.1/32", "--log-format", "json")
    body = envelope("<t:ListHighways/>")
    for _ in range(2):
        assert request(server.url, body, headers={"X-Forwarded-For": "198.51.100.1"}).status == 200
    assert request(server.url, body, headers={"X-Forwarded-For": "198.51.100.1"}).status == 429
    # Another client behind the same balancer has a budget of its own.
    assert request(server.url, body, headers={"X-Forwarded-For": "198.51.100.2"}).status == 200
    lines = [json.loads(line) for line in server.log_text().splitlines()
             if line.startswith("{") and '"request"' in line]
    peers = {(line.get("peer"), line.get("proxy")) for line in lines if "peer" in line}
    assert ("198.51.100.2", "127.0.0.1") in peers


def test_live_untrusted_peer_cannot_pick_its_address(server_factory: Factory) -> None:
    server = server_factory("--no-require-auth", "--ip-rate-limit", "2/minute",
                            "--trusted-proxy", "10.0.0.0/8")
    body = envelope("<t:ListHighways/>")
    statuses = [request(server.url, body, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status
                for i in range(3)]
    assert statuses == [200, 200, 429]  # all counted against 127.0.0.1


def test_live_password_text_through_a_proxy_needs_https_at_the_proxy(
        server_factory: Factory, tmp_path: Path) -> None:
    db = tmp_path / "accounts.db"
    add_account(db, "alice", "reader", "alice-secret-1")
    server = server_factory("--trusted-proxy", "127.0.0.1", db=db)

    def text_request(**headers: str) -> RawResponse:
        header = password_text_header("alice", "alice-secret-1", os.urandom(16))
        return request(server.url, envelope("<t:ListHighways/>", header=header),
                       headers=headers)

    plain = text_request(**{"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "http"})
    assert plain.status == 500 and plain.fault()[0] == "wsse:InvalidSecurity"
    assert "cleartext" not in plain.body.decode()  # the reason is logged, not sent
    tls = text_request(**{"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"})
    assert tls.status == 200, tls.body
    # A local tool calling the loopback listener directly keeps the loopback allowance.
    with HighwayClient(url=server.url, username="alice", password="alice-secret-1",
                       retry=NO_RETRY) as client:
        assert client.list_highways()
