"""Fixtures for the peer tests: a running server with an account each peer authenticates as."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.interop.peers import (
    Credentials,
    PeerResult,
    add_account,
    fault_local_code,
    in_ci,
    security_available,
)

ACCESS_LINE = re.compile(r"op=(\S+) outcome=(\S+) status=\d+ principal=(\S+) .*? cid=(\S+)")


@dataclasses.dataclass
class PeerTarget:
    """A server for a peer to call, and the account it should present."""

    server: RunningServer
    credentials: Credentials
    enforced: bool  # the server requires authentication (security stages are wired in)

    @property
    def wsdl_url(self) -> str:
        """Where the server serves its contract."""
        return self.server.url + "?wsdl"


def start_target(
    server_factory: Callable[..., RunningServer], tmp_path: Path, credentials: Credentials,
    *, register: Credentials | None = None,
) -> PeerTarget:
    """Start a server; with security available, create the account first and require auth."""
    if not security_available():
        return PeerTarget(server_factory("--no-require-auth"), credentials, enforced=False)
    db = tmp_path / "interop.db"
    add_account(db, register or credentials)
    return PeerTarget(server_factory(db=db), credentials, enforced=True)


@pytest.fixture(params=["text", "digest"])
def peer_target(
    request: pytest.FixtureRequest, server_factory: Callable[..., RunningServer], tmp_path: Path
) -> PeerTarget:
    """A server plus a fresh operator account, once per password mode (PasswordText, Digest)."""
    mode = request.param
    credentials = Credentials(mode, f"interop-{mode}", secrets.token_urlsafe(12))
    return start_target(server_factory, tmp_path, credentials)


@pytest.fixture(params=["text", "digest"])
def wrong_password_target(
    request: pytest.FixtureRequest, server_factory: Callable[..., RunningServer], tmp_path: Path
) -> PeerTarget:
    """A server that enforces authentication, and credentials with the wrong password."""
    if not security_available():
        reason = "the server has no accounts yet (`highway-server users` missing)"
        if in_ci():
            pytest.fail(f"CI runs with security in place; {reason}", pytrace=False)
        pytest.skip(reason)
    mode = request.param
    real = Credentials(mode, f"interop-{mode}", secrets.token_urlsafe(12))
    wrong = dataclasses.replace(real, password=real.password + "-wrong")
    return start_target(server_factory, tmp_path, wrong, register=real)


def access_records(log_text: str) -> list[tuple[str, str, str, str]]:
    """(operation, outcome, principal, correlation id) per SOAP request in the server's access
    log (the access log also has a line for every GET, e.g. the peer fetching ?wsdl: skipped).

    outcome is "ok" or the fault code without its prefix. Both log formats are read: JSON
    lines from the `highway.access` logger, and the older `op=... outcome=...` lines.
    """
    records = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("logger") != "highway.access" or entry.get("method") in ("GET", "HEAD"):
                continue
            code = entry.get("fault_code")
            records.append((entry.get("operation") or "-",
                            code.partition(":")[2] if code else "ok",
                            entry.get("principal") or "-", entry.get("correlation_id") or "-"))
        elif match := ACCESS_LINE.search(line):
            op, outcome, principal, cid = match.groups()
            records.append((op, outcome, principal, cid))
    return records


def access_log_until(server: RunningServer, correlation_id: str,
                     timeout: float = 5.0) -> list[tuple[str, str, str, str]]:
    """The access records of `server`, once the request with `correlation_id` is logged."""
    # The access line is written when the exchange completes, which may be just after the
    # peer has read its answer and exited.
    deadline = time.monotonic() + timeout
    while True:
        records = access_records(server.log_text())
        if any(cid == correlation_id for *_, cid in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def assert_reads_and_faults(result: PeerResult, target: PeerTarget) -> None:
    """The answers every peer must get: the sample network, then our two fault codes."""
    assert not result.other or all(line.startswith("functions ") for line in result.other), (
        result.other
    )
    highways = result.ok["ListHighways"]
    assert {"192", "217", "225"} <= set(highways["ids"].split(",")), highways
    travel = result.ok["GetTravelTimes:192"]
    assert (travel["directions"], travel["segments"], travel["first"]) == (
        "EB,WB", "12", "192-EB-01")
    for call, code in [("GetTravelTimes:ASDFGHJ", "Client.SchemaValidation"),
                       ("GetTravelTimes:9999", "Client.UnknownHighway")]:
        fault = result.faults[call]
        assert fault_local_code(fault["faultcode"]) == code, fault
        assert fault["detail"] == code, fault  # tns:ServiceFault detail, read by generated code
        assert len(fault["correlation"]) >= 8, fault
    unknown = result.faults["GetTravelTimes:9999"]
    requests = access_log_until(target.server, unknown["correlation"])
    # The correlation id the peer read from the detail ties its fault to the server's log line.
    assert ("GetTravelTimes", "Client.UnknownHighway") in {
        (op, outcome) for op, outcome, _, cid in requests if cid == unknown["correlation"]
    }
    if target.enforced:
        # Every call that reached an operation ran as the account the peer presented.
        served = [(op, principal) for op, outcome, principal, _ in requests
                  if outcome in ("ok", "Client.UnknownHighway")]
        assert {op for op, _ in served} >= {"ListHighways", "GetTravelTimes"}, requests
        assert {principal for _, principal in served} == {target.credentials.user}, requests

def assert_refused(result: PeerResult) -> None:
    """With a wrong password no call gets data, and none learns more than the security fault."""
    assert not result.ok, result.ok
    # ASDFGHJ may fail schema validation first (the Body is validated before authentication);
    # every other call, the unknown highway included, must stop at WS-Security.
    for call in ("ListHighways", "GetTravelTimes:192", "GetTravelTimes:9999"):
        fault = result.faults[call]
        assert fault_local_code(fault["faultcode"]) == "FailedAuthentication", (call, fault)
