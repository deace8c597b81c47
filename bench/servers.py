"""Starting the servers under test (pinned with taskset) and reading their CPU time and memory."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on (http://\S+/soap)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Server:
    """One server process (and, for --workers, its children) started by the benchmark."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def tree(self) -> list[int]:
        """The process and all its descendants (workers), by pid."""
        return [self.process.pid, *descendants(self.process.pid)]

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process tree so far, from /proc/PID/stat."""
        return sum(cpu_seconds(pid) for pid in self.tree())

    def worker_rss_mb(self) -> float:
        """The largest resident set among the processes that serve requests."""
        pids = self.tree()
        serving = pids[1:] or pids  # with --workers the parent only supervises
        return max((rss_mb(pid) for pid in serving), default=0.0)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    return text[text.rindex(")") + 2:].split()  # fields after "(comm) "


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a live process has used, in seconds; 0 if it is gone."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (VmRSS); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every descendant of `pid`, found through /proc/PID/task/*/children."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    kids = [int(k) for k in handle.read().split()]
            except OSError:
                continue
            found.extend(kids)
            pending.extend(kids)
    return found


def pinned(cpus: str, command: Sequence[str]) -> list[str]:
    """`command` pinned to the CPU list `cpus` with taskset (unpinned if taskset is missing)."""
    if shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", cpus, *command]


def start(name: str, args: Sequence[str], *, cpus: str, workdir: Path,
          env: dict[str, str] | None = None, timeout: float = 60.0) -> Server:
    """Run `python ARGS...` pinned to `cpus`; wait until it prints its listening URL."""
    log_path = workdir / f"{name}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            pinned(cpus, [sys.executable, *args]), cwd=ROOT, env=full_env,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            return Server(name, match.group(1), process, log_path)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
    raise RuntimeError(f"{name} did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
