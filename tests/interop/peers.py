"""Shared helpers for the peer tests: tool checks, accounts, and parsing the peers' output."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "wsdl" / "highway-traffic.wsdl"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP11_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
# The Debian/pip packages that provide each peer, named in skip and failure messages.
INSTALL_HINT = {
    "gsoap": "apt-get install gsoap libgsoap-dev libssl-dev zlib1g-dev g++",
    "php": "apt-get install php-cli php-soap",
    "suds": "pip install suds-community",
    "jaxws": "apt-get install default-jdk-headless libjaxws-java",
}
LINE = re.compile(r"^(ok|fault) call=(\S+)(.*)$")
FIELD = re.compile(r"(\w+)=(\S*)")


def in_ci() -> bool:
    """True in CI (`CI=true`), where every peer is installed and none may be skipped."""
    return os.environ.get("CI", "").lower() == "true"


def require(peer: str, missing: Iterable[str]) -> None:
    """Skip (locally) or fail (in CI) when any of a peer's tools or files is missing."""
    absent = list(missing)
    if not absent:
        return
    reason = f"{peer} peer unavailable, missing: {', '.join(absent)} ({INSTALL_HINT[peer]})"
    if in_ci():
        pytest.fail(f"CI must install every interop peer; {reason}", pytrace=False)
    pytest.skip(reason)


def missing_programs(*names: str) -> list[str]:
    """The programs among `names` that are not on PATH."""
    return [name for name in names if shutil.which(name) is None]


def missing_files(*paths: str) -> list[str]:
    """The paths among `paths` that do not exist."""
    return [path for path in paths if not Path(path).exists()]


def contract_operations() -> list[str]:
    """Operation names of the checked-in contract's portType, in document order."""
    root = etree.parse(str(CONTRACT)).getroot()
    return [op.get("name") for op in root.iterfind(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")]


@functools.cache
def security_available() -> bool:
    """True once the server has accounts (`users` subcommand) and enforces authentication."""
    # The security work lands in parallel with this suite: until `users` exists, the peers run
    # against --no-require-auth servers and still send their headers.
    probe = subprocess.run([sys.executable, "-m", "soap_service", "users", "--help"], cwd=ROOT,
                           capture_output=True, timeout=60)
    return probe.returncode == 0


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A WS-Security UsernameToken account and how a peer presents its password."""

    mode: str  # "text" (PasswordText) or "digest" (PasswordDigest with Nonce and Created)
    user: str
    password: str


def add_account(db: Path, credentials: Credentials, role: str = "operator") -> None:
    """Create an account with `highway-server users add`, reading the password from stdin."""
    command = [sys.executable, "-m", "soap_service", "users", "add", credentials.user,
               "--role", role, "--db", str(db), "--create"]
    if credentials.mode == "digest":
        command.append("--digest")  # digest accounts keep a recoverable secret; opt-in
    subprocess.run(command, cwd=ROOT, input=(credentials.password + "\n").encode(), check=True,
                   capture_output=True, timeout=60)


@dataclasses.dataclass
class PeerResult:
    """One line per call a peer printed: `ok call=NAME k=v...` or `fault call=NAME k=v...`."""

    ok: dict[str, dict[str, str]]
    faults: dict[str, dict[str, str]]
    other: list[str]

    @classmethod
    def parse(cls, stdout: str) -> PeerResult:
        """Split a peer's stdout into answered calls, faults and any other lines."""
        result = cls({}, {}, [])
        for line in stdout.splitlines():
            match = LINE.match(line)
            if match is None:
                result.other.append(line)
                continue
            # faultstring is free text: keep it whole rather than splitting it into fields.
            rest, _, faultstring = match.group(3).partition(" faultstring=")
            fields = dict(FIELD.findall(rest))
            if faultstring:
                fields["faultstring"] = faultstring
            target = result.ok if match.group(1) == "ok" else result.faults
            target[match.group(2)] = fields
        return result


def fault_local_code(faultcode: str) -> str:
    """The part of a faultcode QName after its prefix (stacks choose their own prefixes)."""
    return faultcode.rpartition(":")[2]


def run_peer(command: list[str], *, timeout: float = 120.0) -> PeerResult:
    """Run a peer client to completion and parse its output; a crash fails the test."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{command[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return PeerResult.parse(done.stdout)
