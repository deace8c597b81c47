"""JAX-WS (Metro, Debian libjaxws-java): wsimport stubs from ?wsdl; a Java client calls the server.

The client (jaxws/HighwayPeer.java) adds a UsernameToken with a SOAPHandler, calls every
operation and reads faults as the typed ServiceFault_Exception. Metro evaluates the contract's
WS-Policy when the port is created; a WSP0075 "UNKNOWN" line means the WSDL holds something
that is not a policy assertion inside wsp:Policy (issue 16: a wsdl:documentation there).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import PeerTarget, assert_reads_and_faults, assert_refused
from tests.interop.peers import (
    CONTRACT,
    PeerResult,
    contract_operations,
    missing_files,
    missing_programs,
    require,
)

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent / "jaxws"
JAVA = Path("/usr/share/java")
# An explicit classpath: jaxws-rt's manifest names the rest of the RI (JAXB, SAAJ, policy).
# Taking every jar in /usr/share/java would also pull libaxis-java's SAAJ, which breaks JAX-WS.
RUNTIME_JARS = [JAVA / "jaxws-rt.jar"]
COMPILE_JARS = [JAVA / name for name in (
    "jaxws-rt.jar", "jaxws-api.jar", "jaxb-api.jar", "jws-api.jar", "javax.xml.soap-api.jar",
    "metro-policy.jar")]
TOOLS_JAR = JAVA / "jaxws-tools.jar"
VALIDATOR_SPI = "META-INF/services/com.sun.xml.ws.policy.spi.PolicyAssertionValidator"
# Policy assertions this peer does not implement: the X.509 signature alternative.
SIGNATURE_ASSERTIONS = {"AsymmetricBinding", "Wss10", "SignedParts"}
WSP0075 = re.compile(r'WSP0075: Policy assertion "\{([^}]*)\}(\w+)" was evaluated as "(\w+)"')


@dataclasses.dataclass
class JaxwsBuild:
    """The compiled stubs and client, and what wsimport printed."""

    classes: Path
    wsimport_output: str

    @property
    def classpath(self) -> str:
        """The runtime classpath: our classes first, then the JAX-WS RI."""
        return ":".join([str(self.classes), *map(str, RUNTIME_JARS)])


def run_tool(command: list[str], cwd: Path) -> str:
    """Run wsimport or javac; fail with its output when it exits non-zero."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command[0]} exited {done.returncode}:\n{output}"
    return output


def compile_peer(work: Path, wsdl: Path) -> JaxwsBuild:
    """wsimport `wsdl` into package highway.stubs and compile the stubs with the client."""
    sources, classes = work / "src", work / "classes"
    sources.mkdir()
    classes.mkdir()
    output = run_tool(["java", "-cp", str(TOOLS_JAR), "com.sun.tools.ws.WsImport",
                       "-Xnocompile", "-s", str(sources), "-d", str(classes),
                       "-p", "highway.stubs", str(wsdl)], work)
    stubs = sorted(str(path) for path in (sources / "highway" / "stubs").glob("*.java"))
    run_tool(["javac", "-nowarn", "-encoding", "UTF-8", "-d", str(classes),
              "-cp", ":".join(map(str, COMPILE_JARS)), *stubs,
              str(HERE / "HighwayPeer.java"), str(HERE / "UsernameTokenPolicyValidator.java")],
             work)
    service = classes / VALIDATOR_SPI
    service.parent.mkdir(parents=True)
    service.write_text("UsernameTokenPolicyValidator\n")
    return JaxwsBuild(classes, output)


@pytest.fixture(scope="module")
def jaxws_build(tmp_path_factory: pytest.TempPathFactory) -> JaxwsBuild:
    """Stubs from wsdl/ compiled with the client, once per module."""
    require("jaxws", missing_programs("java", "javac") + missing_files(
        str(TOOLS_JAR), *(str(jar) for jar in COMPILE_JARS)))
    return compile_peer(tmp_path_factory.mktemp("jaxws"), CONTRACT)


def run_java(build: JaxwsBuild, *args: str) -> tuple[PeerResult, str]:
    """Run the client; return its parsed stdout and its stderr (Metro logs there)."""
    done = subprocess.run(["java", "-cp", build.classpath, "HighwayPeer", *args],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"java exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return PeerResult.parse(done.stdout), done.stderr


def policy_warnings(log: str) -> list[tuple[str, str, str]]:
    """(namespace, assertion, fitness) for every WSP0075 line Metro logged."""
    return WSP0075.findall(log)


def assert_policy_understood(log: str) -> None:
    """No WSP0075 for anything but the signature alternative this peer does not implement."""
    warnings = policy_warnings(log)
    assert not [w for w in warnings if w[2] == "UNKNOWN"], warnings
    assert {name for _, name, _ in warnings} <= SIGNATURE_ASSERTIONS, warnings
    assert "WSP0019" not in log, log  # a fully supported alternative was selected


def test_wsimport_accepts_the_contract_without_complaint(jaxws_build: JaxwsBuild) -> None:
    """wsimport generated the typed fault and printed no warning or error."""
    assert not re.search(r"\[(WARNING|ERROR)\]", jaxws_build.wsimport_output), (
        jaxws_build.wsimport_output)
    stubs = jaxws_build.classes / "highway" / "stubs"
    assert (stubs / "ServiceFault_Exception.class").exists()


def test_jaxws_client_calls_every_operation_and_reads_typed_faults(
    jaxws_build: JaxwsBuild, peer_target: PeerTarget
) -> None:
    """Every operation answers; faults arrive as ServiceFault_Exception with our code."""
    credentials = peer_target.credentials
    result, log = run_java(jaxws_build, peer_target.wsdl_url, credentials.mode,
                           credentials.user, credentials.password)
    assert_reads_and_faults(result, peer_target)
    called = {call.split(":")[0] for call in result.ok}
    assert called == set(contract_operations()), "add the new operation to HighwayPeer.java"
    assert result.ok["GetTravelTimes:217:NB"]["directions"] == "NB"
    assert result.ok["ReportObservations"] == {"accepted": "1", "duplicates": "0"}
    for fault in result.faults.values():
        assert fault["typed"] == "ServiceFault_Exception", fault
    assert_policy_understood(log)


def test_jaxws_client_with_a_wrong_password_gets_the_typed_security_fault(
    jaxws_build: JaxwsBuild, wrong_password_target: PeerTarget
) -> None:
    """With a wrong password every call gets wsse:FailedAuthentication as a typed fault."""
    credentials = wrong_password_target.credentials
    result, log = run_java(jaxws_build, wrong_password_target.wsdl_url, credentials.mode,
                           credentials.user, credentials.password)
    assert_refused(result)
    for fault in result.faults.values():
        assert fault["typed"] == "ServiceFault_Exception", fault  # getFaultInfo().getCode()
    assert result.faults["ListHighways"]["detail"].endswith("FailedAuthentication")
    assert_policy_understood(log)


def test_the_policy_check_notices_documentation_inside_wsp_policy(
    jaxws_build: JaxwsBuild, tmp_path: Path
) -> None:
    """The old contract's mistake (wsdl:documentation inside wsp:Policy) shows as WSP0075."""
    text = CONTRACT.read_text()
    marker = '<wsp:Policy wsu:Id="HighwayTrafficSecurityPolicy">'
    assert marker in text
    broken = tmp_path / "broken.wsdl"
    broken.write_text(text.replace(
        marker, marker + "<wsdl:documentation>misplaced</wsdl:documentation>"))
    # Creating the port evaluates the policy; the calls then fail (nothing listens at the
    # WSDL's placeholder address), which the client reports as faults, not as a crash.
    done = subprocess.run(["java", "-cp", jaxws_build.classpath, "HighwayPeer",
                           broken.as_uri(), "text", "nobody", "nothing"],
                          capture_output=True, text=True, timeout=180)
    assert ("http://schemas.xmlsoap.org/wsdl/", "documentation", "UNKNOWN") in policy_warnings(
        done.stderr), done.stderr[-2000:]
