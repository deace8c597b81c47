"""PHP SoapClient (php-cli + php-soap) loads ?wsdl from the server and calls every operation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import PeerTarget, assert_reads_and_faults, assert_refused
from tests.interop.peers import contract_operations, missing_programs, require, run_peer

pytestmark = pytest.mark.interop

CLIENT = Path(__file__).resolve().parent / "php" / "client.php"


@pytest.fixture(scope="module")
def php() -> str:
    """The php binary, once the soap extension is known to be loaded."""
    require("php", missing_programs("php"))
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, timeout=60).stdout
    require("php", [] if "soap" in modules.split() else ["the soap extension (php -m)"])
    return "php"


def test_php_client_calls_every_operation_and_reads_faults(
    php: str, peer_target: PeerTarget
) -> None:
    """SoapClient calls every operation and catches SoapFault with our codes."""
    credentials = peer_target.credentials
    result = run_peer([php, str(CLIENT), peer_target.wsdl_url, credentials.mode,
                       credentials.user, credentials.password])
    assert_reads_and_faults(result, peer_target)
    # SoapClient found every operation of the contract in the served WSDL ...
    functions = next(line for line in result.other if line.startswith("functions "))
    assert functions.split()[1].split(",") == sorted(contract_operations())
    # ... and the script called each of them, so a new operation is not silently left out.
    called = {call.split(":")[0] for call in result.ok}
    assert called == set(contract_operations()), "add the new operation to php/client.php"
    assert result.ok["GetTravelTimes:217:NB"]["directions"] == "NB"
    assert result.ok["ReportObservations"] == {"accepted": "1", "duplicates": "0"}


def test_php_client_with_a_wrong_password_is_refused(
    php: str, wrong_password_target: PeerTarget
) -> None:
    """With a wrong password SoapClient gets wsse:FailedAuthentication."""
    credentials = wrong_password_target.credentials
    result = run_peer([php, str(CLIENT), wrong_password_target.wsdl_url, credentials.mode,
                       credentials.user, credentials.password])
    assert_refused(result)
