"""Helpers for operations tests: scrape metrics, read JSON log lines, add accounts, PasswordText."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, RunningServer

METRICS_AT = re.compile(r"metrics at (http://\S+/metrics)")
_UT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_B64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"


def metrics_url(server: RunningServer) -> str:
    """The metrics URL the server logged at startup."""
    match = METRICS_AT.search(server.log_text())
    assert match, server.log_text()
    return match.group(1)


def scrape(server: RunningServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the metrics endpoint: (name, sorted labels) -> value."""
    return scrape_url(metrics_url(server))


def scrape_url(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one metrics URL (one process; workers each have their own)."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


def access_records(server: RunningServer) -> list[dict]:
    """The JSON access-log records the server wrote so far."""
    records = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    return [r for r in records if r.get("event") == "request"]


def add_account(db: Path, name: str, role: str, password: str, *, digest: bool = False) -> None:
    """`highway-server users add` with the password on stdin, as an operator would."""
    subprocess.run([sys.executable, "-m", "soap_service", "users", "add", name, "--role", role,
                    "--db", str(db), "--create", *(["--digest"] if digest else [])],
                   input=password + "\n", text=True, check=True, cwd=ROOT, capture_output=True)


def password_text_header(user: str, password: str, nonce: bytes) -> str:
    """A wsse:Security header with a PasswordText UsernameToken, a Nonce and Created now."""
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{_UT}#PasswordText">{password}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{_B64}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )
