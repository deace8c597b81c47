"""The built wheel carries the contract and sample data, so an installed client needs no repo;
the repository holds the contract once (wsdl/), and the build emits no setuptools warning."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT

CHECKED_IN = ROOT / "wsdl" / "highway-traffic.wsdl"


def _build_wheel(into: Path) -> tuple[Path, str]:
    # No build isolation: the build uses the installed setuptools (pinned in the test extra),
    # so the test needs no network beyond loopback.
    # distutils says "warning: byte-compiling is disabled" under PYTHONDONTWRITEBYTECODE.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
         "-w", str(into / "wheel"), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300, env=env,
    )
    (wheel,) = (into / "wheel").glob("highway_traffic-*.whl")
    return wheel, done.stdout + done.stderr


def test_wheel_ships_contract_sample_data_and_entry_points(tmp_path: Path) -> None:
    wheel, output = _build_wheel(tmp_path)
    warnings = [line for line in output.splitlines()
                if "warning" in line.lower() and "pypi" not in line.lower()]  # pip's index notes
    assert warnings == [], output[-3000:]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for bundled in ("client/contract/highway-traffic.wsdl",
                        "soap_service/contract/highway-traffic.wsdl"):
            assert archive.read(bundled) == CHECKED_IN.read_bytes()
        assert "soap_service/store/sample_network.csv" in names
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        text = archive.read(entry_points).decode()
        record = archive.read(next(n for n in names if n.endswith("RECORD"))).decode()
    assert "client/contract/highway-traffic.wsdl," in record
    assert "highway-server = soap_service.cli:main" in text
    assert "highway-client = client.cli:main" in text
    assert not any(name.startswith("tests/") for name in names)


def test_installed_packages_read_their_bundled_contract(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
         "--target", str(target), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    probe = (
        "import client.client as c, soap_service.contract.contract as s;"
        "print(s.wsdl_path()); print(c.bundled_wsdl_path());"
        "assert s.wsdl_bytes() == open(c.bundled_wsdl_path(), 'rb').read()"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                          check=True, capture_output=True, text=True, timeout=60)
    server_copy, client_copy = done.stdout.split()
    assert Path(server_copy) == target / "soap_service" / "contract" / "highway-traffic.wsdl"
    assert Path(client_copy) == target / "client" / "contract" / "highway-traffic.wsdl"
    assert Path(client_copy).read_bytes() == CHECKED_IN.read_bytes()


def test_the_source_distribution_builds_a_wheel_with_the_contract(tmp_path: Path) -> None:
    """The sdist carries wsdl/ and setup.py, so a wheel built from it bundles the contract."""
    subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta; "
         "build_meta.build_sdist(sys.argv[1])", str(tmp_path / "sdist")],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )
    (sdist,) = (tmp_path / "sdist").glob("highway_traffic-*.tar.gz")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "wheel"), str(sdist)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = (tmp_path / "wheel").glob("highway_traffic-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for bundled in ("client/contract/highway-traffic.wsdl",
                        "soap_service/contract/highway-traffic.wsdl"):
            assert archive.read(bundled) == CHECKED_IN.read_bytes()
