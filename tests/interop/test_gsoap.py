"""gSOAP: wsdl2h + soapcpp2 stubs from wsdl/; a C++ client with the wsse plugin calls the server."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import PeerTarget, assert_reads_and_faults, assert_refused
from tests.interop.peers import CONTRACT, missing_files, missing_programs, require, run_peer

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent / "gsoap"
GSOAP_SHARE = Path("/usr/share/gsoap")
# What gSOAP's wsse plugin needs besides the generated code (see import/wsse.h, "Requires").
PLUGIN_SOURCES = [
    GSOAP_SHARE / "plugin" / "wsseapi.cpp",
    GSOAP_SHARE / "plugin" / "smdevp.c",
    GSOAP_SHARE / "plugin" / "mecevp.c",
    GSOAP_SHARE / "plugin" / "threads.c",
    GSOAP_SHARE / "custom" / "struct_timeval.c",
]
# libgsoapssl++ is built with these; the plugin and the stubs must agree with the library.
GSOAP_DEFINES = ["-DWITH_OPENSSL", "-DWITH_DOM", "-DWITH_GZIP", "-DWITH_IPV6"]
GSOAP_LIBS = ["-lgsoapssl++", "-lssl", "-lcrypto", "-lz", "-lpthread"]
# Lines in a generator's console output that mean it was unhappy with the contract.
COMPLAINT = re.compile(r"warn|error|problem|unsupported|undefined|not found|cannot|ignor",
                       re.IGNORECASE)
# The one @warning every wsdl2h header carries: advice not to include the annotated file itself.
BOILERPLATE_WARNING = "@warning\n   DO NOT INCLUDE THIS ANNOTATED FILE DIRECTLY"


@dataclasses.dataclass
class GsoapBuild:
    """The generated sources, the generators' console output and the compiled client."""

    directory: Path
    wsdl2h_output: str
    soapcpp2_output: str
    header: str
    client: Path


def run_tool(command: list[str], cwd: Path) -> str:
    """Run a generator or the compiler; fail with its output when it exits non-zero."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command[0]} exited {done.returncode}:\n{output}"
    return output


@pytest.fixture(scope="module")
def gsoap_build(tmp_path_factory: pytest.TempPathFactory) -> GsoapBuild:
    """Generate stubs from wsdl/ and compile tests/interop/gsoap/client.cpp, once per module."""
    require("gsoap", missing_programs("wsdl2h", "soapcpp2", "g++") + missing_files(
        "/usr/include/stdsoap2.h", "/usr/include/openssl/evp.h", "/usr/include/zlib.h",
        str(GSOAP_SHARE / "WS" / "typemap.dat"), str(GSOAP_SHARE / "import" / "wsse.h"),
        *(str(path) for path in PLUGIN_SOURCES)))
    work = tmp_path_factory.mktemp("gsoap")
    # The stock typemap plus the project's additions: the way gSOAP users customise wsdl2h.
    typemap = work / "typemap.dat"
    typemap.write_text((GSOAP_SHARE / "WS" / "typemap.dat").read_text()
                       + (HERE / "highway-typemap.dat").read_text())
    wsdl2h = run_tool(["wsdl2h", "-t", str(typemap), "-o", "highway.h", str(CONTRACT)], work)
    # -j: proxy classes sharing one soap context, -C: client side only, -x: no sample messages.
    soapcpp2 = run_tool(["soapcpp2", "-j", "-C", "-x", f"-I{GSOAP_SHARE / 'import'}",
                         "highway.h"], work)
    shutil.copy(HERE / "client.cpp", work / "client.cpp")
    includes = ["-I.", f"-I{GSOAP_SHARE}", f"-I{GSOAP_SHARE / 'plugin'}"]
    # Our own code compiles warning-free; generated and plugin code is gSOAP's business.
    run_tool(["g++", "-std=c++17", "-O0", "-Wall", "-Wextra", "-Werror", *GSOAP_DEFINES,
              *includes, "-c", "client.cpp", "-o", "client.o"], work)
    run_tool(["g++", "-std=c++17", "-O0", "-w", *GSOAP_DEFINES, *includes, "-o", "client",
              "client.o", "soapC.cpp", "soapHighwayTrafficSoapBindingProxy.cpp",
              *(str(path) for path in PLUGIN_SOURCES), *GSOAP_LIBS], work)
    return GsoapBuild(work, wsdl2h, soapcpp2, (work / "highway.h").read_text(), work / "client")


def test_wsdl2h_and_soapcpp2_accept_the_contract_without_warnings(gsoap_build: GsoapBuild) -> None:
    """Neither generator complains about the contract, on the console or in the header."""
    complaints = [line for line in gsoap_build.wsdl2h_output.splitlines() if COMPLAINT.search(line)]
    assert not complaints, gsoap_build.wsdl2h_output
    # wsdl2h also writes what it could not map into the header as "@warning" comments.
    assert gsoap_build.header.count("@warning") == gsoap_build.header.count(BOILERPLATE_WARNING)
    assert "Compilation successful" in gsoap_build.soapcpp2_output
    complaints = [line for line in gsoap_build.soapcpp2_output.splitlines()
                  if COMPLAINT.search(line)]
    assert not complaints, gsoap_build.soapcpp2_output


def test_generated_code_has_every_operation_and_the_fault_detail(gsoap_build: GsoapBuild) -> None:
    """The proxy has every operation, a typed fault detail and the wsse header."""
    proxy = (gsoap_build.directory / "soapHighwayTrafficSoapBindingProxy.h").read_text()
    for operation in ("ListHighways", "GetTravelTimes", "ReportObservations"):
        assert f"virtual int {operation}(" in proxy
    stub = (gsoap_build.directory / "soapStub.h").read_text()
    # The declared wsdl:fault gives generated code a typed detail, which the client reads.
    assert re.search(r"_ht__ServiceFault \*ht__ServiceFault;", stub)
    assert re.search(r"struct _wsse__Security \*wsse__Security;", stub)


def test_gsoap_client_calls_and_reads_faults(
    gsoap_build: GsoapBuild, peer_target: PeerTarget
) -> None:
    """The compiled client gets data and our fault codes, authenticated by the wsse plugin."""
    credentials = peer_target.credentials
    result = run_peer([str(gsoap_build.client), peer_target.server.url, credentials.mode,
                       credentials.user, credentials.password])
    assert_reads_and_faults(result, peer_target)
    assert result.ok["ReportObservations"] == {"accepted": "1", "duplicates": "0"}


def test_gsoap_client_with_a_wrong_password_is_refused(
    gsoap_build: GsoapBuild, wrong_password_target: PeerTarget
) -> None:
    """With a wrong password the C++ client gets wsse:FailedAuthentication."""
    credentials = wrong_password_target.credentials
    result = run_peer([str(gsoap_build.client), wrong_password_target.server.url,
                       credentials.mode, credentials.user, credentials.password])
    assert_refused(result)
