"""wsu:Timestamp: freshness, structure, and its role next to a UsernameToken."""

from __future__ import annotations

import datetime

import pytest
from lxml import etree

from client.wsse import TimestampSigner, UsernameTokenSigner
from soap_service import faults
from soap_service.faults import ServiceFault
from tests.security.conftest import PASSWORDS, Harness, build_envelope

WSU = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"


def _utc(offset_seconds: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_seconds)


def stamped(offset: float = 0.0, ttl: float = 300.0) -> etree._Element:
    """A digest-authenticated envelope with a Timestamp created `offset` seconds from now."""
    return build_envelope(
        TimestampSigner(ttl, clock=lambda: _utc(offset)),
        UsernameTokenSigner("dave", PASSWORDS["dave"], digest=True),
    )


def timestamp_of(root: etree._Element) -> etree._Element:
    found = root.find(f".//{WSU}Timestamp")
    assert found is not None
    return found


def test_fresh_timestamp(harness: Harness) -> None:
    assert harness.run(stamped()).principal is not None


def test_expired(harness: Harness) -> None:
    harness.refuse(stamped(offset=-120, ttl=60), faults.WSSE_MESSAGE_EXPIRED)


def test_created_too_old_even_if_not_expired(harness: Harness) -> None:
    harness.refuse(stamped(offset=-400, ttl=3600), faults.WSSE_MESSAGE_EXPIRED)


def test_created_in_the_future(harness: Harness) -> None:
    harness.refuse(stamped(offset=120), faults.WSSE_MESSAGE_EXPIRED)


@pytest.mark.parametrize("element", ["Created", "Expires"])
def test_duplicate_created_or_expires(harness: Harness, element: str) -> None:
    root = stamped()
    timestamp = timestamp_of(root)
    timestamp.append(etree.fromstring(etree.tostring(timestamp.find(WSU + element))))
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_missing_created(harness: Harness) -> None:
    root = stamped()
    timestamp = timestamp_of(root)
    timestamp.remove(timestamp.find(WSU + "Created"))
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_missing_expires_refused_by_default_and_allowed_by_setting(make_harness: object) -> None:
    def without_expires() -> etree._Element:
        root = stamped()
        timestamp = timestamp_of(root)
        timestamp.remove(timestamp.find(WSU + "Expires"))
        return root

    make_harness().refuse(without_expires(), faults.WSSE_INVALID_SECURITY)  # type: ignore[operator]
    lenient = make_harness(require_timestamp_expires=False)  # type: ignore[operator]
    assert lenient.run(without_expires()).principal is not None


def test_expires_before_created(harness: Harness) -> None:
    root = stamped()
    timestamp = timestamp_of(root)
    created = timestamp.find(WSU + "Created")
    expires = timestamp.find(WSU + "Expires")
    assert created is not None and expires is not None
    created.text, expires.text = expires.text, created.text
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_unexpected_child(harness: Harness) -> None:
    root = stamped()
    etree.SubElement(timestamp_of(root), "{urn:x}Extra")
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_two_timestamps(harness: Harness) -> None:
    root = stamped()
    timestamp = timestamp_of(root)
    copy = etree.fromstring(etree.tostring(timestamp))
    del copy.attrib[WSU + "Id"]
    timestamp.addnext(copy)
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_timestamp_alone_authenticates_nobody(harness: Harness) -> None:
    fault = harness.refuse(build_envelope(TimestampSigner()), faults.WSSE_INVALID_SECURITY)
    assert "no identity token" in (fault.reason or "")


@pytest.mark.parametrize(("element", "value", "far"), [
    ("Created", "0001-01-01T00:00:00+14:00", "1900-01-01T00:00:00Z"),
    ("Created", "9999-12-31T23:59:59-14:00", "2999-01-01T00:00:00Z"),
    ("Expires", "0001-01-01T00:00:00+14:00", "1900-01-01T00:00:00Z"),
    ("Expires", "9999-12-31T23:59:59-14:00", "2999-01-01T00:00:00Z"),
])
def test_times_outside_the_utc_range_answer_as_far_times_do(
    harness: Harness, element: str, value: str, far: str
) -> None:
    # Valid xsd:dateTime whose instant datetime cannot hold in UTC: the same answer as for
    # a time merely far in the past or future, never an error of the server.
    answers = []
    for text in (value, far):
        root = stamped()
        timestamp_of(root).find(WSU + element).text = text  # type: ignore[union-attr]
        try:
            answers.append(("authenticated", harness.run(root).principal is not None))
        except ServiceFault as fault:
            answers.append((fault.code, fault.message))
    assert answers[0] == answers[1]
    # Only an Expires far ahead is accepted (as a long-lived Timestamp is).
    assert (answers[0][0] == "authenticated") == (element == "Expires" and far > "2026")
