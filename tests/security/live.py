"""Shared setup for live security tests: a database with accounts, a PKI on disk, servers."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from soap_service.security.accounts import AccountStore
from soap_service.security.digest_secrets import DigestSecretBox, default_key_path
from soap_service.store import database
from tests.conftest import RunningServer
from tests.security.pki import DAY, NOW, Issued, TestCA

PASSWORDS = {"alice": "alice-secret-1", "dave": "dave digest pw 2", "bob": "bob-password-3"}


@dataclasses.dataclass
class LivePki:
    """Certificates and their files."""

    directory: Path
    ca: TestCA
    server: Issued
    acme: Issued
    bob: Issued
    expired: Issued
    stranger: Issued

    def files(self, name: str) -> tuple[str, str]:
        """(cert path, key path) of one of the issued certificates."""
        cert, key = getattr(self, name).write(self.directory, name)
        return str(cert), str(key)

    @property
    def ca_file(self) -> str:
        return str(self.ca.write(self.directory, "ca")[0])


def make_pki(directory: Path) -> LivePki:
    """A CA the server trusts, a server certificate for 127.0.0.1, client certificates."""
    ca = TestCA()
    return LivePki(
        directory=directory,
        ca=ca,
        server=ca.issue("highway-server", slot=3, server_name="127.0.0.1"),
        acme=ca.issue("acme-traffic"),
        bob=ca.issue("bob", slot=2),
        expired=ca.issue("old-acme", not_before=NOW - 10 * DAY, not_after=NOW - DAY),
        stranger=TestCA("Stranger CA", slot=5).issue("acme-traffic", slot=6),
    )


def make_accounts(db_path: Path, pki: LivePki) -> None:
    """The accounts every live test relies on."""
    conn = database.connect(str(db_path))
    box = DigestSecretBox.from_file(default_key_path(str(db_path)), create=True)
    accounts = AccountStore(conn)
    accounts.add("alice", "reader", password=PASSWORDS["alice"])
    accounts.add("dave", "operator", password=PASSWORDS["dave"], digest_box=box)
    accounts.add("bob", "reader", password=PASSWORDS["bob"], cert_subject=pki.bob.subject)
    accounts.add("acme", "operator", cert_subject=pki.acme.subject)
    accounts.add("old", "operator", cert_subject=pki.expired.subject)
    conn.close()


def observation_count(server: RunningServer) -> int:
    """Rows in the server's observations table, read from its database file."""
    with sqlite3.connect(server.db_path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
