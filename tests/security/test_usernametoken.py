"""UsernameToken Profile 1.1: the positive paths and the WSS4J negative cases."""

from __future__ import annotations

import datetime

import pytest
from lxml import etree

from client.wsse import BASE64_BINARY, PASSWORD_TEXT, UsernameTokenSigner
from soap_service import faults
from soap_service.state.replay import MemoryReplayCache
from tests.security.conftest import (
    PASSWORDS,
    PLAIN_REMOTE,
    TLS_REMOTE,
    Harness,
    build_envelope,
)

WSSE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
WSU = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"


def _utc(offset_seconds: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_seconds)


def text(user: str = "alice", password: str | None = None, **kw: object) -> etree._Element:
    signer = UsernameTokenSigner(user, password or PASSWORDS.get(user, "x"), **kw)  # type: ignore[arg-type]
    return build_envelope(signer)


def digest(user: str = "dave", password: str | None = None, **kw: object) -> etree._Element:
    return text(user, password or PASSWORDS.get(user, "x"), digest=True, **kw)


def token_of(root: etree._Element) -> etree._Element:
    found = root.find(f".//{WSSE}UsernameToken")
    assert found is not None
    return found


def test_password_text_on_loopback_listener(harness: Harness) -> None:
    exchange = harness.run(text())
    assert exchange.principal is not None
    assert (exchange.principal.name, exchange.principal.role) == ("alice", "reader")
    assert exchange.principal.authenticated_by == "password-text"


def test_password_text_over_tls(harness: Harness) -> None:
    assert harness.run(text(), transport=TLS_REMOTE).principal is not None


def test_password_text_refused_over_cleartext(harness: Harness) -> None:
    harness.refuse(text(), faults.WSSE_INVALID_SECURITY, transport=PLAIN_REMOTE)


def test_password_digest(harness: Harness) -> None:
    exchange = harness.run(digest(), transport=PLAIN_REMOTE, operation="ReportObservations")
    assert exchange.principal is not None
    assert (exchange.principal.name, exchange.principal.authenticated_by) == (
        "dave", "password-digest")


def test_digest_account_can_also_use_text(harness: Harness) -> None:
    assert harness.run(text("dave")).principal is not None


def test_bad_digest(harness: Harness) -> None:
    harness.refuse(digest(password="wrong"), faults.WSSE_FAILED_AUTHENTICATION)


def test_digest_for_account_without_digest_secret(harness: Harness) -> None:
    harness.refuse(digest("alice"), faults.WSSE_FAILED_AUTHENTICATION)


def test_bad_password_and_unknown_user_look_the_same(harness: Harness) -> None:
    wrong = harness.refuse(text(password="not-it"), faults.WSSE_FAILED_AUTHENTICATION)
    unknown = harness.refuse(text("mallory", "whatever"), faults.WSSE_FAILED_AUTHENTICATION)
    unknown_digest = harness.refuse(digest("mallory"), faults.WSSE_FAILED_AUTHENTICATION)
    assert wrong.message == unknown.message == unknown_digest.message
    assert "not-it" not in (wrong.reason or "")


def test_old_created(harness: Harness) -> None:
    harness.refuse(digest(clock=lambda: _utc(-301)), faults.WSSE_MESSAGE_EXPIRED)


def test_future_created(harness: Harness) -> None:
    harness.refuse(digest(clock=lambda: _utc(120)), faults.WSSE_MESSAGE_EXPIRED)


def test_slight_future_within_skew(harness: Harness) -> None:
    assert harness.run(digest(clock=lambda: _utc(30))).principal is not None


def test_window_is_configurable(make_harness: object) -> None:
    strict = make_harness(max_age_seconds=10.0)  # type: ignore[operator]
    strict.refuse(digest(clock=lambda: _utc(-60)), faults.WSSE_MESSAGE_EXPIRED)


@pytest.mark.parametrize("missing", ["Nonce", "Created"])
def test_digest_needs_nonce_and_created(harness: Harness, missing: str) -> None:
    root = digest()
    ns = WSSE if missing == "Nonce" else WSU
    token = token_of(root)
    token.remove(token.find(ns + missing))
    harness.refuse(root, faults.WSSE_INVALID_SECURITY_TOKEN)


@pytest.mark.parametrize("element", ["Username", "Password", "Nonce", "Created"])
def test_duplicate_elements(harness: Harness, element: str) -> None:
    root = digest()
    token = token_of(root)
    original = token.find((WSU if element == "Created" else WSSE) + element)
    assert original is not None
    token.append(etree.fromstring(etree.tostring(original)))
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_missing_username_or_password(harness: Harness) -> None:
    for element in ("Username", "Password"):
        root = text()
        token = token_of(root)
        token.remove(token.find(WSSE + element))
        harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_missing_password_type(harness: Harness) -> None:
    root = text()
    del token_of(root).find(WSSE + "Password").attrib["Type"]  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_unknown_password_type(harness: Harness) -> None:
    root = text()
    token_of(root).find(WSSE + "Password").set("Type", PASSWORD_TEXT + "Plain")  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_UNSUPPORTED_SECURITY_TOKEN)


def test_nonce_needs_base64_encoding_type(harness: Harness) -> None:
    root = digest()
    token_of(root).find(WSSE + "Nonce").set("EncodingType", BASE64_BINARY + "x")  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_INVALID_SECURITY_TOKEN)


def test_nonce_size_is_capped(harness: Harness) -> None:
    root = text()
    token_of(root).find(WSSE + "Nonce").text = "A" * 200  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_INVALID_SECURITY_TOKEN)


def test_created_without_timezone(harness: Harness) -> None:
    root = text()
    token_of(root).find(WSU + "Created").text = "2030-01-01T00:00:00"  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_INVALID_SECURITY_TOKEN)


@pytest.mark.parametrize("make", [text, digest])
def test_replay_refused(harness: Harness, make: object) -> None:
    raw = etree.tostring(make())  # type: ignore[operator]
    assert harness.run(raw).principal is not None
    fault = harness.refuse(raw, faults.WSSE_INVALID_SECURITY)
    assert "replayed" in (fault.reason or "")


def test_failed_login_does_not_burn_the_nonce(harness: Harness) -> None:
    # Only authenticated tokens are recorded, so strangers cannot fill the replay cache.
    harness.refuse(digest("mallory"), faults.WSSE_FAILED_AUTHENTICATION)
    assert len(harness.replay) == 0


def test_replay_cache_unavailable_fails_closed(make_harness: object) -> None:
    full = MemoryReplayCache(max_entries=0)  # a full cache answers StateUnavailable
    harness = make_harness(replay=full)  # type: ignore[operator]
    fault = harness.refuse(digest(), faults.SERVER_UNAVAILABLE)
    assert fault.http_status == 503


def test_password_never_in_reason(harness: Harness) -> None:
    for root in (text(password="Sup3r-S3cret"), digest(password="Sup3r-S3cret")):
        fault = harness.refuse(root, faults.WSSE_FAILED_AUTHENTICATION)
        assert "Sup3r" not in (fault.reason or "") and "Sup3r" not in fault.message


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize("make", [text, digest])
def test_created_outside_the_utc_range_is_expired_not_an_error(
    harness: Harness, make: object, created: str
) -> None:
    # Valid xsd:dateTime whose instant datetime cannot hold in UTC: far too old or far in
    # the future, a client's fault like any other stale Created.
    root = make()  # type: ignore[operator]
    token_of(root).find(WSU + "Created").text = created  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_MESSAGE_EXPIRED)
