"""Runs the atheris fuzz target for a bounded time, seeded with the catalogue's bodies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.frontdoor.catalogue import CASES

TARGET = Path(__file__).with_name("fuzz_xml_guard.py")
SECONDS = 20


def test_fuzz_guard_for_a_bounded_time(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, case in enumerate(CASES):
        request = b"".join(p for p in case.parts if isinstance(p, bytes))
        body = request.partition(b"\r\n\r\n")[2][:4096]
        # Prefix bytes select charset, SOAPAction and wrapping in the target.
        (corpus / f"seed-{index}").write_bytes(b"\x01\x00\x00" + body)
    result = subprocess.run(
        [sys.executable, str(TARGET), str(corpus), f"-max_total_time={SECONDS}",
         "-max_len=4096", "-timeout=10", "-rss_limit_mb=1024"],
        cwd=ROOT, capture_output=True, timeout=SECONDS * 6,
    )
    output = result.stderr.decode(errors="replace")
    assert result.returncode == 0, output[-3000:]
    assert "Done" in output
