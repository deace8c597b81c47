"""Declaring settings once: a dataclass field carries its flag, environment variable and help."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


class ConfigError(ValueError):
    """A setting has a value the service cannot start with; the message names the setting."""


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


def positive_int(text: str) -> int:
    """Parse a whole number of 1 or more."""
    value = int(text)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def positive_float(text: str) -> float:
    """Parse a number greater than zero."""
    value = float(text)
    if not value > 0:
        raise ValueError("must be greater than zero")
    return value


def non_negative_float(text: str) -> float:
    """Parse a number of zero or more."""
    value = float(text)
    if not value >= 0:
        raise ValueError("must not be negative")
    return value


def int_between(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """A parser for whole numbers in [low, high]; `what` names the unit in the message."""

    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be {what or 'a number'} between {low} and {high}")
        return value

    return parse


def float_between(low: float, high: float, what: str = "") -> Callable[[str], float]:
    """A parser for numbers in [low, high]."""

    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:
            raise ValueError(f"must be {what or 'a number'} between {low:g} and {high:g}")
        return value

    return parse
