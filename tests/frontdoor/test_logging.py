"""Log hygiene: Spyne's and zeep's envelope dumps are silenced, secrets are redacted, and
refusal lines are rate limited by a token bucket."""

from __future__ import annotations

import logging
import random

from soap_service.frontdoor.log_hygiene import (
    RedactingFilter,
    _redact_all,
    install_log_filters,
    redact,
)
from soap_service.frontdoor.refusal_log import RefusalLogFilter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5
    assert bucket.take() and not bucket.take()


def test_refusal_filter_drops_the_excess_and_reports_how_many():
    clock = FakeClock()
    flt = RefusalLogFilter(TokenBucket(rate=1.0, burst=1, clock=clock))

    def record(refusal: bool) -> logging.LogRecord:
        rec = logging.LogRecord("x", logging.INFO, __file__, 1, "refused cid=%s", ("c",), None)
        rec.refusal = refusal
        return rec

    assert flt.filter(record(True))
    assert not flt.filter(record(True)) and not flt.filter(record(True))
    assert flt.filter(record(False))  # ordinary lines are never limited
    clock.now = 1.0
    passed = record(True)
    assert flt.filter(passed)
    assert "2 refusal log lines suppressed" in passed.getMessage()


def test_redact_masks_secrets_and_truncates_envelopes():
    text = ("bad request <soap:Envelope xmlns:soap='x'><wsse:Password Type='t'>hunter2"
            "</wsse:Password><wsse:Nonce>bm9uY2U=</wsse:Nonce>" + "x" * 500 + "</soap:Envelope>")
    cleaned = redact(text)
    assert "hunter2" not in cleaned and "bm9uY2U=" not in cleaned
    assert cleaned.endswith("[envelope truncated]") and len(cleaned) < 300
    assert redact("login password=hunter2 ok") == "login password=*** ok"


def test_install_silences_spyne_and_zeep_dumps(caplog):
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        logging.getLogger("zeep.transports").setLevel(logging.DEBUG)
        install_log_filters()
        invalid = logging.getLogger("spyne.protocol.soap.soap11.invalid")
        assert invalid.disabled and not invalid.isEnabledFor(logging.CRITICAL)
        assert not logging.getLogger("spyne.protocol.xml").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("zeep.transports").isEnabledFor(logging.DEBUG)
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
        with caplog.at_level(logging.DEBUG):
            invalid.error("%r in string %r", "err", b"<Envelope>password</Envelope>")
        assert "password" not in caplog.text
    finally:
        root.removeHandler(handler)


def test_access_lines_of_client_faults_count_as_refusals():
    clock = FakeClock()
    flt = RefusalLogFilter(TokenBucket(rate=1.0, burst=1, clock=clock))

    def access(outcome: str) -> logging.LogRecord:
        rec = logging.LogRecord("highway.access", logging.INFO, __file__, 1, "request", (), None)
        rec.access = {"outcome": outcome, "status": 500}
        return rec

    assert flt.filter(access("client_fault"))
    assert not flt.filter(access("client_fault"))
    assert flt.filter(access("ok")) and flt.filter(access("server_fault"))


def test_redact_shortcut_gives_what_every_pattern_gives():
    # Texts built from the patterns' own pieces, with and without the characters the
    # shortcut looks for: the shortcut must never return a text the patterns would change.
    rng = random.Random(17)
    pieces = ["<", ">", "=", ":", " ", "/", "password", "PassWord", "nonce", "Token", "secret",
              "passwd", "wsse:", "Password", "Nonce", "Envelope", "soap:Envelope", "hunter2",
              "x" * 150, "é", "\n", ";", "?", "&", "a"]
    changed = skipped = 0
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = _redact_all(text)
        assert redact(text) == expected, text
        changed += expected != text
        skipped += not any(c in text for c in "<=:")
    assert changed > 100 and skipped > 100
