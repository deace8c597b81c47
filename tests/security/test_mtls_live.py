"""Mutual TLS over the wire: HTTPS with a required client certificate mapped to a principal."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from client import errors
from client.client import HighwayClient
from client.models import Observation
from tests.conftest import RunningServer, start_server
from tests.security.live import PASSWORDS, LivePki, make_accounts, make_pki, observation_count


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LivePki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: LivePki) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("tls-server")
    make_accounts(workdir / "highway.db", pki)
    cert, key = pki.files("server")
    running = start_server(workdir, "--tls-cert", cert, "--tls-key", key,
                           "--client-ca", pki.ca_file, "--wss-ca", pki.ca_file)
    yield running
    running.stop()


def mtls_client(server: RunningServer, pki: LivePki, who: str, **kwargs: object) -> HighwayClient:
    cert, key = pki.files(who)
    return HighwayClient(url=server.url, tls_client_cert=cert, tls_client_key=key,
                         ca=pki.ca_file, **kwargs)  # type: ignore[arg-type]


def test_server_speaks_https(server: RunningServer) -> None:
    assert server.url.startswith("https://127.0.0.1:")


def test_client_certificate_is_the_principal(server: RunningServer, pki: LivePki) -> None:
    before = observation_count(server)
    observed = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=20)
    with mtls_client(server, pki, "acme") as client:
        assert client.list_highways()
        result = client.report_observations([Observation("mtls-1", "192-EB-01", observed, 50)])
    assert result.accepted == 1 and observation_count(server) == before + 1


def test_certificate_and_username_token_of_the_same_principal(
    server: RunningServer, pki: LivePki
) -> None:
    with mtls_client(server, pki, "bob", username="bob", password=PASSWORDS["bob"]) as client:
        assert client.list_highways()


def test_mismatched_identities(server: RunningServer, pki: LivePki) -> None:
    with mtls_client(server, pki, "bob", username="alice", password=PASSWORDS["alice"]) as c:
        with pytest.raises(errors.AuthenticationError) as info:
            c.list_highways()
    assert info.value.code == "wsse:FailedAuthentication"


def test_client_certificate_is_required(server: RunningServer, pki: LivePki) -> None:
    with HighwayClient(url=server.url, ca=pki.ca_file, username="alice",
                       password=PASSWORDS["alice"]) as client:
        with pytest.raises(errors.TransportError):
            client.list_highways()


def test_certificate_from_another_ca_is_refused(server: RunningServer, pki: LivePki) -> None:
    with mtls_client(server, pki, "stranger") as client, pytest.raises(errors.TransportError):
        client.list_highways()


def test_expired_client_certificate_is_refused(server: RunningServer, pki: LivePki) -> None:
    with mtls_client(server, pki, "expired") as client, pytest.raises(errors.TransportError):
        client.list_highways()


def test_password_text_over_tls(server: RunningServer, pki: LivePki) -> None:
    # TLS with bob's certificate plus bob's PasswordText: both checks pass, same principal.
    with mtls_client(server, pki, "bob", username="bob", password=PASSWORDS["bob"]) as client:
        assert client.travel_times("192")
