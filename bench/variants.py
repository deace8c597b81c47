"""The five servers under test (A-E): how each is started, and a check that C-E really are
secured before any of their numbers are believed."""

from __future__ import annotations

import dataclasses
import http.client
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from bench import servers, workload
from bench.servers import Server

LABELS = {
    "A": "bare twisted.web, canned bytes (ceiling)",
    "B": "plain Spyne behind Twisted WSGI, no security",
    "C": "ours, everything on (digest auth, limits, SQLite)",
    "D": "C with --state-url redis://",
    "E": "D with --workers 2 (Redis state)",
}
SECURED = {"A": False, "B": False, "C": True, "D": True, "E": True}
# Limits that are enforced (the stages run and count) but never reached by the benchmark.
HIGH_LIMITS = (
    "--rate-limit", "reader:GetTravelTimes=100000000/minute",
    "--rate-limit", "reader=100000000/minute",
    "--ip-rate-limit", "100000000/minute",
    # The load generator is one address; back-to-back wrk runs may briefly hold twice their
    # connections while the server sees the previous run's closes.
    "--max-connections-per-ip", "512",
)


class NotAvailable(RuntimeError):
    """A variant cannot be measured on this machine or tree (reason in the message)."""


@dataclasses.dataclass
class Context:
    """Where the benchmark keeps its files, and which cores the servers may use."""

    workdir: Path
    server_cpus: str
    wide_server_cpus: str  # for --workers 2 (the same as server_cpus on a 2-core machine)
    # redis-server is shared state outside the service: it gets the load generator's core
    # rather than taking CPU from the server it is meant to be measured against.
    redis_cpus: str = "1"
    redis: subprocess.Popen[bytes] | None = None
    redis_url: str | None = None


def post(url: str, body: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """One raw POST (a fresh connection); returns status and body."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("POST", parts.path, body=body,
                     headers={"Content-Type": "text/xml; charset=utf-8"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _database(ctx: Context, key: str) -> Path:
    """A freshly seeded database per variant, with the benchmark's digest account."""
    path = ctx.workdir / f"{key}.db"
    workload.seed_database(path)
    if SECURED[key]:
        added = subprocess.run(
            [sys.executable, "-m", "soap_service", "users", "add", workload.USERNAME,
             "--role", "reader", "--digest", "--db", str(path)],
            input=workload.PASSWORD + "\n", capture_output=True, text=True,
            cwd=servers.ROOT, timeout=60,
        )
        if added.returncode != 0:
            raise NotAvailable(f"cannot add the digest account: {added.stderr.strip()[-300:]}")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(ctx: Context) -> str:
    """A real redis-server (no persistence) on a free loopback port, on `ctx.redis_cpus`;
    started once per run (D and E share it)."""
    if ctx.redis is not None and ctx.redis.poll() is None and ctx.redis_url is not None:
        return ctx.redis_url
    binary = shutil.which("redis-server")
    if binary is None:
        raise NotAvailable("redis-server is not installed")
    port = _free_port()
    ctx.redis = subprocess.Popen(
        servers.pinned(ctx.redis_cpus, [
            binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(ctx.workdir), "--loglevel", "warning"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    ctx.redis_url = f"redis://127.0.0.1:{port}/0"
                    return ctx.redis_url
        except OSError:
            time.sleep(0.05)
    raise NotAvailable("redis-server did not answer PING")


def start(key: str, ctx: Context, *, canned: Path | None = None) -> Server:
    """Start variant `key`; raises NotAvailable when a piece it needs is missing."""
    db = _database(ctx, key)
    if key == "A":
        assert canned is not None
        return servers.start("A", ["-m", "bench.baseline_bare", "--response", str(canned)],
                             cpus=ctx.server_cpus, workdir=ctx.workdir)
    if key == "B":
        return servers.start("B", ["-m", "bench.baseline_spyne_wsgi", "--db", str(db)],
                             cpus=ctx.server_cpus, workdir=ctx.workdir)
    args = ["-m", "soap_service", "serve", "--host", "127.0.0.1", "--port", "0",
            "--db", str(db), *HIGH_LIMITS]
    cpus = ctx.server_cpus
    if key == "D":
        args += ["--state-url", start_redis(ctx)]
    if key == "E":
        # Two workers share their limits and replay cache through Redis (issue 17: "--workers 2
        # with Redis state"), so each is compared with D, one worker on the same state.
        args += ["--workers", "2", "--state-url", start_redis(ctx)]
        cpus = ctx.wide_server_cpus
    server = servers.start(key, args, cpus=cpus, workdir=ctx.workdir)
    try:
        check_secured(server.url)
    except NotAvailable:
        server.stop()
        raise
    return server


def check_secured(url: str) -> None:
    """C-E must refuse an unauthenticated call and answer a digest-authenticated one."""
    status, body = post(url, workload.plain_request())
    if status == 200:
        raise NotAvailable("the server answered a call without credentials (security not wired)")
    status, body = post(url, workload.digest_request())
    if status != 200 or not all(m.encode() in body for m in workload.EXPECTED_MARKERS):
        raise NotAvailable(f"a digest-authenticated call failed: {status} {body[:300]!r}")


def stop_redis(ctx: Context) -> None:
    """Stop the redis-server started for D, if any."""
    if ctx.redis is not None and ctx.redis.poll() is None:
        ctx.redis.terminate()
        ctx.redis.wait(timeout=10)
