"""The fault registry: one declaration per code, from which README's and the service page's
fault tables come, and whose category and labels decide the metrics (never message text)."""

from __future__ import annotations

import ast
import pathlib

import pytest

from soap_service import faults
from soap_service.faults import ServiceFault
from soap_service.ops.fault_table import README_END, README_START, fault_rows, markdown_table
from soap_service.ops.metrics import ServiceMetrics
from soap_service.security import errors
from tests.conftest import ROOT


def test_readme_fault_table_is_generated_from_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)
    assert readme[start:end] == markdown_table(), (
        "README's fault table is stale: paste `python -m soap_service.ops.fault_table`")
    assert readme.count(README_START) == 1


def test_every_code_constant_is_declared_once_with_its_status() -> None:
    constants = {v for k, v in vars(faults).items() if k.isupper() and isinstance(v, str)
                 and v.startswith(("soap:", "wsse:"))}
    assert constants == set(faults.REGISTRY)
    assert [code for code, _, _ in fault_rows()] == list(faults.REGISTRY)
    for spec in faults.REGISTRY.values():
        assert spec.category in faults.CATEGORIES and spec.meaning
        assert ServiceFault(spec.code, "x").http_status == spec.status
    with pytest.raises(ValueError, match="not declared"):
        ServiceFault("soap:Client.Invented", "x")


def test_raise_sites_do_not_restate_the_registry_status() -> None:
    """Only a status that differs from the registry's may be given where a fault is raised."""
    for path in (ROOT / "soap_service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ServiceFault":
                for keyword in node.keywords:
                    if keyword.arg == "http_status":
                        assert not isinstance(keyword.value, ast.Constant), (
                            f"{path.relative_to(ROOT)}:{node.lineno}: the status is declared "
                            "in faults.py")


def _counted(fault: ServiceFault) -> dict[tuple[str, str], float]:
    metrics = ServiceMetrics()
    metrics.observe("GetTravelTimes", fault, 0.01)
    found = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name in ("highway_auth_failures_total",
                               "highway_rate_limit_refusals_total") and sample.value:
                label = sample.labels.get("reason") or sample.labels.get("scope", "")
                found[(sample.name, label)] = sample.value
    return found


def test_metric_labels_come_from_the_raise_site_not_the_message() -> None:
    # The example: "PasswordDigest without Nonce and Created" was counted as
    # reason="signature" because the message contains "digest".
    fault = errors.invalid_token("PasswordDigest without Nonce and Created", why="malformed_token")
    assert _counted(fault) == {("highway_auth_failures_total", "malformed_token"): 1}
    # Any wording: the label is what the raise site declared.
    worded = errors.failed_check("signature certificate digest nonce replayed", why="timing")
    assert _counted(worded) == {("highway_auth_failures_total", "timing"): 1}
    with pytest.raises(ValueError):
        errors.invalid_security("x", why="made_up")


def test_every_auth_raise_site_declares_a_known_reason() -> None:
    """Each call of a security/errors.py builder names its metric reason (`why=`)."""
    builders = {"invalid_security", "invalid_token", "unsupported_token", "failed_check",
                "unsupported_algorithm", "failed_authentication", "message_expired",
                "wss_fault"}
    sites = 0
    for path in pathlib.Path(ROOT / "soap_service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr in builders and getattr(
                    func.value, "id", None) == "errors":
                whys = [k.value for k in node.keywords if k.arg == "why"]
                assert whys and isinstance(whys[0], ast.Constant), (path, node.lineno)
                assert whys[0].value in faults.AUTH_REASONS, (path, node.lineno)
                sites += 1
    assert sites > 50


def test_limit_faults_are_counted_by_their_declared_scope() -> None:
    limited = ServiceFault(faults.CLIENT_RATE_LIMITED, "x", label="principal",
                           reason="ip ip ip auth-failure account")
    assert _counted(limited) == {("highway_rate_limit_refusals_total", "principal"): 1}
    # A connection-cap refusal is an overload without a scope: not a rate-limit refusal.
    assert _counted(ServiceFault(faults.SERVER_OVERLOADED, "x")) == {}
