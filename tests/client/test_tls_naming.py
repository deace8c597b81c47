"""TLS keywords named as in httpx (verify=, cert=), the signing key named apart, old names kept
with a DeprecationWarning; against a real HTTPS server that requires a client certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import AsyncHighwayClient, HighwayClient, Observation, errors
from tests.conftest import RunningServer, start_server
from tests.security.live import LivePki, make_accounts, make_pki, observation_count


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LivePki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: LivePki) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("tls-naming")
    make_accounts(workdir / "highway.db", pki)
    cert, key = pki.files("server")
    running = start_server(workdir, "--tls-cert", cert, "--tls-key", key,
                           "--client-ca", pki.ca_file, "--wss-ca", pki.ca_file)
    yield running
    running.stop()


def _observation(sensor: str) -> Observation:
    return Observation(sensor, "192-EB-01",
                       dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30), 44.0)


def test_verify_and_cert_pair(server: RunningServer, pki: LivePki) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names warn about nothing
        with HighwayClient(url=server.url, verify=pki.ca_file, cert=pki.files("acme")) as c:
            assert c.list_highways()


def test_cert_as_one_pem_file(server: RunningServer, pki: LivePki, tmp_path: Path) -> None:
    cert, key = pki.files("acme")
    combined = tmp_path / "acme-combined.pem"
    combined.write_bytes(Path(cert).read_bytes() + Path(key).read_bytes())
    with HighwayClient(url=server.url, verify=pki.ca_file, cert=str(combined)) as c:
        assert c.travel_times("192", "EB")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_skips_server_verification(server: RunningServer, pki: LivePki) -> None:
    with HighwayClient(url=server.url, verify=False, cert=pki.files("acme")) as c:
        assert c.list_highways()


def test_default_verify_refuses_a_private_ca(server: RunningServer, pki: LivePki) -> None:
    with HighwayClient(url=server.url, cert=pki.files("acme")) as c:
        with pytest.raises(errors.TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            c.list_highways()


def test_signing_key_named_apart_from_tls(server: RunningServer, pki: LivePki) -> None:
    before = observation_count(server)
    cert, key = pki.files("acme")
    with HighwayClient(url=server.url, verify=pki.ca_file, cert=(cert, key),
                       signing_cert=cert, signing_key=key) as c:
        assert c.report_observations([_observation("tls-naming-signed")]).accepted == 1
    assert observation_count(server) == before + 1


def test_old_keywords_work_and_name_the_new_ones(server: RunningServer, pki: LivePki) -> None:
    cert, key = pki.files("acme")
    with pytest.warns(DeprecationWarning) as caught:
        client = HighwayClient(url=server.url, ca=pki.ca_file, tls_client_cert=cert,
                               tls_client_key=key)
    texts = " | ".join(str(w.message) for w in caught)
    assert "verify=" in texts and "cert=(certfile, keyfile)" in texts
    with client:
        assert client.list_highways()


def test_old_signing_keywords(server: RunningServer, pki: LivePki) -> None:
    cert, key = pki.files("acme")
    before = observation_count(server)
    with pytest.warns(DeprecationWarning) as caught:
        client = HighwayClient(url=server.url, verify=pki.ca_file, cert=cert, key=key,
                               tls_client_cert=cert, tls_client_key=key)
    texts = " | ".join(str(w.message) for w in caught)
    assert "signing_cert=..., signing_key=..." in texts and "cert=(certfile" in texts
    with client:
        assert client.report_observations([_observation("tls-naming-old")]).accepted == 1
    assert observation_count(server) == before + 1
    assert client.options.signing_cert == cert and client.options.cert == (cert, key)


def test_misuse_is_a_clear_error(pki: LivePki, tmp_path: Path) -> None:
    cert, key = pki.files("acme")
    url = "https://127.0.0.1:1/soap"
    with pytest.raises(ValueError, match="no such file"):
        HighwayClient(url=url, verify=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="go together"):
        HighwayClient(url=url, signing_cert=cert)
    with pytest.raises(ValueError, match="not both"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        HighwayClient(url=url, cert=(cert, key), tls_client_cert=cert, tls_client_key=key)
    with pytest.raises(ValueError, match="not both"):
        HighwayClient(url=url, verify=False, ca=pki.ca_file)


def test_repr_masks_secrets(pki: LivePki) -> None:
    cert, key = pki.files("acme")
    client = HighwayClient(url="https://127.0.0.1:1/soap", username="alice",
                           password="hunter2-secret", verify=pki.ca_file, cert=(cert, key),
                           signing_cert=cert, signing_key=key)
    text = repr(client)
    assert "hunter2-secret" not in text and "password='***'" in text
    assert "signing_key='***'" in text and f"verify={pki.ca_file!r}" in text
    assert "hunter2-secret" not in repr(client.options)


def test_async_client_takes_the_same_tls_keywords(server: RunningServer, pki: LivePki) -> None:
    cert, key = pki.files("acme")
    before = observation_count(server)

    async def scenario() -> None:
        async with AsyncHighwayClient(url=server.url, verify=pki.ca_file, cert=(cert, key),
                                      signing_cert=cert, signing_key=key) as client:
            assert await client.list_highways()
            result = await client.report_observations([_observation("tls-naming-async")])
            assert result.accepted == 1
        async with AsyncHighwayClient(url=server.url, cert=(cert, key)) as client:
            with pytest.raises(errors.TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.list_highways()
        with pytest.warns(DeprecationWarning, match="verify="):
            old = AsyncHighwayClient(url=server.url, ca=pki.ca_file, cert=(cert, key))
        async with old:
            assert await old.travel_times("192", "EB")

    asyncio.run(scenario())
    assert observation_count(server) == before + 1
