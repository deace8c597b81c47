"""Fixtures that start the real server on a free loopback port and stop it afterwards."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on (\S+)")


@dataclasses.dataclass
class RunningServer:
    """A `highway-server serve` process started by a test."""

    url: str  # the SOAP endpoint, e.g. http://127.0.0.1:PORT/soap
    process: subprocess.Popen[bytes]
    db_path: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        """Scheme, host and port without the /soap path."""
        return self.url.rsplit("/soap", 1)[0]

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def log_text(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` and wait for exit; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_server(
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    db: Path | None = None,
    startup_timeout: float = 30.0,
    preexec_fn: Callable[[], None] | None = None,
    operation_delay: float | None = None,
) -> RunningServer:
    """Start `python -m soap_service serve` on 127.0.0.1 with a free port; wait until it listens.

    With `operation_delay`, every operation first waits that many seconds (tests/slow_server.py),
    to hold requests in flight."""
    db_path = db or workdir / "highway.db"
    index = len(list(workdir.glob("server-*.log")))
    log_path = workdir / f"server-{index}.log"
    launcher = ["-m", "soap_service"] if operation_delay is None else [
        "-m", "tests.slow_server", str(operation_delay)]
    command = [sys.executable, *launcher, "serve", "--host", "127.0.0.1",
               "--port", "0", "--db", str(db_path), *args]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL, preexec_fn=preexec_fn)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        match = LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            return RunningServer(match.group(1), process, db_path, log_path)
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not start in time:\n{log_path.read_text()}")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start servers with extra `serve` flags; all are stopped at teardown."""
    started: list[RunningServer] = []

    def factory(*args: str, env: dict[str, str] | None = None, db: Path | None = None,
                operation_delay: float | None = None) -> RunningServer:
        server = start_server(tmp_path, *args, env=env, db=db, operation_delay=operation_delay)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def open_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """A server with authentication switched off, for tests of the core contract."""
    return server_factory("--no-require-auth")
