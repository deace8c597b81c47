"""`highway-client` against the real server: output, JSON and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, RunningServer, start_server
from tests.security.live import PASSWORDS, LivePki, make_accounts, make_pki


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        input=stdin,
        timeout=60,  # a hang (e.g. a TLS handshake with a plain server) fails the test
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", **(env or {})},
    )


def test_highways_table(open_server: RunningServer) -> None:
    result = cli("--url", open_server.url, "highways")
    assert result.returncode == 0, result.stderr
    assert "US 192 (Irlo Bronson Memorial Highway)" in result.stdout
    assert "EB/WB" in result.stdout


def test_travel_times_json(open_server: RunningServer) -> None:
    result = cli(
        "--url", open_server.url, "--json", "travel-times", "Highway 225", "--direction", "NB"
    )
    assert result.returncode == 0, result.stderr
    (nb,) = json.loads(result.stdout)
    assert nb["highway"] == "225" and nb["direction"] == "NB"
    assert nb["segments"][0]["segment_id"] == "225-NB-01"


def test_report_csv_then_duplicates(open_server: RunningServer, tmp_path: Path) -> None:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    csv_file = tmp_path / "obs.csv"
    csv_file.write_text(
        f"sensor_id,segment_id,observed_at,speed_kph\na,192-WB-01,{at},40\nb,192-WB-02,{at},55.5\n"
    )
    first = cli("--url", open_server.url, "report", str(csv_file))
    again = cli("--url", open_server.url, "--json", "report", str(csv_file))
    assert first.returncode == 0, first.stderr
    assert "accepted 2" in first.stdout
    summary = json.loads(again.stdout)
    assert (summary["accepted"], summary["duplicates"], summary["rows"]) == (0, 2, 2)


def test_fault_exit_code_3(open_server: RunningServer) -> None:
    result = cli("--url", open_server.url, "travel-times", "9999")
    assert result.returncode == 3
    assert "Client.UnknownHighway" in result.stderr


def test_unreachable_exit_code_4() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("--url", f"http://127.0.0.1:{port}/soap", "--timeout", "2", "highways")
    assert result.returncode == 4
    assert "cannot reach" in result.stderr


def test_usage_errors_exit_code_2(open_server: RunningServer, tmp_path: Path) -> None:
    assert cli("travel-times").returncode == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("sensor_id,segment_id,observed_at,speed_kph\na,192-WB-01,yesterday,40\n")
    result = cli("--url", open_server.url, "report", str(bad))
    assert result.returncode == 2
    assert "line 2" in result.stderr


def test_usage_errors_say_what_to_do(open_server: RunningServer) -> None:
    version = cli("--version")
    assert version.returncode == 0 and "highway-client" in version.stdout
    for bad in ("0", "-1", "abc", "nan"):
        refused = cli("--timeout", bad, "highways")
        assert refused.returncode == 2 and "--timeout" in refused.stderr
        assert "Traceback" not in refused.stderr
    for url in ("127.0.0.1:8080/soap", "localhost:8080/soap"):
        no_scheme = cli("--url", url, "highways")
        assert no_scheme.returncode == 2 and "add http:// or https://" in no_scheme.stderr
        assert "Traceback" not in no_scheme.stderr
    after = cli("highways", "--url", open_server.url, "--timeout", "5")
    assert after.returncode == 0, after.stderr


def test_report_lists_every_problem_in_one_pass_grouped(
    open_server: RunningServer, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    old = (now - dt.timedelta(days=9)).isoformat().replace("+00:00", "Z")
    future = (now + dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    ok = now.isoformat().replace("+00:00", "Z")
    lines = ["sensor_id,segment_id,observed_at,speed_kph", f"a,192-WB-01,{ok},fast"]
    lines += [f"s{i},192-WB-01,{old},40" for i in range(20)]  # lines 3-22
    lines += [f"x,NOPE-1,{ok},40", f"y,192-WB-01,{future},40"]  # lines 23, 24
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = cli("--url", open_server.url, "report", str(bad))
    assert result.returncode == 2
    err = result.stderr
    assert "line 2:" in err and "lines 3-22: observed_at is older than 7 days" in err
    assert "line 23: unknown segment 'NOPE-1'" in err and "line 24:" in err and "future" in err
    assert err.count("older than 7 days") == 1


# Error messages that say what to do next ----------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LivePki:
    return make_pki(tmp_path_factory.mktemp("cli-pki"))


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory, pki: LivePki
                ) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("cli-auth")
    make_accounts(workdir / "highway.db", pki)
    running = start_server(workdir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: LivePki
               ) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("cli-tls")
    cert, key = pki.files("server")
    running = start_server(workdir, "--no-require-auth", "--tls-cert", cert, "--tls-key", key)
    yield running
    running.stop()


def test_no_username_says_to_set_it(auth_server: RunningServer) -> None:
    result = cli("--url", auth_server.url, "highways")
    assert result.returncode == 3 and "wsse:InvalidSecurity" in result.stderr
    assert "HIGHWAY_USERNAME" in result.stderr and "--username" in result.stderr


def test_security_options_after_the_command(auth_server: RunningServer) -> None:
    ok = cli("highways", "--url", auth_server.url, "--username", "alice", "--json",
             env={"HIGHWAY_PASSWORD": PASSWORDS["alice"]})
    assert ok.returncode == 0, ok.stderr
    assert {h["id"] for h in json.loads(ok.stdout)} >= {"192"}
    env = {"HIGHWAY_URL": auth_server.url, "HIGHWAY_USERNAME": "alice",
           "HIGHWAY_PASSWORD": PASSWORDS["alice"]}
    assert cli("travel-times", "192", "--direction", "EB", env=env).returncode == 0


def test_https_against_a_plain_port_fails_fast_with_a_hint(open_server: RunningServer) -> None:
    https = open_server.url.replace("http://", "https://")
    result = cli("--url", https, "--timeout", "300", "highways")  # bounded by cli()'s 60 s
    assert result.returncode == 4
    assert f"the server speaks plain HTTP; use {open_server.url}" in result.stderr
    assert "Traceback" not in result.stderr


def test_library_hint_for_https_against_a_plain_port(open_server: RunningServer) -> None:
    from client import HighwayClient, errors

    https = open_server.url.replace("http://", "https://")
    with HighwayClient(url=https, timeout=2) as client:
        with pytest.raises(errors.TransportError, match="the server speaks plain HTTP"):
            client.list_highways()


def test_self_signed_certificate_hints_at_ca(tls_server: RunningServer, pki: LivePki) -> None:
    untrusted = cli("--url", tls_server.url, "highways")
    assert untrusted.returncode == 4 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert "--ca FILE" in untrusted.stderr
    trusted = cli("--url", tls_server.url, "highways", "--ca", pki.ca_file)
    assert trusted.returncode == 0, trusted.stderr


def test_watch_stops_at_once_on_a_permanent_fault(auth_server: RunningServer) -> None:
    env = {"HIGHWAY_PASSWORD": PASSWORDS["alice"]}
    unknown = cli("--url", auth_server.url, "--username", "alice", "travel-times", "ASDFGHJ",
                  "--watch", "1", env=env)  # no --iterations: only the fault can end it
    assert unknown.returncode == 3 and "Client.SchemaValidation" in unknown.stderr
    assert "highway-client highways" in unknown.stderr and "refreshed" not in unknown.stdout
    missing = cli("--url", auth_server.url, "--username", "alice", "travel-times", "9999",
                  "--watch", "1", env=env)
    assert missing.returncode == 3 and "Client.UnknownHighway" in missing.stderr
    wrong = cli("--url", auth_server.url, "--username", "alice", "travel-times", "192",
                "--watch", "1", env={"HIGHWAY_PASSWORD": "not-the-password"})
    assert wrong.returncode == 3 and "wsse:FailedAuthentication" in wrong.stderr
    assert "HIGHWAY_PASSWORD" in wrong.stderr


def test_ctrl_c_exits_130(open_server: RunningServer) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "client", "--url", open_server.url, "travel-times", "192",
         "--watch", "30"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the first refresh has been drawn
        assert first.startswith("Highway 192")
        time.sleep(0.2)  # into the wait between refreshes
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in (process.stderr.read() if process.stderr else "")


def test_no_plain_probe_through_a_proxy(open_server: RunningServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from client.plain_probe import speaks_plain_http

    https = open_server.url.replace("http://", "https://")
    for name in ("no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert speaks_plain_http(https, 5)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert not speaks_plain_http(https, 5)  # the proxy's path is not probed around it


def test_cli_tls_flags_reach_a_server_that_requires_a_client_certificate(
    tmp_path: Path, pki: LivePki
) -> None:
    make_accounts(tmp_path / "highway.db", pki)
    cert, key = pki.files("server")
    server = start_server(tmp_path, "--tls-cert", cert, "--tls-key", key,
                          "--client-ca", pki.ca_file, "--wss-ca", pki.ca_file)
    try:
        acme_cert, acme_key = pki.files("acme")
        ok = cli("--url", server.url, "highways", "--ca", pki.ca_file,
                 "--tls-client-cert", acme_cert, "--tls-client-key", acme_key)
        assert ok.returncode == 0, ok.stderr
        signed = cli("--url", server.url, "--ca", pki.ca_file, "--tls-client-cert", acme_cert,
                     "--tls-client-key", acme_key, "--cert", acme_cert, "--key", acme_key,
                     "travel-times", "192", "--json")
        assert signed.returncode == 0, signed.stderr
        assert "DeprecationWarning" not in signed.stderr
        missing = cli("--url", server.url, "highways", "--ca", str(tmp_path / "nope.pem"))
        assert missing.returncode == 2 and "no such file" in missing.stderr
    finally:
        server.stop()
