"""RFC 9112 request-line rules Twisted leaves to us: the Host field and the request-target form.

- HTTP/1.1 needs exactly one Host field; any version with two or more, or with a malformed
  value, gets 400 (RFC 9112 section 3.2).
- origin-form (`/soap?wsdl`) is served as is; absolute-form (`http://host/soap`) is served like
  its origin-form, with the target's authority taking the place of Host (section 3.2.2);
  asterisk-form (`*`) is only meaningful for OPTIONS and the service answers no server-wide
  OPTIONS: 405 for `OPTIONS *`, 400 for any other method; anything else (authority-form of
  CONNECT, a bare word) is 400.
Every refusal is a ServiceFault, so it is answered by the front door's refusal builder.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from soap_service import faults
from soap_service.faults import ServiceFault
from soap_service.frontdoor.refusal import bad_http_request

# RFC 3986 host (reg-name, IPv4, or a bracketed IP literal) with an optional port.
_HOST = re.compile(rb"^(?:\[[0-9A-Fa-f:.vV]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]*)(?::[0-9]{0,5})?$")
_ABSOLUTE = re.compile(rb"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)"
                       rb"(?P<rest>[/?].*)?$", re.DOTALL)
# What the service supports anywhere (for the Allow header of `OPTIONS *`).
SERVER_METHODS = "GET, HEAD, POST"


@dataclasses.dataclass(frozen=True)
class Target:
    """A request-target accepted for routing: the origin-form URI and the effective Host."""

    uri: bytes
    host: bytes | None  # None: keep the Host field as received (origin-form)


def _star_fault(method: bytes) -> ServiceFault:
    if method == b"OPTIONS":
        return ServiceFault(
            faults.CLIENT_METHOD_NOT_ALLOWED,
            "This service answers no server-wide OPTIONS request.",
            headers=(("Allow", SERVER_METHODS),),
            reason="options *",
        )
    return bad_http_request("asterisk-form target")


def check_host_fields(version: bytes, hosts: Sequence[bytes]) -> None:
    """RFC 9112 3.2: one Host for HTTP/1.1, never two, and a well-formed value; else 400."""
    if len(hosts) > 1:
        raise bad_http_request("more than one host field")
    if not hosts:
        if version == b"HTTP/1.1":
            raise bad_http_request("no host field")
        return
    if not _HOST.match(hosts[0].strip(b" \t")):
        raise bad_http_request("malformed host field")


def check_target(method: bytes, target: bytes) -> Target:
    """The origin-form URI to route `target` by, or the 400/405 refusal for it."""
    if target.startswith(b"/"):
        return Target(target, None)
    if target == b"*":
        raise _star_fault(method)
    match = _ABSOLUTE.match(target)
    if match is None:
        raise bad_http_request("request target form")
    if match.group("scheme").lower() not in (b"http", b"https"):
        raise bad_http_request("request target scheme")
    authority = match.group("authority")
    if not authority or b"@" in authority or not _HOST.match(authority):
        raise bad_http_request("request target authority")
    rest = match.group("rest") or b"/"
    if rest.startswith(b"?"):
        rest = b"/" + rest
    return Target(rest, authority)
