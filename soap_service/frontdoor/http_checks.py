"""HTTP checks before any SOAP processing: path, method, media type, charset, Content-Encoding.

Only `POST /soap` with `Content-Type: text/xml` (charset utf-8 or utf-16; none means utf-8) and
no content coding reaches the XML guard. Every refusal is a ServiceFault with its HTTP status
(404, 405 with Allow, 415) and is rendered as a small SOAP Fault body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from soap_service import faults
from soap_service.faults import ServiceFault, truncate_fragment

SOAP_PATH = "/soap"
SOAP_MEDIA_TYPE = "text/xml"
CHARSETS = ("utf-8", "utf-16")
# Content codings that mean "no coding"; anything else (gzip, deflate, br...) is refused.
IDENTITY_CODINGS = ("", "identity")


def not_found() -> ServiceFault:
    """The 404 fault for a path the service does not serve."""
    return ServiceFault(
        faults.CLIENT_NOT_FOUND, "No such resource.", reason="unknown path"
    )


def method_not_allowed(allowed: Iterable[str]) -> ServiceFault:
    """The 405 fault, with the Allow header listing the methods the path accepts."""
    allow = ", ".join(allowed)
    return ServiceFault(
        faults.CLIENT_METHOD_NOT_ALLOWED,
        f"Method not allowed here; allowed: {allow}.",
        headers=(("Allow", allow),),
        reason="method",
    )


def unsupported_media_type(message: str, reason: str) -> ServiceFault:
    """The 415 fault for a media type, charset or content coding the service does not take."""
    return ServiceFault(
        faults.CLIENT_UNSUPPORTED_MEDIA_TYPE, message, reason=reason
    )


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """`text/xml; charset="UTF-8"` -> ("text/xml", {"charset": "utf-8"}); names lower-cased.

    Parameter values are lower-cased too (only charset is ever compared). Raises ValueError
    for a value that is not one media type (two joined types, a missing subtype, ...).
    """
    media, _, rest = value.partition(";")
    media = media.strip().lower()
    kind, slash, subtype = media.partition("/")
    if not slash or not kind or not subtype or "," in media or " " in media:
        raise ValueError("not a single media type")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        if not item.strip():
            continue
        name, eq, raw = item.partition("=")
        if not eq or not name.strip():
            raise ValueError("malformed parameter")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        params[name.strip().lower()] = raw.strip().lower()
    return media, params


def request_charset(headers: Mapping[str, str]) -> str | None:
    """The charset of an already checked SOAP request (None when the client named none)."""
    value = headers.get("content-type")
    if value is None:
        return None
    try:
        return parse_content_type(value)[1].get("charset")
    except ValueError:
        return None


def check_soap_request(method: str, path: str, headers: Mapping[str, str],
                       get_paths: frozenset[str] = frozenset()) -> None:
    """Let `POST /soap` with a SOAP 1.1 media type through; raise the HTTP-level fault otherwise.

    `path` excludes the query string; `headers` has lower-cased names (Exchange.headers);
    `get_paths` are the paths the resource serves to GET/HEAD (it serves those before calling
    this), so a 405 names exactly the methods the path takes.
    """
    if path == SOAP_PATH:
        if method != "POST":
            allowed = ("GET", "HEAD", "POST") if SOAP_PATH in get_paths else ("POST",)
            raise method_not_allowed(allowed)
    elif path in get_paths:
        raise method_not_allowed(("GET", "HEAD"))
    else:
        raise not_found()
    coding = headers.get("content-encoding", "").strip().lower()
    if coding not in IDENTITY_CODINGS:
        raise unsupported_media_type(
            f"Content-Encoding {truncate_fragment(coding, 20)} is not supported.",
            "content-encoding",
        )
    content_type = headers.get("content-type")
    if content_type is None:
        raise unsupported_media_type(
            "Content-Type text/xml is required for SOAP 1.1.", "no content-type"
        )
    try:
        media, params = parse_content_type(content_type)
    except ValueError:
        raise unsupported_media_type(
            "The Content-Type header is malformed.", "bad content-type"
        ) from None
    if media != SOAP_MEDIA_TYPE:
        raise unsupported_media_type(
            f"Media type {truncate_fragment(media, 40)} is not supported; use text/xml.",
            "media type",
        )
    charset = params.get("charset")
    if charset is not None and charset not in CHARSETS:
        raise unsupported_media_type(
            f"Charset {truncate_fragment(charset, 20)} is not supported; use utf-8 or utf-16.",
            "charset",
        )
