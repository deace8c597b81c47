"""The service page at GET /: what a person sees in a browser (headless Chromium), and escaping."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lxml import etree

from client import HighwayClient, Observation
from soap_service.ops import board, contract_docs, fault_table, samples
from soap_service.store.traffic_store import open_traffic_store
from tests.contract.test_contract_bounds import generated_network, write_network
from tests.soap_helpers import request

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Locally a missing browser skips; in CI (CI=true) it is installed, so its absence must fail.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI", "").lower() != "true",
    reason="needs Debian chromium (apt-get install chromium)",
)


def chromium(url: str, *extra: str) -> str:
    """Run headless Chromium on `url` and return its stdout (the DOM with --dump-dom)."""
    assert CHROMIUM is not None
    profile = tempfile.mkdtemp(prefix="highway-chromium-")
    try:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", *extra, url],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Text(HTMLParser):
    """Visible text of a DOM dump, table rows as lists of cell texts, links, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self.titles: list[str] = []
        self.scripts = 0
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        title = dict(attrs).get("title")
        if title:
            self.titles.append(title)
        if tag in ("style", "script"):
            self._skip += 1
            self.scripts += tag == "script"
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def test_page_headers_and_escaping(open_server) -> None:
    page = request(open_server.url, None, method="GET", path="/")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.body.decode()
    assert "Florida&#x27;s Turnpike" in html  # a name from the store, escaped
    assert "&lt;soap:Envelope" in html and "<soap:Envelope" not in html  # samples escaped
    assert not re.search(r"<(script|link|img|iframe)\b", html)  # no scripts, no external assets
    assert not re.search(r"(src|href)=\"https?://", html)
    head = request(open_server.url, None, method="HEAD", path="/")
    assert head.status == 200 and head.body == b""
    assert request(open_server.url, b"<x/>", method="POST", path="/").status == 405


@needs_chromium
def test_what_a_person_sees_in_chromium(open_server, tmp_path: Path) -> None:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with HighwayClient(url=open_server.url) as client:
        client.report_observations([Observation(f"t-{i}", "217-NB-03", at, 20.0)
                                    for i in range(3)])
    dom = chromium(open_server.base_url + "/", "--dump-dom")
    page = _Text()
    page.feed(dom)
    text = " ".join(" ".join(page.text).split())
    for visible in ("Highway Traffic SOAP service", "ListHighways", "GetTravelTimes",
                    "ReportObservations", "Live travel times", "Security requirements",
                    "Fault codes", "soap:Client.UnknownHighway", "wsse:FailedAuthentication",
                    "Sample request (UsernameToken, PasswordDigest)",
                        "Sample request (UsernameToken, PasswordText", "wsse:UsernameToken",
                    "tns:HighwayId"):
        assert visible in text, visible
    assert page.scripts == 0
    # Segment tooltips name both ends: a store value with a quote, unescaped back for people.
    assert "192-EB-05: John Young Parkway to Florida's Turnpike (no recent data)" in page.titles
    assert "217-NB-03: Greenburg Road to Scholls Ferry Road (20 km/h, HEAVY)" in page.titles
    assert {"/soap?wsdl", "/soap?xsd"} <= set(page.links)
    board = [row for row in page.rows if len(row) == 9 and row[0] in {"192", "217", "225"}]
    assert [(r[0], r[2]) for r in board] == [("192", "EB"), ("192", "WB"), ("217", "NB"),
                                             ("217", "SB"), ("225", "NB"), ("225", "SB")]
    nb217 = board[2]
    assert nb217[6] == "HEAVY" and nb217[7] == "1/6"  # the reported jam shows up
    assert float(nb217[3]) > float(nb217[4])  # minutes now above free flow
    assert board[0][6] == "NO DATA"
    params = [row for row in page.rows if row[:2] == ["highway", "tns:HighwayId"]]
    assert params and "1 to 4 digits" in params[0][3]  # xs:annotation documentation shown

    shot = tmp_path / "page.png"
    chromium(open_server.base_url + "/", f"--screenshot={shot}", "--window-size=1280,900")
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank image


def test_samples_cover_both_password_types_and_say_they_must_be_fresh(open_server) -> None:
    """Issue 16: a PasswordText sample beside the digest one, and the freshness note."""
    html = request(open_server.url, None, method="GET", path="/").body.decode()
    assert "#PasswordText" in html and "#PasswordDigest" in html
    assert html.count(escape(samples.FRESHNESS_NOTE)) == 2 * len(contract_docs.operations())


def test_nested_types_are_listed_with_their_fields(open_server) -> None:
    """Every complex type of the contract shows its elements, types and occurrences."""
    html = request(open_server.url, None, method="GET", path="/").body.decode()
    types = html[html.index('id="types"'):]
    complex_types = [t for t in contract_docs.types() if t.fields]
    assert {t.name for t in complex_types} >= {"HighwaySummary", "SegmentTravelTime",
                                               "DirectionTravelTime", "Observation"}
    for type_doc in complex_types:
        section = types[types.index(f'id="type-{type_doc.name}"'):]
        section = section[:section.index("</tr></tbody></table></td></tr>")]
        for field in type_doc.fields:
            assert f"<code>{escape(field.name)}</code>" in section, (type_doc.name, field.name)
            assert f"<code>{escape(field.type)}</code>" in section, (type_doc.name, field.name)
    assert "1..2000" in types  # DirectionTravelTime/segment, from the contract


def test_fault_table_statuses_match_the_front_door_catalogue() -> None:
    """The table's HTTP status for each code is what the real server answered in the catalogue."""
    from tests.frontdoor.catalogue import CASES

    table = {code: status for code, status, _ in fault_table.fault_rows()}
    checked = 0
    for case in CASES:
        if case.code is not None:
            assert table[case.code] == case.status, (case.name, case.code, case.status)
            checked += 1
    assert checked > 30


def test_fault_table_says_utf16_is_served(open_server) -> None:
    """A UTF-16 request with a BOM is answered, and the table describes that rule."""
    body = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:ht="urn:highway-traffic:v1"><soap:Body><ht:ListHighways/></soap:Body>'
            "</soap:Envelope>").encode("utf-16")
    answer = request(open_server.url, body, headers={"Content-Type": "text/xml; charset=utf-16"})
    assert answer.status == 200, answer.body[:300]
    meaning = dict((code, text) for code, _, text in fault_table.fault_rows())
    assert "UTF-16" in meaning["soap:Client.UnsupportedEncoding"]
    assert "utf-16" in meaning["soap:Client.UnsupportedMediaType"]


def board_rows(html: str) -> list[str]:
    """Highway ids of the board's rows, in order."""
    board = html[html.index('id="board"'):html.index("</section>", html.index('id="board"'))]
    return re.findall(r'<td class="hw">([^<]+)</td>', board)


def test_board_is_paged_so_its_size_does_not_grow_with_the_network(
    server_factory, tmp_path: Path
) -> None:
    """Issue 14: page 1 of 60 highways shows PAGE_SIZE of them; ?page=N shows the rest."""
    db = tmp_path / "wide.db"
    write_network(db, generated_network(60, 3))
    server = server_factory("--no-require-auth", db=db)
    first = request(server.url, None, method="GET", path="/").body.decode()
    highways_on = {len(set(board_rows(first)))}
    assert highways_on == {board.PAGE_SIZE}
    assert "Highways 1-25 of 60 (page 1 of 3)" in first and 'href="/?page=2#board"' in first
    last = request(server.url, None, method="GET", path="/?page=3").body.decode()
    assert len(set(board_rows(last))) == 60 - 2 * board.PAGE_SIZE
    beyond = request(server.url, None, method="GET", path="/?page=99").body.decode()
    assert board_rows(beyond) == board_rows(last)  # clamped to the last page


def test_board_pages_are_built_once_per_data_version(tmp_path) -> None:
    """Requests between two data versions reuse the rendered page."""
    store = open_traffic_store(str(tmp_path / "board.db"))
    version = [1]

    async def current() -> int:
        return version[0]

    cache = board.BoardCache(store, version=current)
    calls = []
    original = store.travel_times

    async def counting(*args, **kwargs):
        calls.append(args)
        return await original(*args, **kwargs)

    store.travel_times = counting  # type: ignore[method-assign]

    async def scenario() -> None:
        assert await cache.page(1) == await cache.page(1)
        assert len(calls) == 3  # one per highway of the sample network, once
        version[0] = 2
        await cache.page(1)
        assert len(calls) == 6

    asyncio.run(scenario())
    asyncio.run(store.engine.close())


def test_service_page_and_wsdl_are_counted_by_the_per_ip_limit(server_factory) -> None:
    """Issue 14: GET / and ?wsdl share the per-IP budget; health probes do not."""
    server = server_factory("--no-require-auth", "--ip-rate-limit", "3/minute")
    statuses = [request(server.url, None, method="GET", path=path).status
                for path in ("/", "/soap?wsdl", "/soap?singleWsdl")]
    assert statuses == [200, 200, 200]
    refused = request(server.url, None, method="GET", path="/")
    assert refused.status == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.fault_detail()["code"] == "Client.RateLimited"
    assert request(server.url, None, method="GET", path="/soap?wsdl").status == 429
    assert request(server.url, None, method="GET", path="/healthz").status == 200
    assert request(server.url, None, method="GET", path="/readyz").status == 200


def test_single_wsdl_is_the_same_document_as_wsdl(open_server) -> None:
    """What .NET tools ask for (?singleWsdl) is the single-file WSDL served at ?wsdl."""
    wsdl = request(open_server.url, None, method="GET", path="/soap?wsdl")
    single = request(open_server.url, None, method="GET", path="/soap?singleWsdl")
    assert single.status == 200 and single.body == wsdl.body
    assert single.headers["content-type"] == wsdl.headers["content-type"]


def _pre_blocks(html: str, start: str) -> list[str]:
    """The unescaped <pre> texts after `start` (an id attribute), up to the next section."""
    part = html[html.index(start):]
    part = part[:part.index("</section>")]
    return [unescape(p) for p in re.findall(r"<pre>(.*?)</pre>", part, re.S)]


def _with_header(sample: str, header: str) -> bytes:
    """A page sample envelope with its wsse:Security element replaced by `header`."""
    root = etree.fromstring(sample.encode())
    old = root.find(".//{*}Security")
    assert old is not None
    old.getparent().replace(old, etree.fromstring(header.encode()))
    return etree.tostring(root)


def test_page_samples_work_with_the_page_generator(server_factory) -> None:
    """Issue 16: the samples must be fresh; the page's own generator makes them so. Its
    output, pasted into the page's sample, is accepted (PasswordDigest and PasswordText);
    the sample as shown, with its fixed example Created, is refused."""
    server = server_factory()  # authentication on; the demo account keeps a digest secret
    exported = re.search(r"export HIGHWAY_URL=\S+ HIGHWAY_USERNAME=(\S+) HIGHWAY_PASSWORD=(\S+)",
                         server.log_text())
    assert exported, server.log_text()
    user, password = exported.groups()
    html = request(server.url, None, method="GET", path="/").body.decode()
    (generator,) = _pre_blocks(html, 'id="fresh-token"')
    assert generator == samples.TOKEN_GENERATOR
    digest_sample, text_sample, _response = _pre_blocks(html, 'id="op-GetTravelTimes"')
    assert "#PasswordDigest" in digest_sample and "#PasswordText" in text_sample
    stale = request(server.url, digest_sample.encode())
    assert stale.status == 500 and stale.fault()[0].startswith("wsse:"), stale.body[:300]

    env = {**os.environ, "HIGHWAY_USERNAME": user, "HIGHWAY_PASSWORD": password}
    for sample, argv in ((digest_sample, []), (text_sample, ["text"])):
        header = subprocess.run([sys.executable, "-c", generator, *argv], env=env,
                                capture_output=True, text=True, check=True).stdout.strip()
        answer = request(server.url, _with_header(sample, header))
        assert answer.status == 200, answer.body[:400]
        assert b"GetTravelTimesResponse" in answer.body
        again = request(server.url, _with_header(sample, header))  # each nonce counts once
        assert again.status == 500 and again.fault()[0] == "wsse:InvalidSecurity"


def test_nested_types_are_expanded_recursively(open_server) -> None:
    """A response's nested types show their own fields, down to the leaves, by path; simple
    types show their restriction; the fault detail's fields are listed."""
    html = request(open_server.url, None, method="GET", path="/").body.decode()
    op = html[html.index('id="op-GetTravelTimes"'):]
    op = op[:op.index("</section>")]
    for path in ("travelTime", "travelTime/segment", "travelTime/segment/speedKph",
                 "travelTime/segment/congestion", "travelTime/asOf"):
        assert f"<code>{path}</code>" in op, path
    assert '<a href="#type-SegmentTravelTime"><code>tns:SegmentTravelTime</code></a>' in op
    types = html[html.index('id="types"'):]
    direction = types[types.index('id="type-DirectionTravelTime"'):]
    direction = direction[:direction.index('id="type-', 10)]
    assert "<code>segment/stale</code>" in direction
    assert "one of NB, SB, EB, WB" in types and "pattern [0-9]{1,4}[A-Z]?" in types
    faults_part = html[html.index('id="faults"'):]
    for name in ("code", "correlationId", "retryAfterSeconds", "observationIndex"):
        assert f"<code>{name}</code>" in faults_part, name


def test_recursive_fields_stop_at_a_type_met_again() -> None:
    """A type that contains itself is expanded once, not forever."""
    schema = etree.fromstring(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:t">'
        '<xs:complexType name="Node"><xs:sequence><xs:element name="value" type="xs:int"/>'
        '<xs:element name="next" type="tns:Node" minOccurs="0"/></xs:sequence>'
        "</xs:complexType></xs:schema>")
    types = {t.get("name"): t for t in schema}
    fields = contract_docs._fields(types["Node"].find("{*}sequence"), types, frozenset({"Node"}))
    assert [path for f in fields for path, _ in f.flattened()] == ["value", "next"]
