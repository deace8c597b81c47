"""`highway-server users` as an operator runs it: config/env like serve, no silent database
creation, no tracebacks, passwd/set-role/show, and changes seen by a running server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from client import AuthenticationError, HighwayClient, NotAuthorizedError, Observation
from tests.conftest import ROOT, start_server


def users(*args: str, stdin: str = "", env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess[str]:
    """Run `python -m soap_service users ...` as a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HIGHWAY_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "soap_service", "users", *args], input=stdin,
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=full_env)


def test_a_missing_database_is_refused_unless_create(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    for action in (["list"], ["add", "alice", "--role", "reader"], ["show", "alice"]):
        result = users(*action, "--db", str(db), stdin="long password\n")
        assert result.returncode == 2, result.stderr
        assert "no database" in result.stderr and "--create" in result.stderr
        assert "Traceback" not in result.stderr
        assert not db.exists()
    created = users("add", "alice", "--role", "reader", "--db", str(db), "--create",
                    stdin="long password\n")
    assert created.returncode == 0, created.stderr
    assert db.exists()


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "no" / "such" / "dir" / "h.db"
    result = users("add", "alice", "--role", "reader", "--db", str(db), "--create",
                   stdin="long password\n")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no such directory" in result.stderr


def test_config_file_and_environment_choose_the_database(tmp_path: Path) -> None:
    db = tmp_path / "from-config.db"
    config = tmp_path / "highway.toml"
    config.write_text(f'[core]\ndb = "{db}"\n')
    assert users("add", "alice", "--role", "reader", "--config", str(config), "--create",
                 stdin="long password\n").returncode == 0
    assert db.exists()
    listed = users("list", "--config", str(config))
    assert listed.returncode == 0 and "alice" in listed.stdout
    # HIGHWAY_CONFIG and HIGHWAY_DB work the same way as for serve.
    assert "alice" in users("list", env={"HIGHWAY_CONFIG": str(config)}).stdout
    assert "alice" in users("list", env={"HIGHWAY_DB": str(db)}).stdout
    # A broken config file is one line, exit 2.
    config.write_text("[core\n")
    broken = users("list", "--config", str(config))
    assert broken.returncode == 2 and "Traceback" not in broken.stderr


def test_show_passwd_set_role(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    assert users("add", "dave", "--role", "reader", "--digest", "--db", db, "--create",
                 stdin="first password\n").returncode == 0
    shown = users("show", "dave", "--db", db)
    assert shown.returncode == 0
    assert "role: reader" in shown.stdout and "password,digest" in shown.stdout
    assert "first password" not in shown.stdout
    changed = users("passwd", "dave", "--password-stdin", "--db", db, stdin="second password\n")
    assert changed.returncode == 0, changed.stderr
    assert "password,digest" in changed.stdout  # digest kept, re-encrypted
    assert users("passwd", "dave", "--password-stdin", "--db", db,
                 stdin="short\n").returncode == 1
    assert users("passwd", "nobody", "--password-stdin", "--db", db,
                 stdin="long password\n").returncode == 1
    assert users("set-role", "dave", "operator", "--db", db).returncode == 0
    assert "role: operator" in users("show", "dave", "--db", db).stdout
    assert users("set-role", "nobody", "admin", "--db", db).returncode == 1
    missing = users("show", "nobody", "--db", db)
    assert missing.returncode == 1 and "no account" in missing.stderr


def _observation() -> Observation:
    import datetime as dt

    return Observation("users-cli", "192-EB-01", dt.datetime.now(dt.UTC), 50.0)


def _eventually(check: Callable[[], object], seconds: float = 5.0) -> None:
    """Running servers read accounts through a short cache (--accounts-cache-seconds, 1 s):
    a change must show within a few seconds, without a restart."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except (AssertionError, NotAuthorizedError, AuthenticationError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_changes_apply_to_a_running_server(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    assert users("add", "erin", "--role", "reader", "--db", str(db), "--create",
                 stdin="erin password 1\n").returncode == 0
    server = start_server(tmp_path, db=db)

    def call(password: str, report: bool = False) -> None:
        with HighwayClient(url=server.url, username="erin", password=password) as c:
            assert c.report_observations([_observation()]).accepted == 1 if report \
                else c.list_highways()

    def refused(password: str, error: type[Exception], report: bool = False) -> None:
        try:
            call(password, report)
        except error:
            return
        raise AssertionError(f"expected {error.__name__}")

    try:
        call("erin password 1")
        refused("erin password 1", NotAuthorizedError, report=True)
        assert users("set-role", "erin", "operator", "--db", str(db)).returncode == 0
        _eventually(lambda: call("erin password 1", report=True))
        assert users("passwd", "erin", "--password-stdin", "--db", str(db),
                     stdin="erin password 2\n").returncode == 0
        _eventually(lambda: refused("erin password 1", AuthenticationError))
        _eventually(lambda: call("erin password 2"))
    finally:
        server.stop()
