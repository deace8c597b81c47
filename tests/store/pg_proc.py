"""A real PostgreSQL server for tests: initdb + pg_ctl in a temp directory, on a free loopback
port, run as an unprivileged user when the tests run as root (PostgreSQL refuses root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable

from tests.ratelimit.redis_proc import free_port

TEST_USER = "highwaytest"


def pg_bindir() -> str | None:
    """Directory holding initdb/pg_ctl (HIGHWAY_PG_BINDIR overrides), newest version first."""
    override = os.environ.get("HIGHWAY_PG_BINDIR")
    if override:
        return override
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(found[0]) if found else None


def _unprivileged_user() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as when we are root (created if missing), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        TEST_USER], check=True, capture_output=True)
        return pwd.getpwnam(TEST_USER)


class PostgresProcess:
    """One PostgreSQL cluster on a fixed port: start, stop (fast or immediate), start again."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="highway-pg-")
        self.datadir = os.path.join(self.workdir, "data")
        self.user = _unprivileged_user()
        self.role = self.user.pw_name if self.user else pwd.getpwuid(os.geteuid()).pw_name
        os.chmod(self.workdir, 0o755)
        if self.user is not None:
            os.chown(self.workdir, self.user.pw_uid, self.user.pw_gid)
        self._run(["initdb", "-D", self.datadir, "-U", self.role, "--auth=trust",
                   "--no-sync", "-E", "UTF8", "--locale=C"])

    def _demote(self) -> Callable[[], None] | None:
        user = self.user
        if user is None:
            return None

        def demote() -> None:
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

        return demote

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
        argv = [os.path.join(self.bindir, argv[0]), *argv[1:]]
        return subprocess.run(argv, check=check, capture_output=True, preexec_fn=self._demote(),
                              cwd=self.workdir)

    def url(self, database: str = "postgres") -> str:
        """The libpq URL of one database on this server."""
        return f"postgresql://{self.role}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories="
                   f"{self.workdir} -c fsync=off -c max_connections=100")
        self._run(["pg_ctl", "-D", self.datadir, "-o", options, "-l",
                   os.path.join(self.workdir, "log"), "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate` is like a crash)."""
        self._run(["pg_ctl", "-D", self.datadir, "-m", mode, "-w", "-t", "30", "stop"],
                  check=False)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def cleanup(self) -> None:
        """Stop and remove the data directory."""
        self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll `check` until it is true or the timeout passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
