"""`highway-server keys rotate` on both engines: every digest secret moves to the new key, the
key id is recorded, servers holding both keys open both, and a second run changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from soap_service.commands.keys import rotate_secrets
from soap_service.security.accounts import AccountStore
from soap_service.security.digest_secrets import DigestSecretBox, new_key_line
from soap_service.store import database
from tests.conftest import ROOT
from tests.store.test_db_commands import cli

NAMES = [f"user{i:02d}" for i in range(7)]


def _password(name: str) -> str:
    return f"{name} digest password"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """old alone; both (old first: the rollout's first step); new alone."""
    old, new = new_key_line(), new_key_line()
    files = {"old": old, "both": old + new, "new": new}
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.key"
        paths[name].write_bytes(content)
        paths[name].chmod(0o600)
    return paths


def _populate(url: str, old: DigestSecretBox) -> None:
    accounts = AccountStore(database.connect(url))
    for name in NAMES:
        accounts.add(name, "reader", password=_password(name), digest_box=old)
    accounts.add("textonly", "reader", password="text only password")
    accounts.add("certonly", "operator", cert_subject="CN=cert-only,O=Test")


def _rows(url: str) -> dict[str, tuple[bytes | None, str | None]]:
    conn = database.connect(url)
    rows = conn.execute("SELECT name, digest_secret, digest_key_id FROM accounts").fetchall()
    conn.close()
    return {name: (bytes(s) if s is not None else None, kid) for name, s, kid in rows}


def test_rotate_moves_every_secret_to_the_new_key(db_url: str, keys: dict[str, Path]) -> None:
    old = DigestSecretBox.from_file(str(keys["old"]))
    new = DigestSecretBox.from_file(str(keys["new"]))
    _populate(db_url, old)
    before = _rows(db_url)
    assert {before[n][1] for n in NAMES} == {old.key_id}  # `users add` records the key id

    done = cli("keys", "rotate", "--new-key-file", str(keys["new"]), "--db", db_url,
               "--accounts-key-file", str(keys["both"]), "--batch-size", "3")
    assert done.returncode == 0, done.stderr
    assert f"{len(NAMES)} digest secrets re-encrypted under key {new.key_id}, 0 already" \
        in done.stdout

    after = _rows(db_url)
    both = DigestSecretBox.from_file(str(keys["both"]))
    for name in NAMES:
        secret, kid = after[name]
        assert secret is not None and secret != before[name][0] and kid == new.key_id
        assert new.open(name, secret) == both.open(name, secret) == _password(name)
        with pytest.raises(ValueError):
            old.open(name, secret)  # the old key alone no longer opens anything
    for name in ("textonly", "certonly"):
        assert after[name] == before[name] == (None, None)

    again = cli("keys", "rotate", "--new-key-file", str(keys["new"]), "--db", db_url,
                "--accounts-key-file", str(keys["both"]))
    assert again.returncode == 0, again.stderr
    assert f"0 digest secrets re-encrypted under key {new.key_id}, {len(NAMES)} already" \
        in again.stdout
    assert _rows(db_url) == after


def test_rotate_refuses_a_key_the_servers_do_not_hold(
    db_url: str, keys: dict[str, Path],
) -> None:
    _populate(db_url, DigestSecretBox.from_file(str(keys["old"])))
    before = _rows(db_url)
    done = cli("keys", "rotate", "--new-key-file", str(keys["new"]), "--db", db_url,
               "--accounts-key-file", str(keys["old"]))
    assert done.returncode == 2 and "does not hold the new key" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert _rows(db_url) == before


def test_rotate_reports_secrets_no_key_opens(db_url: str, keys: dict[str, Path],
                                             tmp_path: Path) -> None:
    _populate(db_url, DigestSecretBox.from_file(str(keys["old"])))
    stranger = tmp_path / "stranger.key"
    stranger.write_bytes(new_key_line())
    AccountStore(database.connect(db_url)).add(
        "lost", "reader", password=_password("lost"),
        digest_box=DigestSecretBox.from_file(str(stranger)))
    result = rotate_secrets(database.connect(db_url),
                            DigestSecretBox.from_file(str(keys["both"])),
                            DigestSecretBox.from_file(str(keys["new"])), batch_size=2)
    assert (result.rotated, result.already, result.undecryptable) == (len(NAMES), 0, ["lost"])
    assert not result.complete
    lost = _rows(db_url)["lost"]
    assert DigestSecretBox.from_file(str(stranger)).open("lost", lost[0] or b"") == \
        _password("lost")  # left as it was


@pytest.mark.parametrize("problem", ["missing new", "bad new", "no current"])
def test_rotate_bad_input_is_one_line(db_url: str, keys: dict[str, Path], tmp_path: Path,
                                      problem: str) -> None:
    args = ["keys", "rotate", "--db", db_url]
    if problem == "missing new":
        args += ["--new-key-file", str(tmp_path / "nope.key"),
                 "--accounts-key-file", str(keys["both"])]
    elif problem == "bad new":
        (tmp_path / "bad.key").write_text("garbage!\n")
        args += ["--new-key-file", str(tmp_path / "bad.key"),
                 "--accounts-key-file", str(keys["both"])]
    else:
        args += ["--new-key-file", str(keys["new"]),
                 "--accounts-key-file", str(tmp_path / "absent.key")]
    done = cli(*args)
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith("highway-server keys rotate: ")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_rotate_reads_the_database_and_key_file_from_config_and_env(
    db_url: str, keys: dict[str, Path], tmp_path: Path,
) -> None:
    _populate(db_url, DigestSecretBox.from_file(str(keys["old"])))
    config = tmp_path / "highway.toml"
    config.write_text(f'[core]\ndb = "{db_url}"\n[security]\n'
                      f'accounts_key_file = "{tmp_path / "absent.key"}"\n')
    env = {**os.environ, "HIGHWAY_ACCOUNTS_KEY_FILE": str(keys["both"])}  # env > file
    done = subprocess.run(
        [sys.executable, "-m", "soap_service", "keys", "rotate", "--config", str(config),
         "--new-key-file", str(keys["new"])],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{len(NAMES)} digest secrets re-encrypted" in done.stdout
