"""The hostile and malformed inputs catalogue: each case is the exact bytes sent (with pauses)
and the exact status and fault code expected. Used against the real server."""

from __future__ import annotations

import dataclasses

from tests.frontdoor.rawhttp import chunked, post

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
HT = "urn:highway-traffic:v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
ACTION = "urn:highway-traffic:v1/ListHighways"


def envelope(body: str = "<ht:ListHighways/>", header: str = "", ns: str = SOAP11,
             prolog: str = '<?xml version="1.0" encoding="UTF-8"?>', extra_ns: str = "") -> str:
    """A SOAP envelope around `body` (ListHighways by default)."""
    head = f"<soap:Header>{header}</soap:Header>" if header else ""
    return (f'{prolog}<soap:Envelope xmlns:soap="{ns}" xmlns:ht="{HT}"{extra_ns}>'
            f"{head}<soap:Body>{body}</soap:Body></soap:Envelope>")


VALID = envelope().encode()


def soap(body: bytes | str, content_type: str | None = "text/xml; charset=utf-8",
         **headers: str) -> list[bytes | float]:
    """A POST /soap carrying `body`."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return [post("/soap", data, {k.replace("_", "-"): v for k, v in headers.items()},
                 content_type=content_type)]


def raw(*parts: bytes | float) -> list[bytes | float]:
    """Exactly these bytes and pauses."""
    return list(parts)


@dataclasses.dataclass(frozen=True)
class Case:
    """One catalogue entry."""

    name: str
    parts: list[bytes | float]
    status: int
    code: str | None  # None: a success
    limit: str | None = None  # the <ht:limit> detail of Client.XMLLimitExceeded


def _deep(levels: int) -> str:
    return "<ht:x>" * levels + "</ht:x>" * levels


BIG = 1024 * 1024 + 1
HEAD_ONLY = (f"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
             f"Content-Length: {BIG}\r\n\r\n").encode()
CHUNKED_HEAD = (b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">'
                            for i in range(1, 10))
                  + "]>" + envelope("<ht:ListHighways>&lol9;</ht:ListHighways>", prolog=""))
MU = 'soap:mustUnderstand="1"'


def _line(request_line: bytes, hosts: bytes = b"Host: 127.0.0.1\r\n") -> bytes:
    """A POST of the valid envelope with this request line and these Host lines."""
    return (request_line + b"\r\n" + hosts + b"Content-Type: text/xml; charset=utf-8\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(VALID) + VALID)

CASES: list[Case] = [
    # --- size --------------------------------------------------------------------------
    Case("content-length-over-cap", raw(HEAD_ONLY), 413, "soap:Client.RequestTooLarge"),
    Case("content-length-over-cap-with-body", raw(HEAD_ONLY, b"<" * BIG), 413,
         "soap:Client.RequestTooLarge"),
    Case("chunked-over-cap", raw(CHUNKED_HEAD, *(b"10000\r\n" + b"a" * 65536 + b"\r\n"
                                                 for _ in range(20))), 413,
         "soap:Client.RequestTooLarge"),
    Case("expect-continue-over-cap", raw(HEAD_ONLY.replace(b"\r\n\r\n",
                                                          b"\r\nExpect: 100-continue\r\n\r\n")),
         413, "soap:Client.RequestTooLarge"),
    # --- time (the catalogue server runs with 1 s / 2 s deadlines) ------------------------
    Case("slow-headers", raw(b"POST /soap HTTP/1.1\r\nHost: x\r\n"), 408,
         "soap:Client.RequestTimeout"),
    Case("trickled-headers", raw(*[p for ch in b"POST /soap HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaa"
                                   for p in (bytes([ch]), 0.05)]), 408,
         "soap:Client.RequestTimeout"),
    Case("slow-body", raw(post("/soap", VALID)[:-20]), 408, "soap:Client.RequestTimeout"),
    Case("silent-connection", raw(), 408, "soap:Client.RequestTimeout"),
    # --- HTTP method, path, media type, coding, framing -----------------------------------
    Case("get-soap-without-wsdl", raw(b"GET /soap HTTP/1.1\r\nHost: x\r\n\r\n"), 405,
         "soap:Client.MethodNotAllowed"),
    Case("put", raw(post("/soap", VALID).replace(b"POST", b"PUT", 1)), 405,
         "soap:Client.MethodNotAllowed"),
    Case("delete", raw(b"DELETE /soap HTTP/1.1\r\nHost: x\r\n\r\n"), 405,
         "soap:Client.MethodNotAllowed"),
    Case("unknown-path", raw(post("/soapx", VALID)), 404, "soap:Client.NotFound"),
    Case("post-to-healthz", raw(post("/healthz", VALID)), 405, "soap:Client.MethodNotAllowed"),
    Case("soap12-media-type", soap(VALID, "application/soap+xml; charset=utf-8"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("form-urlencoded", soap(b"a=1&b=2", "application/x-www-form-urlencoded"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("multipart", soap(b"--b\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("no-content-type", soap(VALID, None), 415, "soap:Client.UnsupportedMediaType"),
    Case("charset-latin1", soap(VALID, "text/xml; charset=iso-8859-1"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("charset-utf7", soap(VALID, "text/xml; charset=utf-7"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("two-content-types", soap(VALID, "text/xml, text/html"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("gzip-encoding", soap(VALID, Content_Encoding="gzip"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("deflate-encoding", soap(VALID, Content_Encoding="deflate"), 415,
         "soap:Client.UnsupportedMediaType"),
    Case("bad-request-line", raw(b"NOT HTTP AT ALL\r\n\r\n"), 400, "soap:Client.BadHTTPRequest"),
    Case("transfer-encoding-gzip", raw(CHUNKED_HEAD.replace(b"chunked", b"gzip")), 400,
         "soap:Client.BadHTTPRequest"),
    Case("content-length-and-chunked", raw(CHUNKED_HEAD.replace(
        b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n")), 400, "soap:Client.BadHTTPRequest"),
    Case("header-line-too-long", raw(b"POST /soap HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"),
         400, "soap:Client.BadHTTPRequest"),
    # --- RFC 9112: Host fields and request-target forms -------------------------------------
    Case("no-host", raw(_line(b"POST /soap HTTP/1.1", b"")), 400, "soap:Client.BadHTTPRequest"),
    Case("two-hosts", raw(_line(b"POST /soap HTTP/1.1", b"Host: a\r\nHost: b\r\n")), 400,
         "soap:Client.BadHTTPRequest"),
    Case("malformed-host", raw(_line(b"POST /soap HTTP/1.1", b"Host: a@b\r\n")), 400,
         "soap:Client.BadHTTPRequest"),
    Case("options-star", raw(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 405,
         "soap:Client.MethodNotAllowed"),
    Case("post-star", raw(_line(b"POST * HTTP/1.1")), 400, "soap:Client.BadHTTPRequest"),
    Case("authority-form", raw(b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"),
         400, "soap:Client.BadHTTPRequest"),
    Case("absolute-form-bad-scheme", raw(_line(b"POST file:///soap HTTP/1.1")), 400,
         "soap:Client.BadHTTPRequest"),
    Case("relative-target", raw(_line(b"POST soap HTTP/1.1")), 400, "soap:Client.BadHTTPRequest"),
    Case("ok-absolute-form", raw(_line(b"POST http://127.0.0.1/soap HTTP/1.1")), 200, None),
    Case("ok-http10-without-host", raw(_line(b"POST /soap HTTP/1.0", b"")), 200, None),
    # --- not XML, truncated, empty -------------------------------------------------------------
    Case("empty-body", soap(b""), 500, "soap:Client.XMLSyntaxError"),
    Case("whitespace-body", soap(b" \r\n\t "), 500, "soap:Client.XMLSyntaxError"),
    Case("truncated-envelope", soap(VALID[:-30]), 500, "soap:Client.XMLSyntaxError"),
    Case("json-body", soap(b'{"op": "ListHighways"}'), 500, "soap:Client.XMLSyntaxError"),
    Case("chunked-truncated-xml", raw(CHUNKED_HEAD + chunked([VALID[:50]])), 500,
         "soap:Client.XMLSyntaxError"),
    Case("invalid-utf8", soap(envelope("<ht:ListHighways>\xff</ht:ListHighways>")
                               .encode("latin-1")), 500, "soap:Client.XMLSyntaxError"),
    Case("bad-xml-declaration", soap(envelope(prolog='<?xml encoding="UTF-8"?>')), 500,
         "soap:Client.XMLSyntaxError"),
    # --- DTDs, entities, PIs ----------------------------------------------------------------
    Case("billion-laughs", soap(BILLION_LAUGHS), 500, "soap:Client.DTDNotAllowed"),
    Case("xxe-file", soap('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM '
                          '"file:///etc/passwd">]>' + envelope(
                              "<ht:GetTravelTimes><ht:highway>&xxe;</ht:highway>"
                              "</ht:GetTravelTimes>", prolog="")), 500,
         "soap:Client.DTDNotAllowed"),
    Case("external-dtd", soap('<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">' + envelope(
        prolog="")), 500, "soap:Client.DTDNotAllowed"),
    Case("parameter-entity", soap('<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
                                  + envelope(prolog="")), 500, "soap:Client.DTDNotAllowed"),
    Case("doctype-after-comment", soap("<!-- hi --><!DOCTYPE x>" + envelope(prolog="")), 500,
         "soap:Client.DTDNotAllowed"),
    Case("undeclared-entity", soap(envelope("<ht:GetTravelTimes><ht:highway>&xxe;</ht:highway>"
                                            "</ht:GetTravelTimes>")), 500,
         "soap:Client.EntityNotAllowed"),
    Case("pi-in-prolog", soap(envelope(prolog='<?xml version="1.0"?><?php x ?>')), 500,
         "soap:Client.ProcessingInstructionNotAllowed"),
    Case("xml-stylesheet-pi", soap('<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?>'
                                   + envelope(prolog="")), 500,
         "soap:Client.ProcessingInstructionNotAllowed"),
    Case("pi-in-body", soap(envelope("<ht:ListHighways><?x y?></ht:ListHighways>")), 500,
         "soap:Client.ProcessingInstructionNotAllowed"),
    Case("pi-after-root", soap(envelope() + "<?x y?>"), 500,
         "soap:Client.ProcessingInstructionNotAllowed"),
    # --- shape limits -------------------------------------------------------------------------
    Case("deep-nesting", soap(envelope(_deep(100))), 500, "soap:Client.XMLLimitExceeded",
         "depth"),
    Case("very-deep-nesting", soap(envelope(_deep(20000))), 500,
         "soap:Client.XMLLimitExceeded", "depth"),
    Case("element-flood", soap(envelope("<ht:ListHighways>" + "<ht:a/>" * 20000
                                        + "</ht:ListHighways>")), 500,
         "soap:Client.XMLLimitExceeded", "elements"),
    Case("attribute-flood", soap(envelope("<ht:ListHighways "
                                          + " ".join(f'a{i}="1"' for i in range(200))
                                          + "/>")), 500, "soap:Client.XMLLimitExceeded",
         "attributes"),
    Case("namespace-flood", soap(envelope("<ht:ListHighways "
                                          + " ".join(f'xmlns:n{i}="urn:{i}"' for i in range(200))
                                          + "/>")), 500, "soap:Client.XMLLimitExceeded",
         "namespaces"),
    Case("overlong-element-name", soap(envelope("<ht:" + "a" * 1000 + "/>")), 500,
         "soap:Client.XMLLimitExceeded", "name-length"),
    Case("overlong-attribute-name", soap(envelope("<ht:ListHighways " + "a" * 1000 + '="1"/>')),
         500, "soap:Client.XMLLimitExceeded", "name-length"),
    Case("overlong-text", soap(envelope("<ht:GetTravelTimes><ht:highway>" + "9" * 100_000
                                        + "</ht:highway></ht:GetTravelTimes>")), 500,
         "soap:Client.XMLLimitExceeded", "text-length"),
    # --- encodings ----------------------------------------------------------------------------
    Case("utf7-declaration", soap(envelope(prolog='<?xml version="1.0" encoding="UTF-7"?>')),
         500, "soap:Client.UnsupportedEncoding"),
    Case("latin1-declaration", soap(envelope(
        prolog='<?xml version="1.0" encoding="ISO-8859-1"?>')), 500,
         "soap:Client.UnsupportedEncoding"),
    Case("utf16-body-utf8-charset", soap(envelope(prolog="").encode("utf-16")), 500,
         "soap:Client.UnsupportedEncoding"),
    Case("utf8-body-utf16-charset", soap(VALID, "text/xml; charset=utf-16"), 500,
         "soap:Client.UnsupportedEncoding"),
    Case("utf8-body-declares-utf16", soap(envelope(
        prolog='<?xml version="1.0" encoding="UTF-16"?>')), 500,
         "soap:Client.UnsupportedEncoding"),
    Case("utf16-without-bom", soap(envelope(prolog="").encode("utf-16-le"),
                                   "text/xml; charset=utf-16"), 500,
         "soap:Client.UnsupportedEncoding"),
    Case("utf32-bom", soap(envelope(prolog="").encode("utf-32")), 500,
         "soap:Client.UnsupportedEncoding"),
    # --- SOAP envelope rules ----------------------------------------------------------------
    Case("soap12-envelope", soap(envelope(ns=SOAP12)), 500, "soap:VersionMismatch"),
    Case("unknown-envelope-namespace", soap(envelope(ns="urn:not-soap")), 500,
         "soap:VersionMismatch"),
    Case("not-an-envelope", soap(f'<ht:ListHighways xmlns:ht="{HT}"/>'), 500,
         "soap:Client.InvalidEnvelope"),
    Case("two-body-children", soap(envelope("<ht:ListHighways/><ht:ListHighways/>")), 500,
         "soap:Client.InvalidEnvelope"),
    Case("empty-body-element", soap(envelope("")), 500, "soap:Client.InvalidEnvelope"),
    Case("text-in-body", soap(envelope("hello<ht:ListHighways/>")), 500,
         "soap:Client.InvalidEnvelope"),
    Case("no-body", soap(f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Header/></soap:Envelope>'),
         500, "soap:Client.InvalidEnvelope"),
    Case("two-bodies", soap(envelope().replace("</soap:Envelope>",
                                               "<soap:Body><x/></soap:Body></soap:Envelope>")),
         500, "soap:Client.InvalidEnvelope"),
    Case("header-after-body", soap(envelope().replace("</soap:Envelope>",
                                                      "<soap:Header/></soap:Envelope>")),
         500, "soap:Client.InvalidEnvelope"),
    Case("must-understand-unknown", soap(envelope(header=f'<x:T xmlns:x="urn:x" {MU}/>')), 500,
         "soap:MustUnderstand"),
    Case("must-understand-true", soap(envelope(
        header='<x:T xmlns:x="urn:x" soap:mustUnderstand="true"/>')), 500, "soap:MustUnderstand"),
    Case("soapaction-mismatch", soap(VALID, SOAPAction='"urn:highway-traffic:v1/GetTravelTimes"'),
         500, "soap:Client.SOAPActionMismatch"),
    Case("soapaction-unknown", soap(VALID, SOAPAction='"urn:evil:DropTables"'), 500,
         "soap:Client.SOAPActionMismatch"),
    # --- accepted: legitimate variations must keep working -------------------------------
    Case("ok-plain", soap(VALID), 200, None),
    Case("ok-no-charset", soap(VALID, "text/xml"), 200, None),
    Case("ok-quoted-charset", soap(VALID, 'text/xml; charset="UTF-8"'), 200, None),
    Case("ok-utf8-bom", soap(b"\xef\xbb\xbf" + VALID), 200, None),
    Case("ok-utf16", soap(envelope(prolog='<?xml version="1.0" encoding="UTF-16"?>')
                          .encode("utf-16"), "text/xml; charset=utf-16"), 200, None),
    Case("ok-soapaction", soap(VALID, SOAPAction=f'"{ACTION}"'), 200, None),
    Case("ok-empty-soapaction", soap(VALID, SOAPAction='""'), 200, None),
    Case("ok-comments", soap(envelope(prolog="<!-- c -->") + "<!-- after -->"), 200, None),
    Case("ok-optional-unknown-header", soap(envelope(header='<x:T xmlns:x="urn:x"/>')), 200,
         None),
    Case("ok-must-understand-other-actor", soap(envelope(
        header=f'<x:T xmlns:x="urn:x" {MU} soap:actor="urn:someone-else"/>')), 200, None),
    Case("ok-identity-encoding", soap(VALID, Content_Encoding="identity"), 200, None),
    Case("ok-chunked", raw(CHUNKED_HEAD.replace(b"text/xml", b"text/xml; charset=utf-8")
                           + chunked([VALID[:40], VALID[40:]])), 200, None),
]
