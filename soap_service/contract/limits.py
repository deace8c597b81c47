"""The sizes and identifier rules the published contract can describe, read from its XSD.

The bounds live in one place, the checked-in schema (maxOccurs, patterns, lengths); the server
calls `check_network` when it loads a network, so it never serves answers its own contract
would reject (a 5,001st highway, a direction with too many segments, a name too long).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable

from lxml import etree

from soap_service.contract import contract
from soap_service.domain import Highway

XS = contract.XSD_NS
# At most this many problems are listed in the error (the count of the rest is given).
MAX_LISTED = 20


@dataclasses.dataclass(frozen=True)
class StringRule:
    """One xs:string simpleType: its name, optional pattern and length bounds."""

    type_name: str
    pattern: re.Pattern[str] | None
    min_length: int
    max_length: int | None

    def problem(self, value: str) -> str | None:
        """Why `value` is not a valid instance of the type, or None when it is."""
        if len(value) < self.min_length:
            return f"is shorter than {self.min_length} character(s)"
        if self.max_length is not None and len(value) > self.max_length:
            return f"is longer than {self.max_length} characters"
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"does not match the pattern {self.pattern.pattern}"
        return None


@dataclasses.dataclass(frozen=True)
class ContractLimits:
    """What a network must respect for every answer to validate against the contract."""

    max_highways: int  # ListHighwaysResponse/highway maxOccurs
    max_segments_per_direction: int  # DirectionTravelTime/segment maxOccurs
    max_directions: int  # HighwaySummary/direction maxOccurs
    highway_id: StringRule
    segment_id: StringRule
    place_name: StringRule


def _max_occurs(schema: etree._Element, path: str) -> int:
    found = schema.find(path)
    if found is None:
        raise RuntimeError(f"the contract's schema has no {path}")
    value = found.get("maxOccurs", "1")
    if value == "unbounded":
        return 2**31 - 1
    return int(value)


def _string_rule(schema: etree._Element, type_name: str) -> StringRule:
    restriction = schema.find(f"{{{XS}}}simpleType[@name='{type_name}']/{{{XS}}}restriction")
    if restriction is None:
        raise RuntimeError(f"the contract's schema has no simpleType {type_name}")

    def facet(name: str) -> str | None:
        element = restriction.find(f"{{{XS}}}{name}")
        return None if element is None else element.get("value")

    pattern = facet("pattern")
    max_length = facet("maxLength")
    # XSD patterns are implicitly anchored; the contract's use only syntax Python shares.
    return StringRule(
        type_name=type_name,
        pattern=re.compile(pattern) if pattern is not None else None,
        min_length=int(facet("minLength") or 0),
        max_length=int(max_length) if max_length is not None else None,
    )


@functools.cache
def contract_limits() -> ContractLimits:
    """The bounds of the checked-in contract (parsed once)."""
    schema = contract.schema_element()
    ct, el = f"{{{XS}}}complexType", f"{{{XS}}}element"
    seq = f"{{{XS}}}sequence"
    return ContractLimits(
        max_highways=_max_occurs(
            schema, f"{el}[@name='ListHighwaysResponse']/{ct}/{seq}/{el}[@name='highway']"),
        max_segments_per_direction=_max_occurs(
            schema, f"{ct}[@name='DirectionTravelTime']/{seq}/{el}[@name='segment']"),
        max_directions=_max_occurs(
            schema, f"{ct}[@name='HighwaySummary']/{seq}/{el}[@name='direction']"),
        highway_id=_string_rule(schema, "HighwayId"),
        segment_id=_string_rule(schema, "SegmentId"),
        place_name=_string_rule(schema, "PlaceName"),
    )


class NetworkOutsideContract(ValueError):
    """The network holds something the published contract cannot describe."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = problems[:MAX_LISTED]
        more = len(problems) - len(listed)
        text = "; ".join(listed) + (f"; and {more} more" if more else "")
        super().__init__(f"the network does not fit the service contract: {text}")


def network_problems(highways: Iterable[Highway]) -> list[str]:
    """Every way the network breaks the contract's bounds, each naming the limit it breaks."""
    limits = contract_limits()
    problems: list[str] = []

    def check(rule: StringRule, what: str, value: str) -> None:
        reason = rule.problem(value)
        if reason is not None:
            problems.append(f"{what} {value[:120]!r} {reason} (contract type {rule.type_name})")

    count = 0
    for highway in highways:
        count += 1
        check(limits.highway_id, "highway id", highway.id)
        check(limits.place_name, f"highway {highway.id} name", highway.name)
        if len(highway.segments) > limits.max_directions:
            problems.append(f"highway {highway.id} has {len(highway.segments)} directions; the "
                            f"contract allows at most {limits.max_directions}")
        for direction, segments in highway.segments.items():
            if len(segments) > limits.max_segments_per_direction:
                problems.append(
                    f"highway {highway.id} {direction.value} has {len(segments)} segments; the "
                    f"contract allows at most {limits.max_segments_per_direction} per direction "
                    "(DirectionTravelTime/segment maxOccurs)")
            for segment in segments:
                check(limits.segment_id, "segment id", segment.id)
                check(limits.place_name, f"segment {segment.id} from_name", segment.from_name)
                check(limits.place_name, f"segment {segment.id} to_name", segment.to_name)
    if count > limits.max_highways:
        problems.insert(0, f"the network has {count} highways; the contract allows at most "
                           f"{limits.max_highways} (ListHighwaysResponse/highway maxOccurs)")
    return problems


def check_network(highways: Iterable[Highway]) -> None:
    """Raise NetworkOutsideContract, naming every limit broken, unless the network fits."""
    problems = network_problems(highways)
    if problems:
        raise NetworkOutsideContract(problems)
