"""Fixtures for security tests: a test PKI, an accounts database, and the real stages."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from soap_service.core.exchange import Exchange, TransportInfo
from soap_service.faults import ServiceFault
from soap_service.security.account_directory import AccountDirectory
from soap_service.security.accounts import AccountStore
from soap_service.security.build import build_security_stages
from soap_service.security.digest_secrets import DigestSecretBox, default_key_path
from soap_service.security.settings import SecuritySettings
from soap_service.state.replay import MemoryReplayCache
from soap_service.store import database
from soap_service.store.engines import open_engine
from tests.security.pki import DAY, NOW, Issued, TestCA
from tests.soap_helpers import envelope as soap_envelope
from tests.soap_helpers import travel_times_body

PASSWORDS = {
    "alice": "alice-secret-1",  # reader, PasswordText only
    "dave": "dave digest pw 2",  # operator, PasswordDigest allowed
    "bob": "bob-password-3",  # reader, also mapped to the "bob" certificate
}
LOOPBACK = TransportInfo(peer_ip="127.0.0.1", is_loopback_listener=True)
PLAIN_REMOTE = TransportInfo(peer_ip="192.0.2.10")
TLS_REMOTE = TransportInfo(peer_ip="192.0.2.10", is_tls=True)


@dataclasses.dataclass
class Pki:
    """The CA the service trusts, a stranger CA, and leaf certificates."""

    ca: TestCA
    ca_path: Path
    acme: Issued  # mapped to account "acme" (operator)
    bob: Issued  # mapped to account "bob" (reader)
    unmapped: Issued  # trusted CA, but no account
    expired: Issued  # mapped subject, expired
    stranger: Issued  # same subject as acme, issued by an untrusted CA


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA()
    ca_path, _ = ca.write(directory, "ca")
    return Pki(
        ca=ca,
        ca_path=ca_path,
        acme=ca.issue("acme-traffic"),
        bob=ca.issue("bob", slot=2),
        unmapped=ca.issue("nobody"),
        expired=ca.issue("old-acme", not_before=NOW - 10 * DAY, not_after=NOW - DAY),
        stranger=TestCA("Stranger CA", slot=5).issue("acme-traffic", slot=6),
    )


@dataclasses.dataclass
class AccountsDb:
    """A migrated database holding the test accounts."""

    path: Path
    conn: Any
    accounts: AccountStore


@pytest.fixture(scope="session")
def accounts_db(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> AccountsDb:
    path = tmp_path_factory.mktemp("db") / "highway.db"
    conn = database.connect(str(path))
    box = DigestSecretBox.from_file(default_key_path(str(path)), create=True)
    accounts = AccountStore(conn)
    accounts.add("alice", "reader", password=PASSWORDS["alice"])
    accounts.add("dave", "operator", password=PASSWORDS["dave"], digest_box=box)
    accounts.add("bob", "reader", password=PASSWORDS["bob"], cert_subject=pki.bob.subject)
    accounts.add("acme", "operator", cert_subject="CN=acme-traffic, O=Acme")
    accounts.add("old", "operator", cert_subject=pki.expired.subject)
    return AccountsDb(path, conn, accounts)


class Harness:
    """The security stages as the server builds them, run on one parsed envelope."""

    def __init__(self, db: AccountsDb, settings: SecuritySettings, replay: Any) -> None:
        self.replay = replay
        accounts = AccountDirectory(open_engine(str(db.path)), ttl_seconds=0)
        self.stages = build_security_stages(
            settings, db.conn, replay, db_path=str(db.path), accounts=accounts
        )

    def run(
        self,
        envelope: etree._Element | bytes,
        *,
        transport: TransportInfo = LOOPBACK,
        operation: str | None = None,
    ) -> Exchange:
        """Serialize and re-parse (as the wire would), then run every stage in order."""
        raw = envelope if isinstance(envelope, bytes) else etree.tostring(envelope)
        root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
        body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        exchange = Exchange(
            correlation_id="test", method="POST", path="/soap", headers={}, body=raw,
            transport=transport,
        )
        exchange.envelope = root
        exchange.operation = operation or etree.QName(body[0]).localname  # type: ignore[index]

        async def run_all() -> None:
            for stage in self.stages:
                await stage(exchange)

        asyncio.run(run_all())
        return exchange

    def refuse(self, envelope: etree._Element | bytes, code: str, **kwargs: Any) -> ServiceFault:
        """Run and expect a refusal with exactly this fault code."""
        with pytest.raises(ServiceFault) as info:
            self.run(envelope, **kwargs)
        assert info.value.code == code, (info.value.code, info.value.reason)
        return info.value


@pytest.fixture
def make_harness(accounts_db: AccountsDb, pki: Pki) -> Callable[..., Harness]:
    """Build a harness with setting overrides; every harness has its own replay cache."""

    def factory(replay: Any = None, **overrides: Any) -> Harness:
        settings = dataclasses.replace(SecuritySettings(wss_ca=str(pki.ca_path)), **overrides)
        return Harness(
            accounts_db, settings, replay if replay is not None else MemoryReplayCache()
        )

    return factory


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


def build_envelope(*mechanisms: Any, body: str | None = None) -> etree._Element:
    """A GetTravelTimes envelope (or `body`) with each client mechanism applied in order."""
    root = etree.fromstring(soap_envelope(body or travel_times_body("A1", "NB")))
    for mechanism in mechanisms:
        root, _ = mechanism.apply(root, {})
    return reparse(root)


def reparse(root: etree._Element) -> etree._Element:
    """A fresh parse of the serialized tree, as the server would see it. (lxml's find()
    can miss nodes libxmlsec created in place, so tests edit re-parsed trees.)"""
    return etree.fromstring(etree.tostring(root))
