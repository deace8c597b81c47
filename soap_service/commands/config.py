"""`highway-server config show|example`: the effective configuration and the example file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from soap_service.commands.config_file import effective_toml, example_toml
from soap_service.ratelimit.rules import RuleSet, parse_rule
from soap_service.settings import ServerSettings
from soap_service.settings_loader import ConfigError, add_setting_arguments, load_settings
from soap_service.soap.service import OPERATIONS


def add_config_commands(commands: Any) -> None:
    """Add `config show` and `config example` to the `highway-server` subcommands."""
    config = commands.add_parser("config", help="print the effective or example configuration")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="print the effective configuration (defaults < --config file < HIGHWAY_* "
        "environment < flags) as TOML, secrets masked",
    )
    add_setting_arguments(show)  # the same flags as `serve`, so any command line can be checked
    show.set_defaults(handler=_show)
    example = actions.add_parser(
        "example", help="print every setting with its default and help (highway.example.toml)"
    )
    example.set_defaults(handler=_example)


def _show(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args)
    except ConfigError as exc:
        print(f"highway-server: configuration error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(effective_toml(settings))
    sys.stdout.write(rule_table(settings))
    return 0


def rule_table(settings: ServerSettings) -> str:
    """The per-principal limit each caller gets for each operation, as TOML comment lines."""
    rules = RuleSet.with_defaults(tuple(parse_rule(t) for t in settings.ratelimit.rate_limits))
    rows = [("caller", "operation", "limit", "rule", "from")]
    for caller, operation, rule in rules.table(OPERATIONS):
        if rule is None:
            rows.append((caller, operation, "(its role's)", "-", "-"))
        else:
            limit = "unlimited" if rule.limit is None else str(rule.limit)
            rows.append((caller, operation, limit, rule.text, rule.origin))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "",
        "# Effective per-principal rate limits, one rule per request: the most specific of the",
        "# operator's (configured) rules; built-in defaults only where none of them matches.",
    ]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append(("# " + "  ".join(cells)).rstrip())
    return "\n".join(lines) + "\n"


def _example(_args: argparse.Namespace) -> int:
    sys.stdout.write(example_toml())
    return 0
