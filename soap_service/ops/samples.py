"""Sample SOAP envelopes for the service page: requests with a WS-Security header, responses."""

from __future__ import annotations

from lxml import etree

from soap_service import faults
from soap_service.faults import ServiceFault

SOAP = faults.SOAP11_ENV_NS
TNS = faults.CONTRACT_NS
_PASSWORD_DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
                    "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")
_BASE64 = ("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-soap-message-security-1.0#Base64Binary")

_PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                  "oasis-200401-wss-username-token-profile-1.0#PasswordText")

FRESHNESS_NOTE = (
    "The timestamps and nonce below are examples and will be refused as they stand: Created "
    "(and the Timestamp) must be the current UTC time, within the server's window (300 s old, "
    "60 s ahead by default), and every request needs a new random Nonce (each is accepted "
    "once). PasswordDigest = Base64(SHA-1(nonce bytes + Created + password)). The generator "
    "under Security requirements prints a fresh header.")

GENERATOR_NOTE = (
    "This page runs no scripts, so here is a generator to run yourself: it prints a "
    "wsse:Security header with a new 16-byte Nonce, Created = now and, by default, the "
    "PasswordDigest; replace the sample's wsse:Security element with it and send the request "
    "within the time window. With the argument `text` it writes PasswordText instead.")

# Shown on the page (no scripts run there): prints a fresh wsse:Security header to paste in
# place of a sample's. Standard library only; reads the same variables as highway-client.
TOKEN_GENERATOR = """\
# python3 fresh_token.py [text]   (HIGHWAY_USERNAME and HIGHWAY_PASSWORD set)
import base64, datetime, hashlib, os, sys
from xml.sax.saxutils import escape
user, password = os.environ["HIGHWAY_USERNAME"], os.environ["HIGHWAY_PASSWORD"]
nonce = os.urandom(16)
created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
profile = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
if sys.argv[1:] == ["text"]:  # PasswordText: HTTPS or a loopback listener only
    kind, value = "PasswordText", password
else:
    kind = "PasswordDigest"
    value = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode())
                             .digest()).decode()
print('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
      'oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/'
      'wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken>'
      f'<wsse:Username>{escape(user)}</wsse:Username>'
      f'<wsse:Password Type="{profile}#{kind}">{escape(value)}</wsse:Password>'
      '<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-'
      f'soap-message-security-1.0#Base64Binary">{base64.b64encode(nonce).decode()}'
      f'</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken>'
      '</wsse:Security>')
"""

# Placeholder values only: a real digest is Base64(SHA-1(nonce + created + password)).
SECURITY_HEADER = (
    f'<wsse:Security xmlns:wsse="{faults.WSSE_NS}" xmlns:wsu="{faults.WSU_NS}" '
    f'soap:mustUnderstand="1">'
    '<wsu:Timestamp wsu:Id="TS-1"><wsu:Created>2026-01-15T07:30:00Z</wsu:Created>'
    '<wsu:Expires>2026-01-15T07:35:00Z</wsu:Expires></wsu:Timestamp>'
    '<wsse:UsernameToken wsu:Id="UT-1"><wsse:Username>alice</wsse:Username>'
    f'<wsse:Password Type="{_PASSWORD_DIGEST}">BASE64-DIGEST-OF-NONCE-CREATED-PASSWORD='
    '</wsse:Password>'
    f'<wsse:Nonce EncodingType="{_BASE64}">BASE64-RANDOM-16-BYTES==</wsse:Nonce>'
    '<wsu:Created>2026-01-15T07:30:00Z</wsu:Created></wsse:UsernameToken></wsse:Security>'
)

# PasswordText: the password itself, so only over TLS (or on a loopback listener).
TEXT_SECURITY_HEADER = (
    f'<wsse:Security xmlns:wsse="{faults.WSSE_NS}" xmlns:wsu="{faults.WSU_NS}" '
    f'soap:mustUnderstand="1">'
    '<wsse:UsernameToken wsu:Id="UT-1"><wsse:Username>alice</wsse:Username>'
    f'<wsse:Password Type="{_PASSWORD_TEXT}">alice-password</wsse:Password>'
    f'<wsse:Nonce EncodingType="{_BASE64}">BASE64-RANDOM-16-BYTES==</wsse:Nonce>'
    '<wsu:Created>2026-01-15T07:30:00Z</wsu:Created></wsse:UsernameToken></wsse:Security>'
)

_REQUESTS = {
    "ListHighways": "<ht:ListHighways/>",
    "GetTravelTimes": "<ht:GetTravelTimes><ht:highway>192</ht:highway>"
                      "<ht:direction>EB</ht:direction></ht:GetTravelTimes>",
    "ReportObservations": "<ht:ReportObservations><ht:observation><ht:sensorId>loop-17"
                          "</ht:sensorId><ht:segmentId>192-EB-03</ht:segmentId><ht:observedAt>"
                          "2026-01-15T07:29:30Z</ht:observedAt><ht:speedKph>42.5</ht:speedKph>"
                          "</ht:observation></ht:ReportObservations>",
}
_SEGMENT = ("<ht:segment><ht:segmentId>192-EB-01</ht:segmentId><ht:fromName>Four Corners"
            "</ht:fromName><ht:toName>Kissimmee</ht:toName><ht:lengthKm>2.5</ht:lengthKm>"
            "<ht:speedKph>42.0</ht:speedKph><ht:currentMinutes>3.57</ht:currentMinutes>"
            "<ht:freeFlowMinutes>1.88</ht:freeFlowMinutes><ht:congestion>MODERATE"
            "</ht:congestion><ht:observedAt>2026-01-15T07:29:30Z</ht:observedAt>"
            "<ht:stale>false</ht:stale></ht:segment>")
_RESPONSES = {
    "ListHighways": "<ht:ListHighwaysResponse><ht:highway><ht:id>192</ht:id><ht:name>US 192"
                    "</ht:name><ht:direction>EB</ht:direction><ht:direction>WB</ht:direction>"
                    "<ht:lengthKm>31.0</ht:lengthKm><ht:segmentCount>12</ht:segmentCount>"
                    "</ht:highway></ht:ListHighwaysResponse>",
    "GetTravelTimes": "<ht:GetTravelTimesResponse><ht:travelTime><ht:highway>192</ht:highway>"
                      "<ht:direction>EB</ht:direction><ht:asOf>2026-01-15T07:30:00Z</ht:asOf>"
                      "<ht:totalMinutes>24.1</ht:totalMinutes><ht:freeFlowMinutes>21.3"
                      f"</ht:freeFlowMinutes>{_SEGMENT}</ht:travelTime>"
                      "</ht:GetTravelTimesResponse>",
    "ReportObservations": "<ht:ReportObservationsResponse><ht:accepted>1</ht:accepted>"
                          "<ht:duplicates>0</ht:duplicates></ht:ReportObservationsResponse>",
}


def _pretty(xml: str | bytes) -> str:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser)
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def _envelope(body: str, header: str = "") -> str:
    head = f"<soap:Header>{header}</soap:Header>" if header else ""
    return (f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:ht="{TNS}">{head}'
            f"<soap:Body>{body}</soap:Body></soap:Envelope>")


def sample_request(operation: str, password: str = "digest") -> str:
    """A request envelope for `operation` with a UsernameToken header; `password` is "digest"
    (PasswordDigest with Nonce and Created) or "text" (PasswordText)."""
    header = TEXT_SECURITY_HEADER if password == "text" else SECURITY_HEADER
    return _pretty(_envelope(_REQUESTS.get(operation, f"<ht:{operation}/>"), header))


def sample_response(operation: str) -> str:
    """A successful response envelope for `operation` (values are illustrative)."""
    return _pretty(_envelope(_RESPONSES.get(operation, f"<ht:{operation}Response/>")))


def sample_fault() -> str:
    """A fault exactly as the service renders one."""
    fault = ServiceFault(faults.CLIENT_UNKNOWN_HIGHWAY, "Unknown highway '999'.")
    return _pretty(faults.render_fault(fault, "3f2a9c1d5e7b8a60"))
