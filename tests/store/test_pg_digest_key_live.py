"""Serving from PostgreSQL with and without an account key file: the key path comes from the
one rule (digest_secrets.key_file_for), never from a path built out of the database URL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import workload
from client import errors
from client.client import HighwayClient
from soap_service.security.accounts import AccountStore
from soap_service.security.digest_secrets import DigestSecretBox, create_key_file
from soap_service.store import database
from tests.conftest import ROOT, RunningServer, start_server
from tests.security.live import PASSWORDS, LivePki, make_pki
from tests.soap_helpers import request
from tests.store.pg_proc import PostgresProcess

DISABLED = "PasswordDigest is disabled"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LivePki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def store(postgres: PostgresProcess, tmp_path: Path, pki: LivePki) -> tuple[str, Path]:
    """A PostgreSQL database with a text, a digest and a certificate account; the key file
    that sealed the digest secret (not given to a server unless a test says so)."""
    url = postgres.create_database(f"digestkey_{uuid.uuid4().hex[:12]}")
    key = tmp_path / "accounts.key"
    create_key_file(str(key))
    conn = database.connect(url)
    accounts = AccountStore(conn)
    accounts.add("alice", "reader", password=PASSWORDS["alice"])
    accounts.add("dave", "operator", password=PASSWORDS["dave"],
                 digest_box=DigestSecretBox.from_file(str(key)))
    accounts.add("acme", "operator", cert_subject=pki.acme.subject)
    conn.close()
    return url, key


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[RunningServer]]:
    started: list[RunningServer] = []
    yield started
    for server in started:
        server.stop()


def _start(tmp_path: Path, started: list[RunningServer], url: str, *args: str) -> RunningServer:
    server = start_server(tmp_path, *args, db=url)  # type: ignore[arg-type]
    started.append(server)
    return server


def test_postgresql_without_a_key_file_serves_text_and_x509_and_refuses_digest(
    store: tuple[str, Path], pki: LivePki, tmp_path: Path, serve: list[RunningServer],
) -> None:
    url, _ = store
    server = _start(tmp_path, serve, url, "--wss-ca", pki.ca_file)
    with HighwayClient(url=server.url, username="alice", password=PASSWORDS["alice"]) as c:
        assert c.list_highways()
    cert, key = pki.files("acme")
    with HighwayClient(url=server.url, cert=cert, key=key) as c:
        assert c.travel_times("192", "EB")
    # The digest account exists, but no key opens its secret here: the documented fault.
    with HighwayClient(url=server.url, username="dave", password=PASSWORDS["dave"],
                       digest=True) as c, pytest.raises(errors.AuthenticationError) as info:
        c.list_highways()
    assert info.value.code == "wsse:FailedAuthentication"
    response = request(server.url, workload.digest_request("dave", PASSWORDS["dave"]))
    assert response.status == 500 and response.fault()[0] == "wsse:FailedAuthentication"
    log = server.log_text()
    assert log.count(DISABLED) == 1 and "--accounts-key-file" in log
    assert "accounts-key" not in log.replace("--accounts-key-file", "")  # no URL-made path
    assert "Traceback" not in log


@pytest.mark.parametrize("env", [False, True])
def test_postgresql_with_a_key_file_serves_digest(
    store: tuple[str, Path], tmp_path: Path, serve: list[RunningServer], env: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, key = store
    if env:  # the environment variable of the spelling
        monkeypatch.setenv("HIGHWAY_ACCOUNTS_KEY_FILE", str(key))
        server = _start(tmp_path, serve, url)
    else:
        server = _start(tmp_path, serve, url, "--accounts-key-file", str(key))
    with HighwayClient(url=server.url, username="dave", password=PASSWORDS["dave"],
                       digest=True) as c:
        assert c.list_highways()
    assert request(server.url, workload.digest_request("dave", PASSWORDS["dave"])).status == 200
    assert DISABLED not in server.log_text()


def _demo_password(server: RunningServer) -> str:
    match = re.search(r"HIGHWAY_PASSWORD=(\S+)", server.log_text())
    assert match, server.log_text()
    return match.group(1)


def test_empty_postgresql_demo_account_uses_the_configured_key_file(
    postgres: PostgresProcess, tmp_path: Path, serve: list[RunningServer],
) -> None:
    url = postgres.create_database(f"demokey_{uuid.uuid4().hex[:12]}")
    key = tmp_path / "fleet.key"  # configured with the spelling; created on first use
    server = _start(tmp_path, serve, url, "--accounts-key-file", str(key))
    password = _demo_password(server)
    assert key.exists() and "not kept" not in server.log_text()
    with HighwayClient(url=server.url, username="demo", password=password, digest=True) as c:
        assert c.list_highways()


def test_empty_postgresql_without_a_key_file_makes_no_key_path_from_the_url(
    postgres: PostgresProcess, tmp_path: Path, serve: list[RunningServer],
) -> None:
    url = postgres.create_database(f"demonokey_{uuid.uuid4().hex[:12]}")
    server = _start(tmp_path, serve, url)
    password = _demo_password(server)
    log = server.log_text()
    assert "not kept" not in log and "postgresql:" not in log.split("HIGHWAY_PASSWORD")[0]
    assert log.count(DISABLED) == 1
    with HighwayClient(url=server.url, username="demo", password=password) as c:
        assert c.list_highways()


def test_users_find_the_key_file_by_the_same_rule(
    postgres: PostgresProcess, tmp_path: Path,
) -> None:
    url = postgres.create_database(f"userskey_{uuid.uuid4().hex[:12]}")
    key = tmp_path / "env.key"
    create_key_file(str(key))

    def add(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "soap_service", "users", "add", name, "--role", "reader",
             "--digest", "--db", url],
            input=PASSWORDS["dave"] + "\n", text=True, capture_output=True, cwd=ROOT,
            env={**os.environ, **env}, timeout=120)

    plain_env = {k: v for k, v in os.environ.items() if not k.startswith("HIGHWAY_")}
    refused = subprocess.run(
        [sys.executable, "-m", "soap_service", "users", "add", "nokey", "--role", "reader",
         "--digest", "--db", url], input=PASSWORDS["dave"] + "\n", text=True,
        capture_output=True, cwd=ROOT, env=plain_env, timeout=120)
    assert refused.returncode != 0 and "--account-key-file" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = add("envkey", {"HIGHWAY_ACCOUNTS_KEY_FILE": str(key)})  # the spelling
    assert done.returncode == 0, done.stderr
    conn = database.connect(url)
    account = AccountStore(conn).get("envkey")
    conn.close()
    assert account is not None and account.digest_secret is not None
    assert DigestSecretBox.from_file(str(key)).open("envkey", account.digest_secret) == \
        PASSWORDS["dave"]
