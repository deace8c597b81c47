"""What the benchmark sends: the seeded database, plain and UsernameToken-digest requests."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from pathlib import Path

HIGHWAY = "217"
DIRECTION = "NB"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "urn:highway-traffic:v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_UT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
DIGEST_TYPE = _UT + "#PasswordDigest"
BASE64 = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
USERNAME = "bench-reader"
PASSWORD = "bench-reader-password-1"  # a throwaway account in the benchmark's own database
# What every correct answer contains (checked per response by the load generator).
EXPECTED_MARKERS = ("GetTravelTimesResponse", f">{HIGHWAY}</", f">{DIRECTION}</")

_READ = (
    f"<t:GetTravelTimes><t:highway>{HIGHWAY}</t:highway>"
    f"<t:direction>{DIRECTION}</t:direction></t:GetTravelTimes>"
)
_OPEN = f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP11}" xmlns:t="{TNS}">'
# The account that reports observations (issue 17's secured ingest): role operator.
OPERATOR = "bench-operator"
OPERATOR_PASSWORD = "bench-operator-password-1"


def plain_request() -> bytes:
    """GetTravelTimes(217, NB) without a security header (baselines A and B)."""
    return (_OPEN + "<s:Body>" + _READ + "</s:Body></s:Envelope>").encode()


def _xsd_now() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def digest_header(username: str, password: str) -> str:
    """A wsse:Security header with a UsernameToken PasswordDigest: fresh nonce, Created = now."""
    nonce = os.urandom(16)
    created = _xsd_now()
    digest = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    ).decode()
    return (
        f'<s:Header><wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" s:mustUnderstand="1">'
        f"<wsse:UsernameToken><wsse:Username>{username}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST_TYPE}">{digest}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{BASE64}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"
    )


def digest_envelope(body: str, username: str, password: str) -> bytes:
    """An envelope around Body content `body`, with a fresh PasswordDigest header."""
    return (_OPEN + digest_header(username, password) + "<s:Body>" + body
            + "</s:Body></s:Envelope>").encode()


def digest_request(username: str = USERNAME, password: str = PASSWORD) -> bytes:
    """GetTravelTimes with a UsernameToken PasswordDigest: fresh nonce, Created = now."""
    return digest_envelope(_READ, username, password)


def report_items(prefix: str, count: int, segments: list[str], at: dt.datetime) -> str:
    """ReportObservations Body content: `count` new observations (sensor ids prefix-i)."""
    when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    items = "".join(
        f"<t:observation><t:sensorId>{prefix}-{i}</t:sensorId>"
        f"<t:segmentId>{segments[i % len(segments)]}</t:segmentId>"
        f"<t:observedAt>{when}</t:observedAt><t:speedKph>{20 + i % 80}</t:speedKph>"
        "</t:observation>"
        for i in range(count)
    )
    return f"<t:ReportObservations>{items}</t:ReportObservations>"


def report_request(prefix: str, count: int, segments: list[str], at: dt.datetime) -> bytes:
    """A digest-authenticated (operator) ReportObservations of `count` new observations."""
    return digest_envelope(report_items(prefix, count, segments, at), OPERATOR,
                           OPERATOR_PASSWORD)


def write_requests(path: Path, count: int, *, secured: bool) -> Path:
    """One request per line (they contain no newline) for the wrk script to cycle through."""
    with open(path, "wb") as out:
        if secured:
            out.writelines(digest_request() + b"\n" for _ in range(count))
        else:
            out.write(plain_request() + b"\n")
    return path


def seed_database(path: Path | str) -> list[str]:
    """Create the database (a SQLite path or any --db URL) with the sample network and a
    recent observation on every segment, so answers carry live speeds rather than all-stale
    free-flow values; returns the segment ids."""
    import asyncio

    from soap_service.domain import Observation
    from soap_service.store.traffic_store import open_traffic_store

    store = open_traffic_store(str(path))
    now = store.now().replace(microsecond=0)
    segment_ids = [
        seg.id for hw in store.highways() for segs in hw.segments.values() for seg in segs
    ]
    batch = [
        Observation(f"bench-{seg}", seg, now - dt.timedelta(seconds=30), 40.0 + i % 50)
        for i, seg in enumerate(segment_ids)
    ]

    async def seed() -> None:
        await store.report(batch)
        await store.engine.close()

    asyncio.run(seed())
    return segment_ids
