"""The deployment kit (Dockerfile, systemd unit) names commands and flags that really exist."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "highway-traffic.service"
SANDBOXING = ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome", "PrivateDevices",
              "StateDirectory", "CapabilityBoundingSet", "RestrictAddressFamilies")


def serve_flags() -> set[str]:
    """Every long option `highway-server serve --help` lists."""
    done = subprocess.run([sys.executable, "-m", "soap_service", "serve", "--help"],
                          capture_output=True, text=True, check=True, cwd=ROOT, timeout=60)
    return set(re.findall(r"(--[a-z0-9][a-z0-9-]*)", done.stdout))


def assert_serve_command(argv: list[str]) -> None:
    """`highway-server serve` followed only by flags serve accepts."""
    assert argv[0].endswith("highway-server") and argv[1] == "serve", argv
    known = serve_flags()
    flags = [arg.split("=", 1)[0] for arg in argv[2:] if arg.startswith("--")]
    assert flags and set(flags) <= known, set(flags) - known


def unit() -> configparser.ConfigParser:
    """The systemd unit as sections and keys (repeated keys keep the last value)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, rest = line.partition(" ")
            result.append((name.upper(), rest.strip()))
    return result


def test_systemd_unit_runs_serve_with_existing_flags() -> None:
    """ExecStart is `highway-server serve` with flags that exist, in a sandboxed service."""
    service = unit()["Service"]
    assert_serve_command(shlex.split(service["ExecStart"]))
    for key in SANDBOXING:
        assert key in service, key
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service.get("DynamicUser") == "yes" or "User" in service
    # The database lives in the state directory, the only writable path.
    db = shlex.split(service["ExecStart"])
    assert db[db.index("--db") + 1].startswith(f"/var/lib/{service['StateDirectory']}/")


def test_systemd_unit_verifies() -> None:
    """systemd-analyze finds nothing wrong but the (not installed here) program path."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    done = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True,
                          text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if line.strip() and "is not executable" not in line
                and "/opt/highway-traffic" not in line]
    assert not problems, problems


def test_dockerfile_is_slim_non_root_with_a_readiness_healthcheck() -> None:
    """python:3.11-slim, a non-root USER, HEALTHCHECK on /readyz, EXPOSE, serve entrypoint."""
    instructions = dockerfile_instructions()
    names = [name for name, _ in instructions]
    args = dict(instructions)
    assert args["FROM"] == "python:3.11-slim"
    assert args["USER"] not in ("root", "0")
    assert "/readyz" in args["HEALTHCHECK"]
    assert args["EXPOSE"] == "8080" and "VOLUME" in names
    entrypoint = json.loads(args["ENTRYPOINT"])
    command = json.loads(args["CMD"])
    assert entrypoint[:4] == ["highway-server", "serve", "--host", "0.0.0.0"]
    assert_serve_command(entrypoint + command)
    assert command[command.index("--db") + 1].startswith(json.loads(args["VOLUME"])[0])
    assert names.index("USER") > names.index("RUN")  # installed as root, run as the user


def test_dockerfile_copies_everything_the_package_needs() -> None:
    """Each COPY source exists, and the packages setup.cfg installs are copied."""
    copied = [rest.split()[:-1] for name, rest in dockerfile_instructions() if name == "COPY"]
    sources = {source for group in copied for source in group}
    for source in sources:
        assert (ROOT / source).exists(), source
    assert {"soap_service", "client", "setup.cfg", "pyproject.toml"} <= sources
