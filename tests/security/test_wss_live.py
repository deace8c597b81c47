"""WS-Security over the wire: the real client against the real server on loopback HTTP."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from lxml import etree

from client import errors
from client.client import HighwayClient
from client.models import Observation
from client.wsse import TimestampSigner, UsernameTokenSigner, X509Signer
from tests.conftest import ROOT, RunningServer, start_server
from tests.security.live import PASSWORDS, LivePki, make_accounts, make_pki, observation_count
from tests.soap_helpers import SOAP11, envelope, request, travel_times_body

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LivePki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: LivePki) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("server")
    make_accounts(workdir / "highway.db", pki)
    running = start_server(workdir, "--wss-ca", pki.ca_file)
    yield running
    running.stop()


def client(server: RunningServer, **kwargs: object) -> HighwayClient:
    return HighwayClient(url=server.url, **kwargs)  # type: ignore[arg-type]


def observation(sensor: str) -> Observation:
    return Observation(sensor, "192-EB-01", NOW - datetime.timedelta(seconds=30), 55.0)


def report_envelope(sensor: str) -> etree._Element:
    body = (
        f"<t:ReportObservations><t:observation><t:sensorId>{sensor}</t:sensorId>"
        "<t:segmentId>192-EB-01</t:segmentId>"
        f"<t:observedAt>{NOW:%Y-%m-%dT%H:%M:%SZ}</t:observedAt><t:speedKph>40</t:speedKph>"
        "</t:observation></t:ReportObservations>"
    )
    return etree.fromstring(envelope(body))


def post(server: RunningServer, root: etree._Element) -> tuple[int, str]:
    response = request(server.url, etree.tostring(root))
    code = response.fault()[0] if response.status != 200 else ""
    return response.status, code


def test_password_text(server: RunningServer) -> None:
    with client(server, username="alice", password=PASSWORDS["alice"]) as c:
        assert c.list_highways()
        assert c.travel_times("192", "EB")


def test_password_digest_can_report(server: RunningServer) -> None:
    before = observation_count(server)
    with client(server, username="dave", password=PASSWORDS["dave"], digest=True) as c:
        assert c.report_observations([observation("live-digest")]).accepted == 1
    assert observation_count(server) == before + 1


def test_x509_signature_can_report(server: RunningServer, pki: LivePki) -> None:
    cert, key = pki.files("acme")
    with client(server, cert=cert, key=key) as c:
        assert c.report_observations([observation("live-signed")]).accepted == 1


def test_no_credentials(server: RunningServer) -> None:
    with client(server) as c, pytest.raises(errors.AuthenticationError) as info:
        c.list_highways()
    assert info.value.code == "wsse:InvalidSecurity" and info.value.correlation_id


def test_wrong_password_and_unknown_user_look_alike(server: RunningServer) -> None:
    messages = set()
    for user, password in (("alice", "wrong-password"), ("mallory", "whatever-pw")):
        with client(server, username=user, password=password) as c:
            with pytest.raises(errors.AuthenticationError) as info:
                c.list_highways()
        assert info.value.code == "wsse:FailedAuthentication"
        messages.add(info.value.message)
    assert len(messages) == 1
    assert "wrong-password" not in server.log_text()


def test_reader_may_not_report_and_nothing_is_stored(server: RunningServer) -> None:
    before = observation_count(server)
    with client(server, username="alice", password=PASSWORDS["alice"]) as c:
        with pytest.raises(errors.NotAuthorizedError) as info:
            c.report_observations([observation("live-reader")])
    assert info.value.code == "Client.NotAuthorized"
    assert observation_count(server) == before


def test_soapaction_does_not_authorize(server: RunningServer) -> None:
    """A reader's write with a read SOAPAction: refused (mismatch or NotAuthorized), not run."""
    before = observation_count(server)
    root = build(report_envelope("live-action"), UsernameTokenSigner("alice", PASSWORDS["alice"]))
    response = request(server.url, etree.tostring(root),
                       headers={"SOAPAction": '"urn:highway-traffic:v1/GetTravelTimes"'})
    assert response.status == 500 and response.fault()[0].startswith("soap:Client.")
    assert observation_count(server) == before


def build(root: etree._Element, *mechanisms: object) -> etree._Element:
    for mechanism in mechanisms:
        root, _ = mechanism.apply(root, {})  # type: ignore[attr-defined]
    return etree.fromstring(etree.tostring(root))


def test_replayed_digest_message_is_refused(server: RunningServer) -> None:
    root = build(report_envelope("live-replay"),
                 UsernameTokenSigner("dave", PASSWORDS["dave"], digest=True))
    assert post(server, root) == (200, "")
    before = observation_count(server)
    assert post(server, root) == (500, "wsse:InvalidSecurity")
    assert observation_count(server) == before


def test_old_digest_token(server: RunningServer) -> None:
    old = UsernameTokenSigner("dave", PASSWORDS["dave"], digest=True,
                              clock=lambda: NOW - datetime.timedelta(seconds=600))
    assert post(server, build(report_envelope("live-old"), old)) == (500, "wsse:MessageExpired")


def test_expired_timestamp(server: RunningServer) -> None:
    stale = TimestampSigner(60, clock=lambda: NOW - datetime.timedelta(seconds=120))
    root = build(etree.fromstring(envelope(travel_times_body("192"))), stale,
                 UsernameTokenSigner("dave", PASSWORDS["dave"], digest=True))
    assert post(server, root) == (500, "wsse:MessageExpired")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_times_beyond_the_utc_range_are_client_faults(server: RunningServer,
                                                      moment: str) -> None:
    """A Created or Timestamp that is valid xsd:dateTime but leaves year 1-9999 in UTC is
    refused as stale (or malformed), never answered with soap:Server and a traceback."""
    wsu = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"
    for element in ("UsernameToken", "Timestamp"):
        root = build(etree.fromstring(envelope(travel_times_body("192"))), TimestampSigner(60),
                     UsernameTokenSigner("dave", PASSWORDS["dave"], digest=True))
        created = next(e for e in root.iter(f"{wsu}Created")
                       if etree.QName(e.getparent()).localname == element)
        created.text = moment
        status, code = post(server, root)
        assert status == 500 and code in ("wsse:MessageExpired", "wsse:InvalidSecurity"), code
    assert "Traceback" not in server.log_text()
    with client(server, username="dave", password=PASSWORDS["dave"], digest=True) as c:
        assert c.list_highways()


def test_wrapping_attack_is_refused_and_nothing_runs(server: RunningServer, pki: LivePki) -> None:
    """bob (reader) signed a harmless read; the attacker moves that Body into a header and
    puts a write in a new Body. The signature still verifies on the moved node."""
    root = build(etree.fromstring(envelope(travel_times_body("192"))),
                 X509Signer(pki.bob.cert_pem, pki.bob.key_pem))
    body = root.find(f"{{{SOAP11}}}Body")
    header = root.find(f"{{{SOAP11}}}Header")
    assert body is not None and header is not None
    root.remove(body)
    etree.SubElement(header, "{urn:evil}Wrapper").append(body)
    forged = report_envelope("live-wrapped").find(f"{{{SOAP11}}}Body")
    root.append(forged)
    before = observation_count(server)
    assert post(server, root) == (500, "wsse:InvalidSecurity")
    assert observation_count(server) == before


@pytest.mark.parametrize(("name", "code"), [
    ("stranger", "wsse:FailedAuthentication"),
    ("expired", "wsse:FailedCheck"),
])
def test_bad_signing_certificates(server: RunningServer, pki: LivePki, name: str,
                                  code: str) -> None:
    issued = getattr(pki, name)
    before = observation_count(server)
    root = build(report_envelope(f"live-{name}"), X509Signer(issued.cert_pem, issued.key_pem))
    assert post(server, root) == (500, code)
    assert observation_count(server) == before


def test_cli_password_from_environment_and_stdin(server: RunningServer) -> None:
    command = [sys.executable, "-m", "client", "--url", server.url, "--username", "alice",
               "highways"]
    env = {**os.environ, "HIGHWAY_PASSWORD": PASSWORDS["alice"]}
    from_env = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert from_env.returncode == 0, from_env.stderr
    stdin_command = [*command[:-1], "--password-stdin", "highways"]
    from_stdin = subprocess.run(stdin_command, input="wrong-password\n", cwd=ROOT,
                                capture_output=True, text=True)
    assert from_stdin.returncode == 3 and "wsse:FailedAuthentication" in from_stdin.stderr
    no_password = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                 env={k: v for k, v in os.environ.items()
                                      if k != "HIGHWAY_PASSWORD"})
    assert no_password.returncode == 2
