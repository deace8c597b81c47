"""Fixtures for the front-door tests: a harness Site with the HTTP layer, and the real server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, RunningServer, start_server

HARNESS = Path(__file__).with_name("harness_server.py")


class Harness:
    """A running harness_server.py process."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def harness() -> Iterator[Callable[..., Harness]]:
    """Start harness Sites with given FrontDoorSettings fields; stopped at teardown."""
    started: list[Harness] = []

    def factory(**fields: object) -> Harness:
        process = subprocess.Popen(
            [sys.executable, str(HARNESS), json.dumps(fields)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("PORT "), line
        running = Harness(process, int(line.split()[1]))
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def catalogue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server for the whole catalogue, with short deadlines so slow cases are quick."""
    workdir = tmp_path_factory.mktemp("frontdoor")
    server = start_server(
        workdir, "--no-require-auth", "--header-timeout", "1", "--body-timeout", "2"
    )
    yield server
    server.stop()
