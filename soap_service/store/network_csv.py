"""The road network as CSV: parsing with every error found in one pass, and the canonical export.

One row per segment, header exactly `CSV_HEADER`; `seq` orders the segments of one direction
of one highway (1, 2, ... without gaps). Every problem is reported with its line and column,
including what the published contract cannot describe (limits read from contract/limits.py).
`format_network` writes the same format, so export -> import -> export gives the same bytes.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Iterable, Iterator

from soap_service.contract.limits import StringRule, contract_limits
from soap_service.domain import Direction, Highway, Segment

COLUMNS: tuple[str, ...] = (
    "highway_id", "highway_name", "direction", "seq", "segment_id", "from_name", "to_name",
    "length_km", "free_flow_kph",
)
CSV_HEADER = ",".join(COLUMNS)
_DIRECTIONS = ", ".join(d.value for d in Direction)


@dataclasses.dataclass(frozen=True)
class CsvProblem:
    """One error in a network file: where it is and what is wrong."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class NetworkFileError(ValueError):
    """A network file that cannot be imported; `problems` lists every error found."""

    def __init__(self, problems: list[CsvProblem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} error(s) in the network file")


@dataclasses.dataclass
class _Row:
    line: int
    values: dict[str, str]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _seq(text: str) -> int | None:
    if not text.isdigit() or not text.isascii():
        return None
    return int(text)


def parse_network(text: str) -> list[Highway]:
    """The highways described by CSV `text`, in the file's order of first appearance; raises
    NetworkFileError naming every error (line and column) when anything is wrong."""
    limits = contract_limits()
    problems: list[CsvProblem] = []

    def problem(line: int, column: str | None, message: str) -> None:
        problems.append(CsvProblem(line, column, message))

    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, None)
    if header is None:
        raise NetworkFileError([CsvProblem(1, None, f"the file is empty; the first line "
                                                    f"must be the header {CSV_HEADER}")])
    if tuple(header) != COLUMNS:
        raise NetworkFileError([CsvProblem(
            1, None, f"wrong header {','.join(header)[:200]!r}; expected exactly "
                     f"{CSV_HEADER}")])

    def read_rows() -> Iterator[_Row]:
        """Rows one at a time (a large file is never held as rows in memory)."""
        try:
            for fields in reader:
                line = reader.line_num
                if not fields:
                    continue  # a blank line
                if len(fields) != len(COLUMNS):
                    problem(line, None, f"{len(fields)} fields; every row has {len(COLUMNS)} "
                                        f"({CSV_HEADER})")
                    continue
                yield _Row(line, dict(zip(COLUMNS, fields, strict=True)))
        except csv.Error as exc:
            problem(reader.line_num, None,
                    f"not readable as CSV ({exc}); nothing after it was read")

    checked: dict[tuple[str, str], str | None] = {}  # names repeat: check each value once

    def check_string(row: _Row, column: str, rule: StringRule) -> None:
        value = row.values[column]
        key = (rule.type_name, value)
        if key in checked:
            reason = checked[key]
        else:
            reason = checked[key] = rule.problem(value)
        if reason is not None:
            problem(row.line, column, f"{value[:120]!r} {reason} "
                                      f"(contract type {rule.type_name}, contract/limits.py)")

    names: dict[str, tuple[str, int]] = {}  # highway id -> (name, first line)
    segment_lines: dict[str, int] = {}
    # (highway id, direction) -> {seq: (line, segment)}
    groups: dict[tuple[str, Direction], dict[int, tuple[int, Segment]]] = {}
    seqs: dict[tuple[str, Direction], dict[int, int]] = {}  # every row's seq -> its line
    highway_order: list[str] = []
    row_count = 0
    for row in read_rows():
        row_count += 1
        v, line = row.values, row.line
        empty = [c for c in COLUMNS if v[c].strip() == ""]
        for column in empty:
            problem(line, column, "empty")
        ok = not empty
        hid = v["highway_id"]
        if hid.strip():
            check_string(row, "highway_id", limits.highway_id)
            if hid not in names:
                if len(names) == limits.max_highways:
                    problem(line, "highway_id",
                            f"highway {hid!r} is one more than the contract can describe: at "
                            f"most {limits.max_highways} highways (ListHighwaysResponse/highway"
                            " maxOccurs, contract/limits.py)")
                names[hid] = (v["highway_name"], line)
                highway_order.append(hid)
                if v["highway_name"].strip():
                    check_string(row, "highway_name", limits.place_name)
            elif v["highway_name"] != names[hid][0] and v["highway_name"].strip():
                first_name, first_line = names[hid]
                problem(line, "highway_name",
                        f"highway {hid} is named {first_name[:120]!r} on line {first_line}, "
                        f"here {v['highway_name'][:120]!r}")
        direction: Direction | None = None
        if v["direction"].strip():
            try:
                direction = Direction(v["direction"])
            except ValueError:
                problem(line, "direction", f"unknown direction {v['direction'][:20]!r}; one of "
                                           f"{_DIRECTIONS}")
                ok = False
        seq = _seq(v["seq"]) if v["seq"].strip() else None
        if v["seq"].strip() and (seq is None or seq < 1):
            problem(line, "seq", f"{v['seq'][:40]!r} is not a whole number of 1 or more")
            ok = False
        seg_id = v["segment_id"]
        if seg_id.strip():
            check_string(row, "segment_id", limits.segment_id)
            if seg_id in segment_lines:
                problem(line, "segment_id",
                        f"duplicate segment id {seg_id!r} (first on line {segment_lines[seg_id]})")
                ok = False
            else:
                segment_lines[seg_id] = line
        for column in ("from_name", "to_name"):
            if v[column].strip():
                check_string(row, column, limits.place_name)
        numbers: dict[str, float] = {}
        for column in ("length_km", "free_flow_kph"):
            if not v[column].strip():
                continue
            value = _number(v[column])
            if value is None:
                problem(line, column, f"{v[column][:40]!r} is not a number")
                ok = False
            elif value <= 0:
                problem(line, column, f"must be greater than 0, not {v[column][:40]}")
                ok = False
            else:
                numbers[column] = value
        if direction is None or seq is None or not hid.strip():
            continue
        seq_lines = seqs.setdefault((hid, direction), {})
        if seq in seq_lines:
            problem(line, "seq", f"duplicate seq {seq} in highway {hid} {direction.value} "
                                 f"(first on line {seq_lines[seq]})")
            continue
        seq_lines[seq] = line
        if ok:
            groups.setdefault((hid, direction), {})[seq] = (line, Segment(
                seg_id, hid, direction, seq, v["from_name"], v["to_name"],
                numbers["length_km"], numbers["free_flow_kph"]))

    if row_count == 0 and not problems:
        problem(1, None, "no segments: the file has a header but no rows")
    for (hid, direction), seq_lines in seqs.items():
        ordered = sorted(seq_lines)
        for expected, seq in enumerate(ordered, start=1):
            if seq != expected:
                where = (f"starts at {seq}" if expected == 1
                         else f"jumps from {expected - 1} to {seq}")
                problem(seq_lines[seq], "seq",
                        f"gap in highway {hid} {direction.value}: seq {where} (seq runs 1, 2, "
                        "3, ... without gaps)")
                break
        if len(seq_lines) > limits.max_segments_per_direction:
            line = seq_lines[ordered[limits.max_segments_per_direction]]
            problem(line, "seq",
                    f"highway {hid} {direction.value} has {len(seq_lines)} segments; the "
                    "contract "
                    f"describes at most {limits.max_segments_per_direction} per direction "
                    "(DirectionTravelTime/segment maxOccurs, contract/limits.py)")

    if problems:
        problems.sort(key=lambda p: (p.line, COLUMNS.index(p.column) if p.column else -1))
        raise NetworkFileError(problems)
    highways: list[Highway] = []
    for hid in highway_order:
        segments: dict[Direction, tuple[Segment, ...]] = {}
        for direction in Direction:
            found = groups.get((hid, direction))
            if found:
                segments[direction] = tuple(found[s][1] for s in sorted(found))
        highways.append(Highway(hid, names[hid][0], segments))
    return highways


def format_number(value: float) -> str:
    """The shortest text that reads back as `value` (72.0 -> "72", 6.8 -> "6.8")."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_network(highways: Iterable[Highway]) -> str:
    """The canonical CSV of a network: the header, then each highway's directions (NB, SB, EB,
    WB) in seq order, '\\n' line ends, fields quoted only when they must be."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for highway in highways:
        for direction in highway.directions:
            for seq, seg in enumerate(highway.segments[direction], start=1):
                writer.writerow([
                    highway.id, highway.name, direction.value, seq, seg.id, seg.from_name,
                    seg.to_name, format_number(seg.length_km), format_number(seg.free_flow_kph),
                ])
    return out.getvalue()
