"""SIGHUP on a live server: TLS material and the log level reloaded, connections kept, never
a stop; a broken reload changes nothing."""

from __future__ import annotations

import http.client
import signal
import ssl
import time
from pathlib import Path

from cryptography import x509

from tests.conftest import RunningServer, start_server
from tests.security.pki import TestCA
from tests.soap_helpers import envelope

LIST = envelope("<t:ListHighways/>")


def wait_for_log(server: RunningServer, text: str, count: int = 1, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while server.log_text().count(text) < count:
        assert server.process.poll() is None, server.log_text()
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{server.log_text()}"
        time.sleep(0.05)


def served_serial(server: RunningServer, ca_file: Path) -> int:
    """The serial number of the certificate a new TLS handshake is given."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.check_hostname = False
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)
    try:
        conn.connect()
        der = conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def post_on(conn: http.client.HTTPConnection) -> int:
    conn.request("POST", "/soap", body=LIST, headers={"Content-Type": "text/xml; charset=utf-8"})
    answer = conn.getresponse()
    answer.read()
    return answer.status


def test_sighup_reloads_tls_and_log_level_and_keeps_connections(tmp_path: Path) -> None:
    ca = TestCA()
    ca_file, _ = ca.write(tmp_path, "ca")
    first = ca.issue("server-one", server_name="127.0.0.1", slot=3)
    cert, key = first.write(tmp_path, "server")
    config = tmp_path / "highway.toml"
    config.write_text('[ops]\nlog_level = "INFO"\n')
    server = start_server(tmp_path, "--no-require-auth", "--config", str(config),
                          "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert served_serial(server, ca_file) == first.cert.serial_number
        context = ssl.create_default_context(cafile=str(ca_file))
        context.check_hostname = False
        held = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)
        assert post_on(held) == 200  # a keep-alive connection open across the reload

        second = ca.issue("server-two", server_name="127.0.0.1", slot=4)
        second.write(tmp_path, "server")  # the same paths, new certificate and key
        config.write_text('[ops]\nlog_level = "DEBUG"\n[frontdoor]\nmax_body_bytes = 2048\n')
        server.process.send_signal(signal.SIGHUP)
        wait_for_log(server, "SIGHUP: reloaded tls certificate, key and client CA, log level DEBUG")
        wait_for_log(server, "need a restart: frontdoor.max_body_bytes")

        assert served_serial(server, ca_file) == second.cert.serial_number  # new handshakes
        assert post_on(held) == 200  # the open connection was not dropped
        held.close()

        # A reload that cannot work (a key that does not match) changes nothing and is logged.
        third = ca.issue("server-three", server_name="127.0.0.1", slot=5)
        cert.write_bytes(third.cert_pem)  # the key file still holds the second key
        server.process.send_signal(signal.SIGHUP)
        wait_for_log(server, "SIGHUP: TLS files not reloaded")
        assert served_serial(server, ca_file) == second.cert.serial_number

        # A broken configuration file: logged, the running configuration kept.
        config.write_text("[ops\nlog_level = \n")
        server.process.send_signal(signal.SIGHUP)
        wait_for_log(server, "SIGHUP: configuration not reloaded")
        assert served_serial(server, ca_file) == second.cert.serial_number
        assert server.process.poll() is None  # SIGHUP never stops the server
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log_text()


def test_sighup_on_plain_http_reloads_the_log_level(tmp_path: Path) -> None:
    config = tmp_path / "highway.toml"
    config.write_text('[ops]\nlog_level = "INFO"\n')
    server = start_server(tmp_path, "--no-require-auth", "--config", str(config))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        assert post_on(conn) == 200
        config.write_text('[ops]\nlog_level = "DEBUG"\n')
        for count in (1, 2):  # repeated hang-ups are each a reload, never a stop
            server.process.send_signal(signal.SIGHUP)
            wait_for_log(server, "SIGHUP: reloaded log level DEBUG", count=count)
        assert post_on(conn) == 200
        conn.close()
    finally:
        assert server.stop() == 0
