"""Accounts: the users command, password hashing, digest secrets at rest, the login cache."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from soap_service.cli import main
from soap_service.security.accounts import AccountError, AccountStore, normalize_subject
from soap_service.security.digest_secrets import DigestSecretBox
from soap_service.security.passwords import VerifiedPasswordCache, hash_password, verify_password


def users(db: Path, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", *args, "--db", str(db), "--create"])


def test_users_add_list_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.db"
    assert users(db, "add", "alice", "--role", "reader", stdin="correct horse\n",
                 monkeypatch=monkeypatch) == 0
    assert users(db, "add", "dave", "--role", "operator", "--digest", stdin="digest pass 1\n",
                 monkeypatch=monkeypatch) == 0
    assert users(db, "add", "acme", "--role", "operator", "--cert-subject",
                 "CN=acme-traffic, O=Acme", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert users(db, "list", monkeypatch=monkeypatch) == 0
    listing = capsys.readouterr().out
    assert "CN=acme-traffic,O=Acme" in listing and "password,digest" in listing
    assert "scrypt" not in listing and "correct horse" not in listing
    assert users(db, "remove", "alice", monkeypatch=monkeypatch) == 0
    assert users(db, "remove", "alice", monkeypatch=monkeypatch) == 1

    key_file = Path(str(db) + ".accounts-key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    raw = sqlite3.connect(db).execute("SELECT password_hash, digest_secret FROM accounts "
                                      "WHERE name = 'dave'").fetchone()
    assert raw[0].startswith("scrypt$") and b"digest pass 1" not in raw[1]
    box = DigestSecretBox.from_file(str(key_file))
    assert box.open("dave", raw[1]) == "digest pass 1"
    with pytest.raises(ValueError):
        box.open("mallory", raw[1])  # bound to the account name


def test_users_add_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "h.db"
    assert users(db, "add", "x", "--role", "admin", stdin="short\n",
                 monkeypatch=monkeypatch) == 1
    assert users(db, "add", "bad name", "--role", "admin", stdin="long enough\n",
                 monkeypatch=monkeypatch) == 1
    assert users(db, "add", "a", "--role", "admin", stdin="long enough\n",
                 monkeypatch=monkeypatch) == 0
    assert users(db, "add", "a", "--role", "admin", stdin="long enough\n",
                 monkeypatch=monkeypatch) == 1
    with pytest.raises(SystemExit):  # argparse: unknown role
        users(db, "add", "b", "--role", "root", monkeypatch=monkeypatch)


def test_normalize_subject() -> None:
    assert normalize_subject("CN=acme-traffic, O=Acme") == "CN=acme-traffic,O=Acme"
    with pytest.raises(AccountError):
        normalize_subject("not a dn")


def test_password_hash_round_trip() -> None:
    stored = hash_password("s3cret pass", n=2**10)
    assert verify_password("s3cret pass", stored)
    assert not verify_password("s3cret pas", stored)
    assert not verify_password("s3cret pass", "md5$whatever")


def test_login_cache_follows_the_stored_hash() -> None:
    cache = VerifiedPasswordCache(ttl_seconds=60)
    cache.remember("alice", "pw-1", "hash-A")
    assert cache.hit("alice", "pw-1", "hash-A")
    assert not cache.hit("alice", "pw-2", "hash-A")  # other password: no shortcut
    assert not cache.hit("alice", "pw-1", "hash-B")  # password changed: entry dropped
    assert not cache.hit("alice", "pw-1", "hash-A")
    assert not VerifiedPasswordCache(ttl_seconds=0).hit("alice", "pw-1", "hash-A")


def test_account_store_requires_a_credential(tmp_path: Path) -> None:
    from soap_service.store import database

    store = AccountStore(database.connect(str(tmp_path / "h.db")))
    with pytest.raises(AccountError):
        store.add("nobody", "reader")
