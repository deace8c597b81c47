"""The rule notation, its precedence, and startup validation of the settings."""

from __future__ import annotations

import argparse

import pytest

from soap_service.ratelimit.rules import RuleSet, parse_limit, parse_rule
from soap_service.settings_loader import ConfigError, add_setting_arguments, load_settings


def settings_from(*argv: str, environ: dict[str, str] | None = None):  # noqa: ANN201
    parser = argparse.ArgumentParser()
    add_setting_arguments(parser)
    return load_settings(parser.parse_args(list(argv)), environ=environ or {}).ratelimit


def test_defaults_are_documented_values() -> None:
    settings = settings_from()
    assert settings.state_url == "memory://"
    assert settings.ip_rate_limit == "1200/minute"
    assert settings.strict_wsi_faults is False
    rules = RuleSet.with_defaults(())
    reader = rules.rule_for("alice", "reader", "GetTravelTimes")
    operator = rules.rule_for("op1", "operator", "ReportObservations")
    other = rules.rule_for("alice", "reader", "ListHighways")
    assert reader is not None and reader.limit is not None and reader.limit.amount == 600
    assert operator is not None and operator.limit is not None and operator.limit.amount == 60
    assert other is not None and other.subject == "*"


def test_most_specific_rule_wins() -> None:
    configured = tuple(parse_rule(text) for text in (
        "reader=100/minute",
        "account:bigcorp=5000/minute",
        "account:bigcorp:GetTravelTimes=unlimited",
    ))
    rules = RuleSet.with_defaults(configured)
    assert rules.rule_for("bigcorp", "reader", "GetTravelTimes").limit is None  # type: ignore[union-attr]
    bigcorp_list = rules.rule_for("bigcorp", "reader", "ListHighways")
    assert bigcorp_list is not None and bigcorp_list.key == "account:bigcorp"
    # The operator's role-wide rule outranks the more specific default reader:GetTravelTimes.
    assert rules.rule_for("alice", "reader", "GetTravelTimes").key == "reader"  # type: ignore[union-attr]
    assert rules.rule_for("alice", "reader", "ListHighways").key == "reader"  # type: ignore[union-attr]
    # Scopes the operator did not configure keep their defaults.
    operator = rules.rule_for("op1", "operator", "ReportObservations")
    assert operator is not None and operator.origin == "default" and operator.limit.amount == 60  # type: ignore[union-attr]


def test_configured_rule_replaces_default_of_same_scope() -> None:
    rules = RuleSet.with_defaults((parse_rule("reader:GetTravelTimes=10/second"),))
    rule = rules.rule_for("alice", "reader", "GetTravelTimes")
    assert rule is not None and rule.limit is not None and rule.limit.amount == 10


SCOPES = (
    "*", "*:ListHighways", "*:GetTravelTimes", "*:ReportObservations",
    "reader", "reader:GetTravelTimes", "operator", "operator:ReportObservations",
    "admin:ListHighways", "account:alice", "account:alice:GetTravelTimes",
)
REQUESTS = [(account, role, op)
            for account, role in (("alice", "reader"), ("bob", "reader"), ("op1", "operator"),
                                  ("root", "admin"))
            for op in ("ListHighways", "GetTravelTimes", "ReportObservations")]


def _matches(rule_key: str, account: str, role: str, operation: str) -> bool:
    subject, _, op = rule_key.removeprefix("account:").partition(":")
    if rule_key.startswith("account:"):
        ok_subject = subject == account
    else:
        ok_subject = subject in ("*", role)
    return ok_subject and op in ("", operation)


@pytest.mark.parametrize("scope", SCOPES)
def test_an_operator_rule_is_never_outranked_by_a_default(scope: str) -> None:
    """Whatever one scope the operator configures, every request it matches gets an operator
    rule; requests it does not match keep the defaults."""
    rules = RuleSet.with_defaults((parse_rule(f"{scope}=7/minute"),))
    defaults = RuleSet.with_defaults(())
    for account, role, op in REQUESTS:
        rule = rules.rule_for(account, role, op)
        assert rule is not None
        if _matches(scope, account, role, op):
            assert (rule.origin, rule.text) == ("configured", f"{scope}=7/minute"), (account, op)
        else:
            assert rule == defaults.rule_for(account, role, op), (account, op)


def test_most_specific_operator_rule_wins_among_operator_rules() -> None:
    rules = RuleSet.with_defaults(tuple(parse_rule(t) for t in (
        "*=100/minute", "reader:GetTravelTimes=5/second", "account:alice=unlimited")))
    assert rules.rule_for("bob", "reader", "GetTravelTimes").key == "reader:GetTravelTimes"  # type: ignore[union-attr]
    assert rules.rule_for("bob", "reader", "ListHighways").key == "*"  # type: ignore[union-attr]
    assert rules.rule_for("alice", "reader", "GetTravelTimes").key == "account:alice"  # type: ignore[union-attr]
    # `*` covers every request, so no default is left for operators either.
    assert rules.rule_for("op1", "operator", "ReportObservations").key == "*"  # type: ignore[union-attr]


def test_rule_table_names_each_rule_and_its_origin() -> None:
    rules = RuleSet.with_defaults(tuple(parse_rule(t) for t in (
        "reader=40/minute", "account:bob:GetTravelTimes=unlimited")))
    table = {(caller, op): rule for caller, op, rule in
             rules.table(("ListHighways", "GetTravelTimes", "ReportObservations"))}
    assert table[("reader", "GetTravelTimes")].text == "reader=40/minute"  # type: ignore[union-attr]
    assert table[("operator", "ReportObservations")].origin == "default"  # type: ignore[union-attr]
    assert table[("account:bob", "GetTravelTimes")].limit is None  # type: ignore[union-attr]
    assert table[("account:bob", "ListHighways")] is None  # falls through to bob's role


def test_flags_env_and_validation_name_the_setting() -> None:
    settings = settings_from("--rate-limit", "reader=5/second", "--rate-limit",
                             "operator:ReportObservations=2/minute", "--ip-rate-limit",
                             "unlimited", "--max-in-flight", "2", "--strict-wsi-faults")
    assert settings.rate_limits == ("reader=5/second", "operator:ReportObservations=2/minute")
    assert parse_limit(settings.ip_rate_limit) is None
    assert settings.max_in_flight == 2 and settings.strict_wsi_faults is True
    from_env = settings_from(environ={"HIGHWAY_RATE_LIMIT": "reader=1/second,admin=2/second"})
    assert from_env.rate_limits == ("reader=1/second", "admin=2/second")

    cases = {
        ("--rate-limit", "visitor=1/minute"): "--rate-limit",
        ("--rate-limit", "reader:Get-Travel=1/minute"): "--rate-limit",
        ("--rate-limit", "reader"): "--rate-limit",
        ("--ip-rate-limit", "many"): "--ip-rate-limit",
        ("--ip-rate-limit", "0/minute"): "--ip-rate-limit",
        ("--max-in-flight", "0"): "--max-in-flight",
        ("--state-url", "http://127.0.0.1"): "--state-url",
        ("--rate-limit-strategy", "leaky-bucket"): "--rate-limit-strategy",
    }
    for argv, flag in cases.items():
        with pytest.raises(ConfigError, match=flag):
            settings_from(*argv)


def test_limit_notation() -> None:
    item = parse_limit("5 per 2 seconds")
    assert item is not None and item.amount == 5 and item.get_expiry() == 2
    with pytest.raises(ValueError, match="one limit"):
        parse_limit("1/second;10/minute")
