"""Start-up order against the real command: ports are bound before the database is touched;
a busy port is one line and exit 2; demo credentials come only from a start that serves."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import HighwayClient
from tests.conftest import ROOT, start_server

EXPORT = re.compile(r"export HIGHWAY_URL=(\S+) HIGHWAY_USERNAME=(\S+) HIGHWAY_PASSWORD=(\S+)")


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port held by a listening socket for the test's duration."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "soap_service", "serve", "--host", "127.0.0.1",
         "--db", str(tmp_path / "h.db"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _assert_one_clean_line(result: subprocess.CompletedProcess[str], port: int) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]


def test_busy_port_is_one_line_exit_2_before_the_database(tmp_path: Path, busy_port: int) -> None:
    result = _serve(tmp_path, "--port", str(busy_port))
    _assert_one_clean_line(result, busy_port)
    assert "--port" in result.stderr
    assert not (tmp_path / "h.db").exists()  # no migration, no demo account
    assert "HIGHWAY_PASSWORD" not in result.stderr + result.stdout


def test_busy_metrics_port_is_the_same(tmp_path: Path, busy_port: int) -> None:
    result = _serve(tmp_path, "--port", "0", "--metrics-port", str(busy_port))
    _assert_one_clean_line(result, busy_port)
    assert "--metrics-port" in result.stderr
    assert not (tmp_path / "h.db").exists()


def test_busy_port_with_workers(tmp_path: Path, busy_port: int) -> None:
    result = _serve(tmp_path, "--port", str(busy_port), "--workers", "2",
                    "--allow-per-process-state")
    _assert_one_clean_line(result, busy_port)
    assert not (tmp_path / "h.db").exists()


def test_demo_credentials_work_and_are_shown_again(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        printed = EXPORT.search(server.log_text())
        assert printed, server.log_text()
        url, user, password = printed.groups()
        assert url == server.url  # the listener actually bound (--port 0 here)
        exports = [line for line in server.log_text().splitlines() if "HIGHWAY_PASSWORD" in line]
        assert len(exports) == 1 and exports[0].startswith("export ")  # one line to paste
        shown = subprocess.run(
            [sys.executable, "-m", "soap_service", "users", "demo", "--db", str(server.db_path),
             "--port", str(server.port)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip() == exports[0]  # the same line
        # The pasted line is all the client needs: it reads the three variables.
        pasted = subprocess.run(
            ["bash", "-c", f"{exports[0]} && {sys.executable} -m client highways"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("HIGHWAY_")},
        )
        assert pasted.returncode == 0, pasted.stderr
        assert "192" in pasted.stdout
        with HighwayClient(url=server.url, username=user, password=password) as client:
            assert client.list_highways()
        with HighwayClient(url=server.url, username=user, password=password,
                           digest=True) as client:
            assert client.list_highways()  # the kept secret also enables PasswordDigest
    finally:
        server.stop()
    # A second start over the same database creates and prints nothing new.
    again = start_server(tmp_path, db=server.db_path)
    try:
        assert "HIGHWAY_PASSWORD" not in again.log_text()
    finally:
        again.stop()


def test_users_demo_without_a_demo_account(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    subprocess.run([sys.executable, "-m", "soap_service", "users", "add", "alice", "--role",
                    "reader", "--db", str(db), "--create"], input="long password\n",
                   text=True, cwd=ROOT, check=True, capture_output=True)
    shown = subprocess.run([sys.executable, "-m", "soap_service", "users", "demo", "--db",
                            str(db)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 1 and "no demo account" in shown.stderr
    assert "Traceback" not in shown.stderr


def test_export_line_names_the_listener_https_with_tls(tmp_path: Path) -> None:
    """The URL on the pasted line is the listener's own (https with TLS, never --public-url),
    and every value is quoted for the shell."""
    from soap_service.security.demo import export_line
    from soap_service.settings_loader import load_settings

    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    settings = load_settings(environ={
        "HIGHWAY_TLS_CERT": str(cert), "HIGHWAY_TLS_KEY": str(key), "HIGHWAY_HOST": "::1",
        "HIGHWAY_PUBLIC_URL": "https://traffic.example.com/soap"})
    assert settings.listener_url(8443) == "https://[::1]:8443/soap"
    assert settings.endpoint_url(8443) == "https://traffic.example.com/soap"
    line = export_line("p w$x", settings.listener_url(8443))
    assert line == ("export HIGHWAY_URL='https://[::1]:8443/soap' HIGHWAY_USERNAME=demo "
                    "HIGHWAY_PASSWORD='p w$x'")
    echoed = subprocess.run(["bash", "-c", f'{line} && printf %s "$HIGHWAY_PASSWORD"'],
                            capture_output=True, text=True, check=True)
    assert echoed.stdout == "p w$x"
