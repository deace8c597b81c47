"""The service page at GET /: what a person sees in a browser (headless Chromium), and escaping."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from client import HighwayClient, Observation
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
                    "Sample request (with WS-Security header)", "wsse:UsernameToken",
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
