"""Structured access logs: one JSON line per request with the documented fields, no secrets."""

from __future__ import annotations

import datetime as dt

from tests.ops.ops_helpers import access_records, add_account, password_text_header
from tests.soap_helpers import envelope, request, travel_times_body

FIELDS = {"time", "level", "logger", "event", "correlation_id", "principal", "auth", "operation",
          "outcome", "fault_code", "reason", "status", "duration_ms", "bytes_in", "bytes_out",
          "peer", "method", "path"}


def test_one_json_line_per_request_with_fields(open_server) -> None:
    ok = request(open_server.url, envelope(travel_times_body("192")))
    bad = request(open_server.url, envelope(travel_times_body("9999")))
    records = access_records(open_server)
    assert len(records) == 2
    first, second = records
    assert set(first) == FIELDS
    assert (first["operation"], first["outcome"], first["status"]) == ("GetTravelTimes", "ok", 200)
    assert first["fault_code"] is None and first["principal"] is None
    assert first["bytes_out"] == len(ok.body) and first["bytes_in"] > 0
    assert first["peer"] == "127.0.0.1" and first["duration_ms"] >= 0
    assert second["fault_code"] == "soap:Client.UnknownHighway"
    assert second["outcome"] == "client_fault"
    assert second["correlation_id"] == bad.headers["x-correlation-id"]
    stamp = dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 120


def test_no_passwords_nonces_or_envelopes_in_logs(server_factory, tmp_path) -> None:
    db = tmp_path / "secrets.db"
    add_account(db, "alice", "reader", "alice-Secret-Pw-1")
    server = server_factory("--log-level", "DEBUG", db=db)
    nonce = b"NONCE-MARKER-123"
    good = password_text_header("alice", "alice-Secret-Pw-1", nonce)
    wrong = password_text_header("alice", "Wrong-Secret-Pw-2", b"other-nonce-0001")
    assert request(server.url, envelope("<t:ListHighways/>", good)).status == 200
    request(server.url, envelope("<t:ListHighways/>", good))  # replay
    request(server.url, envelope("<t:ListHighways/>", wrong))
    request(server.url, envelope("<t:ListHighways/>", "<broken"))  # XML error with a secret-ish
    log = server.log_text()
    for secret in ("alice-Secret-Pw-1", "Wrong-Secret-Pw-2", "Tk9OQ0UtTUFSS0VSLTEyMw==",
                   "NONCE-MARKER", "Envelope", "UsernameToken"):
        assert secret not in log, secret
    records = access_records(server)
    assert [r["principal"] for r in records[:1]] == ["alice"]
    assert records[0]["auth"] == "password-text"
    assert [r["fault_code"] for r in records[1:3]] == ["wsse:InvalidSecurity",
                                                       "wsse:FailedAuthentication"]


def test_text_format_keeps_key_value_lines(server_factory) -> None:
    server = server_factory("--no-require-auth", "--log-format", "text")
    request(server.url, envelope(travel_times_body("9999")))
    lines = [line for line in server.log_text().splitlines() if "op=GetTravelTimes" in line]
    assert len(lines) == 1
    assert "outcome=client_fault" in lines[0]
    assert "fault_code=soap:Client.UnknownHighway" in lines[0] and "duration_ms=" in lines[0]
    assert not lines[0].startswith("{")
