"""`serve --workers N`: one parent binds the socket, N worker processes accept on it.

The parent only supervises: it binds and listens (so the port is known and connections queue
in the kernel from the first moment), starts N copies of the same command line with the
listening socket inherited (fd number in HIGHWAY_LISTEN_FD), forwards SIGTERM/SIGINT to them
and waits for them to drain. Each worker adopts the socket in web/listener.py with
`reactor.adoptStreamPort`. SIGHUP is forwarded to every worker. Workers get SIGTERM if the
parent dies (Linux PR_SET_PDEATHSIG).
Limits and replay protection are global across workers only with --state-url redis://.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from soap_service.settings import ServerSettings

log = logging.getLogger("highway.workers")

LISTEN_FD_ENV = "HIGHWAY_LISTEN_FD"
WORKER_INDEX_ENV = "HIGHWAY_WORKER_INDEX"
# A worker that dies this soon after starting has a startup problem: stop instead of looping.
QUICK_EXIT_SECONDS = 3.0
_PR_SET_PDEATHSIG = 1


def worker_index() -> int | None:
    """This process's worker number when started by a supervising parent, else None."""
    value = os.environ.get(WORKER_INDEX_ENV)
    return int(value) if value is not None else None


def inherited_socket_fd() -> int | None:
    """The listening socket's fd inherited from the parent, or None when not a worker."""
    value = os.environ.get(LISTEN_FD_ENV)
    return int(value) if value is not None else None


def inherited_socket() -> socket.socket | None:
    """In a worker, the parent's listening socket (ours to adopt and close); else None."""
    fd = inherited_socket_fd()
    if fd is None:
        return None
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    return sock


def _bind(settings: ServerSettings) -> socket.socket:
    from soap_service.web.listener import bind_socket

    sock = bind_socket(settings.core.host, settings.core.port, "--host/--port")
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    """preexec_fn: the kernel sends SIGTERM to this worker if the parent dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Supervisor:
    """Starts, watches and stops the worker processes."""

    def __init__(self, settings: ServerSettings, argv: Sequence[str], sock: socket.socket):
        self._settings = settings
        self._argv = list(argv)
        self._sock = sock
        self._children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
        self._stopping = False

    def spawn(self, index: int) -> None:
        """Start worker `index` with the listening socket inherited."""
        env = {**os.environ, LISTEN_FD_ENV: str(self._sock.fileno()),
               WORKER_INDEX_ENV: str(index)}
        process = subprocess.Popen(
            [sys.executable, "-m", "soap_service", *self._argv],
            env=env, pass_fds=(self._sock.fileno(),), stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self._children[index] = (process, time.monotonic())

    def forward_hangup(self, signum: int, _frame: Any = None) -> None:
        """Signal handler: SIGHUP goes to every worker (each reloads what it can)."""
        log.info("signal %d: asking %d workers to reload", signum, len(self._children))
        for process, _ in self._children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGHUP)

    def request_stop(self, signum: int, _frame: Any = None) -> None:
        """Signal handler: forward SIGTERM to every worker once."""
        if self._stopping:
            return
        self._stopping = True
        log.info("signal %d: stopping %d workers", signum, len(self._children))
        for process, _ in self._children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Supervise until stopped; a worker that crashes later is restarted."""
        for index in range(self._settings.core.workers):
            self.spawn(index)
        exit_code = 0
        while not self._stopping:
            time.sleep(0.2)
            for index, (process, started) in list(self._children.items()):
                code = process.poll()
                if code is None or self._stopping:
                    continue
                if time.monotonic() - started < QUICK_EXIT_SECONDS:
                    log.error("worker %d exited with %d at startup; stopping", index, code)
                    exit_code = code or 1
                    self.request_stop(signal.SIGTERM)
                    break
                log.warning("worker %d exited with %d; restarting it", index, code)
                self.spawn(index)
        self._sock.close()
        deadline = time.monotonic() + self._settings.core.shutdown_grace_seconds + 5.0
        for process, _ in self._children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return exit_code


def run_workers(settings: ServerSettings, argv: Sequence[str] | None = None) -> int:
    """Bind, start `settings.core.workers` workers running `argv` (default: this command line),
    and supervise them until SIGTERM/SIGINT."""
    sock = _bind(settings)
    supervisor = Supervisor(settings, sys.argv[1:] if argv is None else argv, sock)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGHUP, supervisor.forward_hangup)
    bound = dataclasses.replace(settings.core, public_url=None, port=sock.getsockname()[1])
    local = dataclasses.replace(settings, core=bound).endpoint_url()
    shared = "shared in redis" if settings.ratelimit.state_url != "memory://" else "per process"
    print(f"highway-server listening on {local} ({settings.core.workers} workers, "
          f"limits and replay cache {shared})", file=sys.stderr, flush=True)
    return supervisor.run()
