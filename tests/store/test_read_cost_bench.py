"""Issue 14: `python -m bench.run --scale --smoke` runs end to end on both engines and prints
the growth ratios with their targets (figures only: no speed is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_scale_smoke_prints_every_ratio(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bench.run", "--scale", "--smoke",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for label in ("GetTravelTimes 300 vs 1 obs/segment", "GET / 1,000 vs 3 highways",
                  "DB size 7 vs 1 simulated days"):
        assert label in done.stdout
    result = json.loads((tmp_path / "scale-latest.json").read_text())
    assert result["highways"] == 1000 and result["observations"] == 20_000
    for engine in result["engines"].values():
        assert engine["ingest_obs_per_s"] > 0 and engine["rows_retained"] > 0
        assert engine["size_day7_bytes"] > 0 and engine["read_growth"] > 0
    assert "sqlite" in result["engines"]
