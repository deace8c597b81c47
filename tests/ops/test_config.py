"""Configuration: precedence (defaults < file < environment < flags), errors, `config show`."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from soap_service.cli import build_parser
from soap_service.commands.config_file import MASK, example_toml, masked
from soap_service.settings import ServerSettings
from soap_service.settings_fields import SettingSpec
from soap_service.settings_loader import ConfigError, SettingRef, load_settings
from tests.conftest import ROOT


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith("HIGHWAY_")}
    return subprocess.run([sys.executable, "-m", "soap_service", *argv], cwd=ROOT, text=True,
                          capture_output=True, env={**clean, **(env or {})}, timeout=60)


def _settings(argv: list[str], environ: dict[str, str]) -> ServerSettings:
    return load_settings(build_parser().parse_args(["serve", *argv]), environ=environ)


def test_file_then_environment_then_flag(tmp_path: Path) -> None:
    config = tmp_path / "highway.toml"
    config.write_text('[core]\nport = 7001\nworkers = 2\n[ops]\nlog_level = "WARNING"\n'
                      'metrics_port = 9101\n[ratelimit]\nrate_limits = ["reader=5/minute"]\n'
                      'allow_per_process_state = true\n')
    base = _settings(["--config", str(config)], {})
    assert (base.core.port, base.core.workers, base.ops.log_level) == (7001, 2, "WARNING")
    assert base.ops.metrics_port == 9101 and base.ratelimit.rate_limits == ("reader=5/minute",)
    assert base.core.db == "./highway.db"  # not in the file: the default
    env = {"HIGHWAY_PORT": "7002", "HIGHWAY_LOG_LEVEL": "error"}
    from_env = _settings(["--config", str(config)], env)
    assert (from_env.core.port, from_env.ops.log_level, from_env.core.workers) == (7002, "ERROR", 2)
    flagged = _settings(["--config", str(config), "--port", "7003"], env)
    assert (flagged.core.port, flagged.ops.log_level) == (7003, "ERROR")
    via_env_file = _settings([], {"HIGHWAY_CONFIG": str(config)})
    assert via_env_file.core.port == 7001


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--port", "70000"], {}, "core.port (--port)"),
        (["--log-level", "loud"], {}, "ops.log_level (--log-level)"),
        ([], {"HIGHWAY_LOG_FORMAT": "xml"}, "ops.log_format (--log-format)"),
        (["--metrics-port", "-1"], {}, "ops.metrics_port (--metrics-port)"),
        (["--workers", "0"], {}, "core.workers (--workers)"),
        ([], {"HIGHWAY_MAX_BODY_BYTES": "lots"}, "frontdoor.max_body_bytes (--max-body-bytes)"),
        (["--state-url", "ftp://x"], {}, "ratelimit.state_url (--state-url)"),
        (["--tls-cert", "/nonexistent.pem"], {}, "tls.tls_cert (--tls-cert)"),
        (["--client-ca", "/nonexistent.pem"], {}, "tls.client_ca (--client-ca)"),
    ],
)
def test_invalid_values_name_the_setting(argv: list[str], env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        _settings(argv, env)
    assert named in str(info.value)


def test_server_refuses_to_start_naming_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[core]\nport = 8080\nprot = 1\n")
    unknown = _run("serve", "--config", str(config))
    assert unknown.returncode == 2
    assert "unknown setting core.prot" in unknown.stderr
    bad_env = _run("serve", env={"HIGHWAY_LOG_LEVEL": "chatty"})
    assert bad_env.returncode == 2
    assert "configuration error: invalid value for ops.log_level (--log-level)" in bad_env.stderr
    config.write_text("[frontdoor]\nmax_connections = 4\nmax_connections_per_ip = 8\n")
    cross = _run("serve", "--config", str(config))
    assert cross.returncode == 2 and "frontdoor.max_connections_per_ip" in cross.stderr


def test_config_show_prints_effective_toml(tmp_path: Path) -> None:
    config = tmp_path / "highway.toml"
    config.write_text("[core]\nport = 7001\n")
    shown = _run("config", "show", "--config", str(config), "--workers", "3",
                 "--allow-per-process-state", env={"HIGHWAY_LOG_FORMAT": "text"})
    assert shown.returncode == 0, shown.stderr
    data = tomllib.loads(shown.stdout)
    assert data["core"]["port"] == 7001 and data["core"]["workers"] == 3
    assert data["ops"]["log_format"] == "text"
    assert "metrics_port" not in data["ops"]  # off: shown commented out
    # What it prints is itself a valid configuration file giving the same settings.
    again = tmp_path / "again.toml"
    again.write_text(shown.stdout)
    assert load_settings(config_path=str(again), environ={}) == _settings(
        ["--config", str(config), "--workers", "3", "--allow-per-process-state"],
        {"HIGHWAY_LOG_FORMAT": "text"})


def test_config_show_prints_the_effective_rule_table(tmp_path: Path) -> None:
    config = tmp_path / "highway.toml"
    config.write_text('[ratelimit]\nrate_limits = ["reader=40/minute"]\n')
    shown = _run("config", "show", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    tomllib.loads(shown.stdout)  # the table is comments: the output stays a valid file
    rows = {tuple(line[2:].split()[:2]): line.split() for line in shown.stdout.splitlines()
            if line.startswith("# ") and len(line.split()) > 5}
    assert rows[("reader", "GetTravelTimes")][-2:] == ["reader=40/minute", "configured"]
    assert rows[("operator", "ReportObservations")][-2:] == [
        "operator:ReportObservations=60/minute", "default"]


def test_config_show_masks_secrets() -> None:
    shown = _run("config", "show", "--state-url", "redis://highway:s3cr3t-pw@127.0.0.1:6379/0")
    assert shown.returncode == 0, shown.stderr
    assert "s3cr3t-pw" not in shown.stdout
    assert f'state_url = "redis://highway:{MASK}@127.0.0.1:6379/0"' in shown.stdout
    secret = SettingRef("security", "api_key", str,
                        SettingSpec(flag="--api-key", help="a key", secret=True), None)
    assert masked(secret, "hunter2") == MASK and masked(secret, None) is None


def test_example_file_is_current_and_loads_as_the_defaults() -> None:
    checked_in = (ROOT / "highway.example.toml").read_text()
    assert checked_in == example_toml(), (
        "regenerate: python -m soap_service config example > highway.example.toml")
    assert load_settings(config_path=str(ROOT / "highway.example.toml"),
                         environ={}) == ServerSettings()
    assert _run("config", "example").stdout == checked_in
