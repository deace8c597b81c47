"""Declaring settings once: a dataclass field carries its flag, environment variable and help."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

ENV_PREFIX = "HIGHWAY_"


@dataclasses.dataclass(frozen=True)
class SettingSpec:
    """How one setting is spelled on the command line, in the environment and in the file."""

    flag: str
    help: str
    secret: bool = False
    repeatable: bool = False
    parse: Callable[[str], Any] | None = None

    @property
    def env(self) -> str:
        """The environment variable name, derived from the flag (`--ip-rate-limit` -> ...)."""
        return ENV_PREFIX + self.flag.lstrip("-").upper().replace("-", "_")


def setting(
    default: Any,
    *,
    flag: str,
    help: str,
    secret: bool = False,
    repeatable: bool = False,
    parse: Callable[[str], Any] | None = None,
) -> Any:
    """Declare a dataclass field that is also a command-line flag and an environment variable.

    `parse` turns one string (from argv, the environment or a file) into the field's value;
    without it the field's annotated type decides (int, float, bool, str, or optional str).
    A repeatable setting is a tuple; each flag occurrence adds one parsed item.
    """
    spec = SettingSpec(flag=flag, help=help, secret=secret, repeatable=repeatable, parse=parse)
    if isinstance(default, (list, dict, set)):
        raise TypeError("settings are immutable: use a tuple default")
    return dataclasses.field(default=default, metadata={"setting": spec})


def spec_of(field: dataclasses.Field[Any]) -> SettingSpec | None:
    """The SettingSpec of a dataclass field, or None for fields that are not settings."""
    return field.metadata.get("setting")
