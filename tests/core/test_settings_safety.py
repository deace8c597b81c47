"""Settings that would weaken security across workers are refused at start, naming the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from soap_service.settings_loader import ConfigError, load_settings
from tests.conftest import ROOT


def test_workers_with_memory_state_are_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"HIGHWAY_WORKERS": "2"})
    assert "--state-url" in str(info.value) and "--allow-per-process-state" in str(info.value)


@pytest.mark.parametrize(
    "environ",
    [
        {"HIGHWAY_WORKERS": "2", "HIGHWAY_STATE_URL": "redis://127.0.0.1:6379/0"},
        {"HIGHWAY_WORKERS": "2", "HIGHWAY_ALLOW_PER_PROCESS_STATE": "true"},
        {"HIGHWAY_WORKERS": "1"},
    ],
)
def test_shared_or_acknowledged_state_is_accepted(environ: dict[str, str]) -> None:
    assert load_settings(environ=environ).core.workers == int(environ["HIGHWAY_WORKERS"])


def test_server_exits_2_with_the_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "soap_service", "serve", "--port", "0", "--workers", "2",
         "--db", str(tmp_path / "h.db")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert done.returncode == 2
    assert "--allow-per-process-state" in done.stderr
