"""The built wheel carries the contract and sample data, so an installed client needs no repo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_ships_contract_sample_data_and_entry_points(tmp_path: Path) -> None:
    # No build isolation: the build uses the installed setuptools (pinned in the test extra),
    # so the test needs no network beyond loopback.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("highway_traffic-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        checked_in = (ROOT / "wsdl" / "highway-traffic.wsdl").read_bytes()
        for bundled in ("client/contract/highway-traffic.wsdl",
                        "soap_service/contract/highway-traffic.wsdl"):
            assert archive.read(bundled) == checked_in
        assert "soap_service/store/sample_network.csv" in names
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        text = archive.read(entry_points).decode()
    assert "highway-server = soap_service.cli:main" in text
    assert "highway-client = client.cli:main" in text
    assert not any(name.startswith("tests/") for name in names)
