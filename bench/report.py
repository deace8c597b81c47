"""Medians, side-by-side ratios, the targets of issue #7, and the markdown table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench.rounds import Run

VARIANTS = ("A", "B", "C", "D", "E")


def summarise(runs: Sequence[Run]) -> dict[str, dict[int, dict[str, Any]]]:
    """Per variant and connection count: medians over rounds, peak memory, all-correct."""
    summary: dict[str, dict[int, dict[str, Any]]] = {}
    for run in runs:
        summary.setdefault(run.variant, {}).setdefault(run.connections, {"runs": []})
        summary[run.variant][run.connections]["runs"].append(run)
    for per_conn in summary.values():
        for cell in per_conn.values():
            cell_runs: list[Run] = cell.pop("runs")
            cell.update(
                rounds=len(cell_runs),
                rps=statistics.median(r.rps for r in cell_runs),
                p50_ms=statistics.median(r.p50_ms for r in cell_runs),
                p99_ms=statistics.median(r.p99_ms for r in cell_runs),
                cpu_us_per_request=statistics.median(r.cpu_us_per_request for r in cell_runs),
                worker_rss_mb=max(r.worker_rss_mb for r in cell_runs),
                requests=sum(r.requests for r in cell_runs),
                correct=all(r.correct for r in cell_runs),
                bad=sum(r.bad for r in cell_runs),
                throttled=sum(r.throttled for r in cell_runs),
            )
    return summary


def ratio(runs: Sequence[Run], top: str, bottom: str, connections: int) -> float | None:
    """Median over rounds of rps(top)/rps(bottom), each pair measured in the same round."""
    by_round: dict[int, dict[str, float]] = {}
    for run in runs:
        if run.connections == connections:
            by_round.setdefault(run.round, {})[run.variant] = run.rps
    values = [r[top] / r[bottom] for r in by_round.values()
              if top in r and bottom in r and r[bottom] > 0]
    return statistics.median(values) if values else None


def targets(runs: Sequence[Run], summary: dict[str, Any], client: dict[str, Any] | None,
            cores: int) -> list[dict[str, Any]]:
    """Issue #7's targets, each with its measured value and pass / FAIL / n/a."""
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, *, above: bool,
            unit: str = "", na: str | None = None) -> None:
        rows.append(verdict_row(name, value, limit, above=above, unit=unit, na=na))

    add("C >= 2.0 x B (req/s, 16 conns)", ratio(runs, "C", "B", 16), 2.0, above=True, unit="x")
    add("C >= 0.35 x A (req/s, 16 conns)", ratio(runs, "C", "A", 16), 0.35, above=True, unit="x")
    # Issue 17: a cached secured read near bare Twisted's canned answer.
    add("C >= 0.6 x A: cached secured read vs bare Twisted (req/s, 16 conns)",
        ratio(runs, "C", "A", 16), 0.6, above=True, unit="x")
    add("D >= 0.85 x C (req/s, 16 conns)", ratio(runs, "D", "C", 16), 0.85, above=True, unit="x")
    e_na = None if cores >= 3 else (
        f"{cores} cores: 2 workers + the load generator need >= 3 (E shares one core here)")
    per_worker = ratio(runs, "E", "D", 16)
    add("E per worker >= 0.8 x D, one worker on the same Redis state (req/s / 2, 16 conns)",
        per_worker / 2 if per_worker is not None else None, 0.8, above=True,
        unit="x", na=e_na)
    c16 = summary.get("C", {}).get(16)
    add("C p99 at 16 conns < 25 ms", c16["p99_ms"] if c16 else None, 25.0, above=False,
        unit="ms")
    a16 = summary.get("A", {}).get(16)
    if a16 is not None and rows[-1]["verdict"] != "n/a":
        # The ceiling's tail in the same rounds tells machine noise from the service's own.
        rows[-1]["note"] = f"A's p99 in the same rounds: {a16['p99_ms']:.1f} ms"
    rss = [cell["worker_rss_mb"]
           for key in ("C", "D", "E") for cell in summary.get(key, {}).values()]
    add("worker RSS under load < 150 MB (peak seen)", max(rss) if rss else None, 150.0,
        above=False, unit="MB")
    projected = [p for key in ("C", "D", "E")
                 if (p := projected_rss(runs, summary, key)) is not None]
    add("worker RSS < 150 MB (projected: a full replay window at C's rate)",
        max(projected) if projected else None, 150.0, above=False, unit="MB")
    if client:
        add("client call <= 1.5 x raw POST", client.get("call_ratio"), 1.5 + 1e-9, above=False,
            unit="x")
        add("client construction < 50 ms", client.get("construction_ms"), 50.0, above=False,
            unit="ms")
    return rows


def verdict_row(name: str, value: float | None, limit: float, *, above: bool,
                unit: str = "", na: str | None = None, inclusive: bool = False) -> dict[str, Any]:
    """One target: measured value and pass / FAIL / n/a (`inclusive`: at most `limit` passes)."""
    if na is not None or value is None:
        return {"target": name, "value": None, "verdict": "n/a", "note": na or "not measured"}
    ok = value >= limit if above else (value <= limit if inclusive else value < limit)
    return {"target": name, "value": round(value, 3), "unit": unit,
            "verdict": "pass" if ok else "FAIL"}


def section_targets(
    items: Sequence[tuple[str, float | None, float, bool, str]], na: str | None = None
) -> list[dict[str, Any]]:
    """Verdict rows for a section's (target, measured, limit, higher is better, unit);
    a "<= limit" target passes at the limit."""
    return [verdict_row(name, value, limit, above=above, unit=unit, na=na, inclusive=True)
            for name, value, limit, above, unit in items]


def replay_window_seconds() -> float:
    """How long the server remembers each nonce (the in-memory replay cache's entry life)."""
    from soap_service.security.settings import SecuritySettings

    return float(SecuritySettings().replay_window_seconds) + 1.0


def projected_rss(runs: Sequence[Run], summary: dict[str, Any], key: str) -> float | None:
    """Worker RSS once a sustained load at this variant's 16-connection rate has filled the
    replay window: the benchmark loads each server only in short runs, so the nonces it
    remembers (and the memory they hold) are a fraction of a steady state's."""
    mine = [run for run in runs if run.variant == key]
    cell = summary.get(key, {}).get(16)
    if len(mine) < 2 or cell is None:
        return None
    served = sum(run.requests for run in mine[1:])
    growth_mb = max(0.0, mine[-1].worker_rss_mb - mine[0].worker_rss_mb) / served
    workers = 2 if key == "E" else 1  # each E worker remembers half of the nonces
    remembered = cell["rps"] * replay_window_seconds() / workers
    return mine[0].worker_rss_mb + growth_mb * workers * remembered


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def markdown(summary: dict[str, Any], runs: Sequence[Run], connections: Sequence[int],
             unavailable: dict[str, str], labels: dict[str, str]) -> str:
    """The results table: medians per variant, ratios to C measured side by side."""
    lines = ["| variant | conns | req/s | vs C | p50 ms | p99 ms | server CPU µs/req "
             "| worker RSS MB | correct |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for key in VARIANTS:
        if key in unavailable:
            lines.append(f"| {key}: {labels[key]} | - | not available: {unavailable[key]} "
                         "| | | | | | |")
            continue
        for conns in connections:
            cell = summary.get(key, {}).get(conns)
            if cell is None:
                continue
            vs_c = ratio(runs, key, "C", conns) if "C" in summary else None
            lines.append(
                f"| {key}: {labels[key]} | {conns} | {_num(cell['rps'])} | "
                f"{_num(vs_c, 2)}{'x' if vs_c is not None else ''} | {_num(cell['p50_ms'], 2)} | "
                f"{_num(cell['p99_ms'], 2)} | {_num(cell['cpu_us_per_request'])} | "
                f"{_num(cell['worker_rss_mb'])} | "
                f"{'yes' if cell['correct'] else 'NO'} ({cell['requests']:,} checked) |")
    return "\n".join(lines)


def targets_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The targets as a small markdown table."""
    lines = ["| target | measured | verdict |", "|---|---:|---|"]
    for row in rows:
        value = "-" if row["value"] is None else f"{row['value']}{row.get('unit', '')}"
        verdict = row["verdict"] + (f" ({row['note']})" if row.get("note") else "")
        lines.append(f"| {row['target']} | {value} | {verdict} |")
    return "\n".join(lines)
