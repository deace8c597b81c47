"""GET /: the service's help page, like enterprise SOAP stacks provide, in plain escaped HTML.

Everything static (contract documentation, samples, fault table) is rendered once; the live
board is paged (?page=N) and each page is built once per data version (ops/board.py). No
scripts and no external assets: the Content-Security-Policy forbids both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from html import escape
from typing import Any

from soap_service import __version__
from soap_service.core.exchange import Reply
from soap_service.core.principal import OPERATIONS_BY_ROLE
from soap_service.ops import contract_docs, samples
from soap_service.ops.board import BoardCache
from soap_service.ops.fault_table import fault_rows, meaning_html
from soap_service.ops.page_style import STYLE

HTML = "text/html; charset=utf-8"
HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
     "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),  # the board is live
)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A table of already-escaped cells."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _type_cell(type_name: str) -> str:
    """A field's type; the contract's own types link to their entry in the Types section."""
    code = f"<code>{escape(type_name)}</code>"
    if type_name.startswith("tns:"):
        return f'<a href="#type-{escape(type_name[4:])}">{code}</a>'
    return code


def _fields(fields: Sequence[contract_docs.Field]) -> str:
    """Elements with their types; a complex type's fields follow it, recursively, each named
    by its path (`travelTime/segment/speedKph`)."""
    if not fields:
        return '<p class="note">No parameters.</p>'
    rows = [row for f in fields for row in f.flattened()]
    return _table(["Element", "Type", "Occurs", "Description"], [
        (f"<code>{escape(path)}</code>", _type_cell(f.type), escape(f.occurs),
         escape(f.documentation)) for path, f in rows
    ])


def _operation(op: contract_docs.OperationDoc) -> str:
    roles = ", ".join(r for r, ops in OPERATIONS_BY_ROLE.items() if op.name in ops)
    return (
        f'<section class="op" id="op-{escape(op.name)}"><h3>{escape(op.name)}</h3>'
        f"<p>{escape(op.documentation)}</p>"
        f'<p class="meta">SOAPAction <code>{escape(op.soap_action)}</code> &middot; '
        f"roles: {escape(roles)}</p>"
        f"<h4>Request parameters</h4><p>{escape(op.request_documentation)}</p>"
        f"{_fields(op.request)}<h4>Response</h4>{_fields(op.response)}"
        f"<details><summary>Sample request (UsernameToken, PasswordDigest)</summary>"
        f'<p class="note">{escape(samples.FRESHNESS_NOTE)}</p>'
        f"<pre>{escape(samples.sample_request(op.name))}</pre></details>"
        f"<details><summary>Sample request (UsernameToken, PasswordText: HTTPS or loopback only)"
        f'</summary><p class="note">{escape(samples.FRESHNESS_NOTE)}</p>'
        f"<pre>{escape(samples.sample_request(op.name, password='text'))}</pre></details>"
        f"<details><summary>Sample response</summary>"
        f"<pre>{escape(samples.sample_response(op.name))}</pre></details></section>"
    )


def _security(settings: Any) -> str:
    required = settings.security.require_authentication
    items = [
        "Every operation needs an authenticated caller." if required else
        "Authentication is <strong>switched off</strong> on this server (--no-require-auth): "
        "anonymous calls are accepted. Production servers require it.",
        "WS-Security 1.1 UsernameToken: PasswordDigest (with Nonce and Created), or "
        "PasswordText over TLS or loopback only.",
        "X.509 BinarySecurityToken signature: RSA-SHA256, SHA-256 digests, exclusive C14N, "
        "covering the Body and a wsu:Timestamp"
        + ("." if settings.security.wss_ca else " (not configured on this server)."),
        "TLS client certificates" + (" are required on this listener." if settings.tls.client_ca
                                     else ": not configured on this server."),
        f"Created/Timestamp at most {settings.security.max_age_seconds:g} s old and "
        f"{settings.security.future_skew_seconds:g} s ahead; each nonce is accepted once.",
        "Transport: " + ("HTTPS." if settings.uses_tls else "plain HTTP (use TLS in production)."),
    ]
    role_rows = [(escape(role), escape(", ".join(sorted(ops))))
                 for role, ops in OPERATIONS_BY_ROLE.items()]
    return ('<section id="security"><h2>Security requirements</h2><ul>'
            + "".join(f"<li>{item}</li>" for item in items) + "</ul>"
            + _table(["Role", "May call"], role_rows)
            + '<details id="fresh-token"><summary>A fresh UsernameToken header (Python 3, '
            f'standard library)</summary><p class="note">{escape(samples.GENERATOR_NOTE)}</p>'
            f"<pre>{escape(samples.TOKEN_GENERATOR)}</pre></details></section>")


def _faults() -> str:
    rows = [(f"<code>{escape(code)}</code>", str(status), meaning_html(text))
            for code, status, text in fault_rows()]
    detail = contract_docs.fault_detail()
    return ('<section id="faults"><h2>Fault codes</h2><p>Every fault carries a '
            "<code>ht:ServiceFault</code> detail with the code and a correlation id that also "
            "appears in the server log.</p>" + _table(["faultcode", "HTTP", "Meaning"], rows)
            + f"<h3>The detail: <code>ht:ServiceFault</code></h3><p>{escape(detail.documentation)}"
            + f"</p>{_fields(detail.fields)}"
            + f"<details><summary>Sample fault</summary><pre>{escape(samples.sample_fault())}"
            "</pre></details></section>")


def _types() -> str:
    """Every named type: simple types with their restriction, complex types with their
    fields (element, type, occurs), nested types' fields included."""
    rows = []
    for t in contract_docs.types():
        description = escape(t.documentation)
        if t.facets:
            description += f'<br><span class="meta">{escape(t.facets)}</span>'
        if t.fields:
            description += _fields(t.fields)
        rows.append((f'<code id="type-{escape(t.name)}">{escape(t.name)}</code>', description))
    return '<section id="types"><h2>Types</h2>' + _table(["Type", "Description"], rows) + \
        "</section>"


def render_static(settings: Any) -> tuple[str, str]:
    """The page before and after the live board (rendered once per process)."""
    ops = contract_docs.operations()
    toc = "".join(f'<li><a href="#op-{escape(o.name)}">{escape(o.name)}</a></li>' for o in ops)
    head = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Highway Traffic SOAP service</title><style>{STYLE}</style></head><body>"
        f"<header><h1>Highway Traffic SOAP service</h1><p>Version {escape(__version__)} "
        "&middot; SOAP 1.1, document/literal &middot; endpoint <code>/soap</code></p>"
        '<nav><a href="/soap?wsdl">WSDL</a><a href="/soap?xsd">XSD</a>'
        '<a href="/healthz">/healthz</a><a href="/readyz">/readyz</a></nav></header><main>'
        f'<section id="about"><p>{escape(contract_docs.service_documentation())}</p>'
        f"<p>Operations:</p><ul>{toc}</ul></section>"
    )
    tail = (
        _security(settings)
        + '<section id="operations"><h2>Operations</h2>'
        + "".join(_operation(o) for o in ops) + "</section>"
        + _faults() + _types() + "</main></body></html>"
    )
    return head, tail


def service_page_route(service: Any) -> Callable[[frozenset[str]], Awaitable[Reply]]:
    """GET / and HEAD /: the static documentation around a freshly rendered board."""
    head, tail = render_static(service.settings)
    board = BoardCache(service.store)

    async def route(query: frozenset[str]) -> Reply:
        body = head + await board.page(_page_number(query)) + tail
        return Reply(200, body.encode("utf-8"), HEADERS, content_type=HTML)

    return route


def _page_number(query: frozenset[str]) -> int:
    """The board page asked for with `?page=N` (1 when absent or not a small number)."""
    for item in query:
        name, _, value = item.partition("=")
        if name == "page" and value.isdigit() and len(value) <= 6:
            return int(value)
    return 1
