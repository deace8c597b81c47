"""Pre-parse checks on the raw body: encoding agreement (HTTP charset, BOM, XML declaration) and
a prolog free of DTDs and processing instructions, before libxml2 sees a byte."""

from __future__ import annotations

import re

from soap_service import faults
from soap_service.faults import ServiceFault, truncate_fragment

UTF8 = "utf-8"
UTF16 = "utf-16"

_WS = b" \t\r\n"
# The XML declaration (XML 1.0 section 2.8): version, then optional encoding and standalone.
_DECLARATION = re.compile(
    rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*([\"'])1\.[0-9]+\1"
    rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*([\"'])([A-Za-z][A-Za-z0-9._-]*)\2)?"
    rb"(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*([\"'])(?:yes|no)\4)?[ \t\r\n]*\?>"
)


def _encoding_fault(message: str, reason: str) -> ServiceFault:
    return ServiceFault(faults.CLIENT_UNSUPPORTED_ENCODING, message, reason=reason)


def _syntax_fault(message: str, reason: str) -> ServiceFault:
    return ServiceFault(faults.CLIENT_XML_SYNTAX, message, reason=reason)


def _detect(body: bytes) -> tuple[str, bytes]:
    """The document's encoding family from its first bytes, and the bytes after any BOM."""
    if body.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        raise _encoding_fault("Only UTF-8 and UTF-16 documents are accepted.", "utf-32 bom")
    if body.startswith(b"\xef\xbb\xbf"):
        return UTF8, body[3:]
    if body.startswith((b"\xfe\xff", b"\xff\xfe")):
        codec = "utf-16-be" if body[0] == 0xFE else "utf-16-le"
        try:
            # Transcode once so every later check (and libxml2) reads UTF-8 only.
            return UTF16, body[2:].decode(codec).encode("utf-8")
        except UnicodeError:
            raise _encoding_fault(
                "The document is not valid UTF-16.", "bad utf-16"
            ) from None
    if body[:2] in (b"\x00<", b"<\x00"):
        raise _encoding_fault(
            "A UTF-16 document must start with a byte-order mark.", "utf-16 without bom"
        )
    return UTF8, body


def _declaration_end(data: bytes, family: str) -> int:
    """Check the XML declaration, if any, against the detected encoding; return where it ends."""
    if not data.startswith(b"<?xml") or (len(data) > 5 and data[5] not in _WS):
        return 0
    match = _DECLARATION.match(data)
    if match is None:
        raise _syntax_fault("The XML declaration is malformed.", "bad xml declaration")
    declared = match.group(3)
    if declared is not None and declared.decode("ascii").lower() != family:
        shown = truncate_fragment(declared.decode("ascii"), 20)
        raise _encoding_fault(
            f"The declared encoding {shown} does not match the document ({family}).",
            "declaration mismatch",
        )
    return match.end()


def _check_prolog(data: bytes, pos: int) -> None:
    """Refuse a DOCTYPE (and with it every entity declaration) or a PI before the root element.

    Comments are legal in a SOAP message and are skipped; the first other markup ends the
    prolog, and anything malformed after that is the parser's to refuse.
    """
    size = len(data)
    while pos < size:
        while pos < size and data[pos] in _WS:
            pos += 1
        if data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                return
            pos = end + 3
        elif data.startswith(b"<!", pos):
            raise ServiceFault(
                faults.CLIENT_DTD_NOT_ALLOWED,
                "A SOAP message must not contain a document type declaration.",
                reason="doctype",
            )
        elif data.startswith(b"<?", pos):
            raise ServiceFault(
                faults.CLIENT_PI_NOT_ALLOWED,
                "A SOAP message must not contain processing instructions.",
                reason="pi in prolog",
            )
        else:
            return


def prepare_document(body: bytes, http_charset: str | None) -> bytes:
    """The document as UTF-8 bytes, once its encodings agree and its prolog is clean.

    `http_charset` is the Content-Type charset, lower-cased (None means UTF-8). Raises
    ServiceFault (Client.UnsupportedEncoding, Client.DTDNotAllowed, ...) otherwise.
    """
    if not body.strip(_WS):
        raise _syntax_fault("The request body is empty.", "empty body")
    family, data = _detect(body)
    wanted = UTF8 if http_charset is None else http_charset
    if wanted != family:
        raise _encoding_fault(
            f"The HTTP charset does not match the document ({family}).", "charset mismatch"
        )
    _check_prolog(data, _declaration_end(data, family))
    return data
