"""Names and small XML helpers shared by the WS-Security checks (namespaces, ids, dates)."""

from __future__ import annotations

import datetime
import re

from lxml import etree

from soap_service.faults import SOAP11_ENV_NS, WSSE_NS, WSU_NS

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
WSSE11_NS = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"

_UT_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = _UT_PROFILE + "#PasswordText"
PASSWORD_DIGEST = _UT_PROFILE + "#PasswordDigest"
BASE64_BINARY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"


def q(namespace: str, local: str) -> str:
    """Clark notation `{ns}local`, as lxml spells a qualified name."""
    return f"{{{namespace}}}{local}"


SOAP_ENVELOPE = q(SOAP11_ENV_NS, "Envelope")
SOAP_HEADER = q(SOAP11_ENV_NS, "Header")
SOAP_BODY = q(SOAP11_ENV_NS, "Body")
WSSE_SECURITY = q(WSSE_NS, "Security")
WSU_ID = q(WSU_NS, "Id")
XML_ID = q(XML_NS, "id")

# Every attribute some stack treats as an element id; all of them must be unique together,
# or a reference could resolve to a different element than the one we checked.
ID_ATTRIBUTES = (WSU_ID, "Id", "ID", "id", XML_ID)

# xsd:dateTime with a mandatory timezone: a Created without one has no defined instant.
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
)


def children(element: etree._Element, tag: str) -> list[etree._Element]:
    """Direct element children with the given Clark-notation tag."""
    return [child for child in element if child.tag == tag]


def text_of(element: etree._Element) -> str:
    """The element's text content, whitespace-trimmed (tokens carry simple text only)."""
    return (element.text or "").strip()


# Where an instant before 0001-01-01 or after 9999-12-31 UTC is held (see parse_datetime).
EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
LATEST = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def parse_datetime(text: str) -> datetime.datetime | None:
    """An aware UTC datetime from xsd:dateTime text, or None when it is not one.

    A valid time whose instant falls outside what datetime holds in UTC (0001-01-01T00:00:00
    +05:00, 9999-12-31T23:00:00-05:00) is read as EARLIEST or LATEST: far too old or far
    in the future, which is what every freshness check should then say of it.
    """
    if not _DATETIME.match(text):
        return None
    try:
        # Python 3.11's fromisoformat reads every form the pattern admits: "Z", an offset, and
        # 1-9 fractional digits (beyond 6 cut off, shorter ones padded), ~4 us less than
        # rewriting the text first. An impossible date or time (hour 24, day 31 in April)
        # raises.
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        return EARLIEST if value.year == datetime.MINYEAR else LATEST


# The attributes of ID_ATTRIBUTES on `root` and every element below it, in one libxml2 walk
# (a Python loop asking each element for five attributes cost ~15 us per request). The
# namespaces are written in as literals: XPath variables are bound anew on every call (~1 us).
_ID_ATTRIBUTE_XPATH = etree.XPath(
    f"descendant-or-self::*/@*[(local-name() = 'Id' and namespace-uri() = '{WSU_NS}')"
    " or (namespace-uri() = '' and (local-name() = 'Id' or local-name() = 'ID'"
    f" or local-name() = 'id')) or (local-name() = 'id' and namespace-uri() = '{XML_NS}')]")


def element_ids(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every id value in the document and the elements that carry it (an element once per
    id attribute it has)."""
    found: dict[str, list[etree._Element]] = {}
    attributes = _ID_ATTRIBUTE_XPATH(root)
    assert isinstance(attributes, list)
    for attribute in attributes:
        found.setdefault(str(attribute), []).append(attribute.getparent())
    return found
