"""No account-name oracles and bounded failed-login work, on the security stages in process:
PasswordDigest runs one code path for known and unknown users, X.509 maps the account only after
the signature verified, failed logins are throttled per IP and per account (cached passwords
pass), and scrypt runs in the bounded hashing queue's threads, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from client.wsse import X509Signer
from soap_service import faults
from soap_service.core.exchange import TransportInfo
from soap_service.faults import ServiceFault
from soap_service.ratelimit.auth_failures import FailureCounter, HashingQueue, Window
from soap_service.security import usernametoken
from soap_service.security.digest_secrets import DigestSecretBox
from tests.security.conftest import PASSWORDS, Harness, Pki, build_envelope
from tests.security.test_usernametoken import digest, text

SIG = "{http://www.w3.org/2000/09/xmldsig#}SignatureValue"


def _from(ip: str) -> TransportInfo:
    return TransportInfo(peer_ip=ip, is_loopback_listener=True)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the digest computations, sealed-secret openings and scrypt checks made."""
    counted = {"digest": 0, "open": 0, "scrypt": 0}
    real_digest, real_open = usernametoken.password_digest, DigestSecretBox.open
    real_verify = usernametoken.verify_password

    def counting_digest(*args: Any) -> str:
        counted["digest"] += 1
        return real_digest(*args)

    def counting_open(self: DigestSecretBox, *args: Any) -> str:
        counted["open"] += 1
        return real_open(self, *args)

    def counting_verify(*args: Any) -> bool:
        counted["scrypt"] += 1
        return real_verify(*args)

    monkeypatch.setattr(usernametoken, "password_digest", counting_digest)
    monkeypatch.setattr(DigestSecretBox, "open", counting_open)
    monkeypatch.setattr(usernametoken, "verify_password", counting_verify)
    return counted


@pytest.mark.parametrize("user", ["dave", "no-such-user", "alice"],
                         ids=["known-wrong-digest", "unknown-user", "account-without-digest"])
def test_password_digest_does_the_same_work_for_every_user(
    harness: Harness, calls: dict[str, int], user: str
) -> None:
    fault = harness.refuse(digest(user, "wrong password"), faults.WSSE_FAILED_AUTHENTICATION)
    assert calls == {"digest": 1, "open": 1, "scrypt": 0}
    assert fault.message == harness.refuse(
        digest("dave", "another wrong one"), faults.WSSE_FAILED_AUTHENTICATION).message


def test_password_digest_still_authenticates(harness: Harness, calls: dict[str, int]) -> None:
    assert harness.run(digest(), operation="ReportObservations").principal is not None
    assert calls == {"digest": 1, "open": 1, "scrypt": 0}


@pytest.mark.parametrize("user", ["alice", "no-such-user", "acme"],
                         ids=["known-wrong-password", "unknown-user", "account-without-password"])
def test_password_text_does_one_scrypt_for_every_user(
    harness: Harness, calls: dict[str, int], user: str
) -> None:
    harness.refuse(text(user, "wrong password"), faults.WSSE_FAILED_AUTHENTICATION)
    assert calls["scrypt"] == 1


def test_scrypt_runs_in_the_hashing_threads(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = usernametoken.verify_password

    def recording(*args: Any) -> bool:
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(usernametoken, "verify_password", recording)
    harness.refuse(text("alice", "wrong"), faults.WSSE_FAILED_AUTHENTICATION)
    assert len(threads) == 1 and threads[0].startswith("password-hash")


def test_x509_unmapped_and_mapped_certificates_fail_alike_with_a_forged_signature(
    harness: Harness, pki: Pki
) -> None:
    """A certificate is public: with a forged signature, whether its subject has an account
    must not show (both wsse:FailedCheck); a good signature from an unmapped one still fails."""
    codes = []
    for issued in (pki.bob, pki.unmapped):
        root = build_envelope(X509Signer(issued.cert_pem, issued.key_pem))
        value = root.find(f".//{SIG}")
        assert value is not None and value.text
        value.text = ("B" if value.text[0] != "B" else "C") + value.text[1:]
        codes.append(harness.refuse(etree.tostring(root), faults.WSSE_FAILED_CHECK).code)
    assert codes[0] == codes[1]
    good = build_envelope(X509Signer(pki.unmapped.cert_pem, pki.unmapped.key_pem))
    harness.refuse(good, faults.WSSE_FAILED_AUTHENTICATION)


def test_failures_per_ip_are_throttled_and_a_cached_password_still_passes(
    make_harness: Callable[..., Harness], calls: dict[str, int]
) -> None:
    harness = make_harness(auth_failure_ip_limit="3/minute", auth_failure_account_limit="unlimited")
    attacker = _from("127.0.0.9")
    harness.run(text("alice"), transport=attacker)  # alice's password is now cached
    for _ in range(3):
        harness.refuse(text("alice", "guess"), faults.WSSE_FAILED_AUTHENTICATION,
                       transport=attacker)
    hashed = calls["scrypt"]
    fault = harness.refuse(text("no-such-user", "guess"), faults.CLIENT_RATE_LIMITED,
                           transport=attacker)
    assert fault.http_status == 429 and int(dict(fault.headers)["Retry-After"]) > 0
    harness.refuse(digest("dave", "guess"), faults.CLIENT_RATE_LIMITED, transport=attacker)
    assert calls["scrypt"] == hashed and calls["digest"] == 0  # refused before any work
    # The cached password needs no check at all; another address is not affected.
    assert harness.run(text("alice"), transport=attacker).principal is not None
    assert harness.run(text("bob"), transport=_from("127.0.0.10")).principal is not None


def test_failures_per_account_are_throttled_across_addresses(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness(auth_failure_ip_limit="unlimited", auth_failure_account_limit="4/minute")
    harness.run(text("alice"), transport=_from("127.0.0.20"))  # cached before the attack
    for n in range(4):
        harness.refuse(text("alice", "guess"), faults.WSSE_FAILED_AUTHENTICATION,
                       transport=_from(f"127.0.1.{n}"))
    harness.refuse(text("alice", "guess"), faults.CLIENT_RATE_LIMITED, transport=_from("127.0.2.1"))
    # The account's owner, with the password already verified, keeps working...
    assert harness.run(text("alice"), transport=_from("127.0.0.20")).principal is not None
    # ...and other accounts are untouched.
    assert harness.run(text("bob", PASSWORDS["bob"]), transport=_from("127.0.2.1")).principal


def test_failure_counter_window_and_bound() -> None:
    now = [0.0]
    counter = FailureCounter(Window(2, 60.0), clock=lambda: now[0], max_keys=3)
    counter.record("a")
    assert counter.retry_after("a") is None
    counter.record("a")
    assert counter.retry_after("a") == 60
    now[0] = 59.5
    assert counter.retry_after("a") == 1
    now[0] = 60.0
    assert counter.retry_after("a") is None  # the window ended
    for key in ("b", "c", "d", "e"):
        counter.record(key)
    assert len(counter._entries) == 3  # bounded: the oldest windows were dropped
    assert Window.parse("10/minute") == Window(10, 60.0) and Window.parse("unlimited") is None


def test_hashing_queue_refuses_at_once_when_full() -> None:
    async def scenario() -> None:
        queue = HashingQueue(1, 1)
        release = threading.Event()
        running = [asyncio.ensure_future(queue.run(release.wait, 5.0)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(ServiceFault) as info:
            await queue.run(release.wait, 5.0)
        assert info.value.code == faults.SERVER_OVERLOADED and info.value.http_status == 503
        assert dict(info.value.headers)["Retry-After"] == "1"
        release.set()
        assert await asyncio.gather(*running) == [True, True]
        await asyncio.sleep(0.05)
        assert queue.admitted == 0
        assert await queue.run(lambda: 7) == 7

    asyncio.run(scenario())
