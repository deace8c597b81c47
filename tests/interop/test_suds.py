"""suds-community: a second Python SOAP stack (not zeep) against the served WSDL, with suds.wsse."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.util
import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.interop.conftest import PeerTarget, assert_reads_and_faults, assert_refused
from tests.interop.peers import Credentials, PeerResult, contract_operations, require

pytestmark = pytest.mark.interop



@pytest.fixture(scope="module")
def suds() -> Any:
    """The suds package, once it is known to be installed."""
    require("suds", [] if importlib.util.find_spec("suds") else ["the suds package"])
    import suds.client

    return suds.client


def security_header(credentials: Credentials) -> Any:
    """A suds wsse.Security with a fresh UsernameToken (a nonce is accepted only once)."""
    from suds.sax.date import DateTime
    from suds.wsse import Security, UsernameToken

    token = UsernameToken(credentials.user, credentials.password)
    token.setcreated()
    # The server follows WS-I BSP R4220: a Nonce must say EncodingType="...#Base64Binary".
    # suds leaves it out unless asked.
    token.setnonceencoding(True)
    if credentials.mode == "text":
        token.setnonce()  # suds' usual PasswordText token: password, Nonce and Created
    else:
        # suds sends a PasswordDigest the caller computed; the WSS UsernameToken Profile
        # formula is Base64(SHA-1(nonce + created + password)) over the exact Created text.
        nonce = os.urandom(16)
        created = str(DateTime(token.created))
        digest = hashlib.sha1(nonce + created.encode() + credentials.password.encode()).digest()
        token.setnonce(base64.b64encode(nonce).decode())
        token.setpassworddigest(base64.b64encode(digest).decode())
    security = Security()
    security.tokens.append(token)
    return security


def run_suds(suds_client: Any, target: PeerTarget) -> PeerResult:
    """Make the same calls as the other peers and record them in the same form."""
    from suds import WebFault
    from suds.cache import NoCache

    client = suds_client.Client(target.wsdl_url, cache=NoCache(), timeout=10)
    result = PeerResult({}, {}, [])
    methods = sorted(client.wsdl.services[0].ports[0].methods)
    result.other.append("functions " + ",".join(methods))

    def call(label: str, operation: str, describe: Callable[[Any], dict[str, str]],
             **arguments: Any) -> None:
        client.set_options(wsse=security_header(target.credentials))
        try:
            answer = getattr(client.service, operation)(**arguments)
        except WebFault as error:
            detail = getattr(getattr(error.fault, "detail", None), "ServiceFault", None)
            result.faults[label] = {
                "faultcode": str(error.fault.faultcode),
                "detail": str(getattr(detail, "code", "-")),
                "correlation": str(getattr(detail, "correlationId", "-")),
                "faultstring": str(error.fault.faultstring),
            }
        else:
            result.ok[label] = describe(answer)

    def travel(answer: Any) -> dict[str, str]:
        # suds unwraps a response with one repeated child into a plain list.
        return {"directions": ",".join(str(t.direction) for t in answer),
                "segments": str(sum(len(t.segment) for t in answer)),
                "first": str(answer[0].segment[0].segmentId) if answer else "-"}

    call("ListHighways", "ListHighways", lambda hs: {"ids": ",".join(str(h.id) for h in hs)})
    call("GetTravelTimes:192", "GetTravelTimes", travel, highway="192")
    call("GetTravelTimes:217:NB", "GetTravelTimes", travel, highway="217", direction="NB")
    observation = client.factory.create("ns0:Observation")
    observation.sensorId = "suds-" + os.urandom(4).hex()
    observation.segmentId = "217-NB-03"
    # suds writes a datetime with str() for a restriction of xs:dateTime (UtcDateTime), which
    # the schema refuses: pass the lexical form.
    observation.observedAt = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    observation.speedKph = "42.5"
    call("ReportObservations", "ReportObservations",
         lambda r: {"accepted": str(r.accepted), "duplicates": str(r.duplicates)},
         observation=[observation])
    call("GetTravelTimes:ASDFGHJ", "GetTravelTimes", travel, highway="ASDFGHJ")
    call("GetTravelTimes:9999", "GetTravelTimes", travel, highway="9999")
    return result


def test_suds_calls_every_operation_and_reads_faults(suds: Any, peer_target: PeerTarget) -> None:
    """suds calls every operation and reads our faults from WebFault."""
    result = run_suds(suds, peer_target)
    assert_reads_and_faults(result, peer_target)
    assert result.other == ["functions " + ",".join(sorted(contract_operations()))]
    assert {call.split(":")[0] for call in result.ok} == set(contract_operations())
    assert result.ok["GetTravelTimes:217:NB"]["directions"] == "NB"
    assert result.ok["ReportObservations"] == {"accepted": "1", "duplicates": "0"}


def test_suds_with_a_wrong_password_is_refused(
    suds: Any, wrong_password_target: PeerTarget
) -> None:
    """With a wrong password suds gets wsse:FailedAuthentication."""
    assert_refused(run_suds(suds, wrong_password_target))
