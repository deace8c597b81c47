"""One reading of element text: comments inside the Body, signed and unsigned, and replays of
a signed message spelt differently, against the real server (issue: integrity)."""

from __future__ import annotations

import base64
import datetime
import re
import sqlite3
from collections.abc import Iterator

import pytest
from lxml import etree

from client.wsse import UsernameTokenSigner
from tests.conftest import RunningServer, start_server
from tests.security.live import PASSWORDS, LivePki, make_accounts, make_pki
from tests.security.signing import sign
from tests.soap_helpers import envelope, request

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
STAMP = f"{NOW - datetime.timedelta(seconds=20):%Y-%m-%dT%H:%M:%SZ}"
TNS = 'xmlns:t="urn:highway-traffic:v1"'


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


def report_body(sensor: str, speed: str = "55.5", stamp: str = STAMP,
                segment: str = "192-EB-01") -> str:
    return (
        f"<t:ReportObservations {TNS}><t:observation><t:sensorId>{sensor}</t:sensorId>"
        f"<t:segmentId>{segment}</t:segmentId><t:observedAt>{stamp}</t:observedAt>"
        f"<t:speedKph>{speed}</t:speedKph></t:observation></t:ReportObservations>"
    )


def with_password(body: str) -> bytes:
    """The body in an envelope with a fresh PasswordText token of the operator `dave`."""
    root = etree.fromstring(envelope(body))
    UsernameTokenSigner("dave", PASSWORDS["dave"]).apply(root, {})
    return etree.tostring(root)


def stored(server: RunningServer, sensor: str) -> list[tuple[str, float]]:
    with sqlite3.connect(server.db_path) as conn:
        rows = conn.execute(
            "SELECT segment_id, speed_kph FROM observations WHERE sensor_id = ?", (sensor,)
        ).fetchall()
    return [(str(a), float(b)) for a, b in rows]


def split_with_comment(text: str) -> str:
    """'55.5' -> '5<!---->5.5': the comment sits inside the value."""
    return text[:1] + "<!---->" + text[1:] if len(text) > 1 else "<!---->" + text


def check_still_serving(server: RunningServer) -> None:
    body = f'<t:GetTravelTimes {TNS}><t:highway>192</t:highway></t:GetTravelTimes>'
    assert request(server.url, with_password(body)).status == 200


@pytest.mark.parametrize("field", ["sensorId", "segmentId", "observedAt", "speedKph"])
def test_comment_inside_each_report_value_is_read_as_the_joined_text(
    server: RunningServer, field: str
) -> None:
    sensor = f"cmt-{field.lower()}"
    values = {"sensorId": sensor, "segmentId": "192-EB-01", "observedAt": STAMP,
              "speedKph": "55.5"}
    body = report_body(sensor)
    spelt = f"<t:{field}>{split_with_comment(values[field])}</t:{field}>"
    body = re.sub(f"<t:{field}>[^<]*</t:{field}>", spelt, body)
    response = request(server.url, with_password(body))
    assert response.status == 200, response.body[:400]
    assert stored(server, sensor) == [("192-EB-01", 55.5)]
    check_still_serving(server)


@pytest.mark.parametrize("body", [
    f"<t:GetTravelTimes {TNS}><t:highway>1<!---->92</t:highway>"
    "<t:direction>E<!--x-->B</t:direction></t:GetTravelTimes>",
    f"<!-- before --><t:GetTravelTimes {TNS}><!--a--><t:highway><!---->192<!----></t:highway>"
    "</t:GetTravelTimes><!-- after -->",
    f"\n  <!-- c --> <t:ListHighways {TNS}><!-- inside --></t:ListHighways>\n<!-- d -->",
])
def test_comments_around_and_inside_read_values(server: RunningServer, body: str) -> None:
    response = request(server.url, with_password(body))
    assert response.status == 200, response.body[:400]
    assert b"UnknownOperation" not in response.body
    if b"GetTravelTimes" in body.encode():
        assert b"<highway>192</highway>" in response.body.replace(b"tns:", b"")
        if "direction" in body:
            assert response.body.count(b"direction>EB<") >= 1
            assert b"direction>WB<" not in response.body
    check_still_serving(server)


def signed_report(pki: LivePki, sensor: str) -> bytes:
    root = etree.fromstring(envelope(report_body(sensor)))
    return etree.tostring(sign(root, pki.acme))


def test_comment_in_a_signed_value_stores_the_signed_value(
    server: RunningServer, pki: LivePki
) -> None:
    data = signed_report(pki, "cmt-signed")
    tampered = data.replace(b">55.5<", b">5<!---->5.5<")
    assert tampered != data
    response = request(server.url, tampered)
    # The signature covers "55.5" (exclusive C14N drops comments); the service must store
    # exactly that, never the "5" before the comment.
    assert response.status == 200, response.body[:400]
    assert stored(server, "cmt-signed") == [("192-EB-01", 55.5)]
    check_still_serving(server)


def _respell_signature(data: bytes, how: str) -> bytes:
    match = re.search(rb"(<ds:SignatureValue[^>]*>)([^<]+)(</ds:SignatureValue>)", data)
    assert match is not None
    value = match.group(2).decode().strip()
    if how == "linebreak":
        new = value[:20] + "\n" + value[20:]
    elif how == "comment":
        new = value[:20] + "<!-- x -->" + value[20:]
    else:  # non-zero pad bits: same bytes decode from another spelling
        raw = base64.b64decode(value)
        new = base64.b64encode(raw).decode()
        assert new.endswith("=") or len(raw) % 3 == 0
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        if len(raw) % 3 == 0:
            new = new + " "  # no pad bits to flip: trailing whitespace is the variant
        else:
            stripped = new.rstrip("=")
            last = alphabet.index(stripped[-1])
            pad = "=" * (len(new) - len(stripped))
            spare = 4 if len(pad) == 2 else 2  # unused low bits of the last character
            new = stripped[:-1] + alphabet[last | (1 << spare) - 1] + pad
            assert base64.b64decode(new) == raw and new != value
    return data[:match.start(2)] + new.encode() + data[match.end(2):]


@pytest.mark.parametrize("how", ["linebreak", "comment", "padbits"])
def test_a_signed_message_respelt_is_still_a_replay(
    server: RunningServer, pki: LivePki, how: str
) -> None:
    sensor = f"replay-{how}"
    data = signed_report(pki, sensor)
    first = request(server.url, data)
    assert first.status == 200, first.body[:400]
    again = request(server.url, _respell_signature(data, how))
    assert again.status == 500
    assert b"wsse:InvalidSecurity" in again.body, again.body[:400]
    assert stored(server, sensor) == [("192-EB-01", 55.5)]
    check_still_serving(server)
