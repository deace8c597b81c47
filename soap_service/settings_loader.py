"""Building ServerSettings from defaults, a TOML file, the environment and flags, in that order."""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from soap_service.settings import ServerSettings
from soap_service.settings_fields import ConfigError, SettingSpec, spec_of


@dataclasses.dataclass(frozen=True)
class SettingRef:
    """One setting's place: its section, its field name, its type and its spec."""

    section: str
    name: str
    type: Any
    spec: SettingSpec
    default: Any

    @property
    def dest(self) -> str:
        """The argparse destination, unique across sections."""
        return f"{self.section}__{self.name}"

    @property
    def key(self) -> str:
        """The dotted name used in messages and the TOML file (`core.port`)."""
        return f"{self.section}.{self.name}"


def iter_settings() -> Iterator[SettingRef]:
    """Every declared setting of every section, in declaration order."""
    hints = typing.get_type_hints(ServerSettings)
    for section_field in dataclasses.fields(ServerSettings):
        section_type = hints[section_field.name]
        section_hints = typing.get_type_hints(section_type)
        for field in dataclasses.fields(section_type):
            spec = spec_of(field)
            if spec is None:
                continue
            yield SettingRef(
                section_field.name, field.name, section_hints[field.name], spec, field.default
            )


def _base_type(tp: Any) -> Any:
    """`int | None` -> int; `tuple[str, ...]` -> str."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _base_type(args[0])
    if origin is tuple:
        return _base_type(typing.get_args(tp)[0])
    return tp


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _convert_one(ref: SettingRef, raw: Any) -> Any:
    """Turn one raw value (a string, or a TOML scalar) into the setting's item type."""
    if ref.spec.parse is not None:
        return ref.spec.parse(str(raw) if not isinstance(raw, str) else raw)
    base = _base_type(ref.type)
    if base is bool:
        return raw if isinstance(raw, bool) else _parse_bool(str(raw))
    if base is int:
        if isinstance(raw, bool):
            raise ValueError("expected a whole number")
        return int(raw)
    if base is float:
        return float(raw)
    return str(raw)


def convert(ref: SettingRef, raw: Any) -> Any:
    """Convert a raw value for a setting, raising ConfigError that names the setting."""
    try:
        if ref.spec.repeatable:
            items = raw if isinstance(raw, (list, tuple)) else [
                part for part in str(raw).split(",") if part.strip()
            ]
            return tuple(_convert_one(ref, item) for item in items)
        return _convert_one(ref, raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid value for {ref.key} ({ref.spec.flag}): {exc}") from exc


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; every flag defaults to 'not given' so precedence can work."""
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    for ref in iter_settings():
        kwargs: dict[str, Any] = {"dest": ref.dest, "default": None, "help": ref.spec.help}
        if _base_type(ref.type) is bool and ref.spec.parse is None and not ref.spec.repeatable:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif ref.spec.repeatable:
            kwargs["action"] = "append"
        parser.add_argument(ref.spec.flag, **kwargs)


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc


def load_settings(
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: str | None = None,
) -> ServerSettings:
    """Effective settings: defaults < file < environment < flags. Raises ConfigError."""
    environ = os.environ if environ is None else environ
    if config_path is None and args is not None:
        config_path = getattr(args, "config", None)
    if config_path is None:
        config_path = environ.get("HIGHWAY_CONFIG")
    file_values = _read_file(config_path) if config_path else {}
    known = {ref.key for ref in iter_settings()}
    for section, values in file_values.items():
        if not isinstance(values, dict):
            raise ConfigError(f"configuration file: [{section}] must be a table")
        for name in values:
            if f"{section}.{name}" not in known:
                raise ConfigError(f"configuration file: unknown setting {section}.{name}")

    sections: dict[str, dict[str, Any]] = {}
    for ref in iter_settings():
        value = ref.default
        if ref.name in file_values.get(ref.section, {}):
            value = convert(ref, file_values[ref.section][ref.name])
        if ref.spec.env in environ:
            value = convert(ref, environ[ref.spec.env])
        given = getattr(args, ref.dest, None) if args is not None else None
        if given is not None:
            value = convert(ref, given) if not isinstance(given, bool) else given
        sections.setdefault(ref.section, {})[ref.name] = value

    hints = typing.get_type_hints(ServerSettings)
    built = {}
    for name, values in sections.items():
        try:
            built[name] = hints[name](**values)
        except (ValueError, TypeError) as exc:
            raise ConfigError(str(exc)) from exc
    try:
        return ServerSettings(**built)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
