"""`python -m bench.run`: the whole benchmark in one go (servers A-E, interleaved rounds, the
client part), written to bench/results/ as JSON and PNG, with a markdown table on stdout."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import (
    chart,
    client_cost,
    client_report,
    essential,
    ingest,
    loadgen,
    report,
    rounds,
    stage_costs,
    variants,
)
from bench.servers import Server

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """Cores, CPU model and date: the table means nothing without them."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count() or 1, "cpu_model": model, "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average_at_start": os.getloadavg()}


def placement(cores: int) -> tuple[str, str, str]:
    """(server cores, server cores for --workers 2, load generator cores)."""
    if cores < 2:
        return "0", "0", "0"
    loadgen_core = str(cores - 1)
    wide = "0-1" if cores >= 3 else "0"
    return "0", wide, loadgen_core


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are the full benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server")
    parser.add_argument("--connections", default="1,16", help="connection counts (default 1,16)")
    parser.add_argument("--variants", default="ABCDE", help="which variants (default ABCDE)")
    parser.add_argument("--client-calls", type=int, default=300, help="calls per client path")
    parser.add_argument("--no-client", action="store_true", help="skip the client part")
    parser.add_argument("--no-ingest", action="store_true",
                        help="skip reads under ingest (SQLite and PostgreSQL)")
    parser.add_argument("--no-stages", action="store_true",
                        help="skip the per-stage costs (a server with --stage-timing)")
    parser.add_argument("--no-essential", action="store_true",
                        help="skip issue 17's per-request ratios (ingest vs its essential "
                        "work, single-item reports and cache-missing reads vs cached reads)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run for the test suite: 1 round of 1 s, few client calls")
    parser.add_argument("--scale", action="store_true",
                        help="only the scale benchmark of issue 14 (bench/scale.py): 1,000 "
                        "highways, a simulated week with retention, SQLite and PostgreSQL")
    parser.add_argument("--scale-observations", type=int, metavar="N",
                        help="observations for --scale (default 10,000,000; --smoke: 20,000)")
    args = parser.parse_args(argv)
    args.sizes = FULL_SIZES
    if args.smoke:
        args.rounds, args.duration, args.warmup, args.client_calls = 1, 1.0, 1.0, 50
        args.sizes = SMOKE_SIZES
    return args


# How many requests issue 17's sections send: (full run, --smoke).
FULL_SIZES = {"stage_requests": {"cached read": 500, "cache-missing read": 200,
                                 "single-item report": 300, "1000-item report": 20},
              "batches": 20, "blocks": 8, "client_batches": 20, "cli_batches": 40}
SMOKE_SIZES = {"stage_requests": {"cached read": 30, "cache-missing read": 10,
                                  "single-item report": 10, "1000-item report": 2},
               "batches": 2, "blocks": 1, "client_batches": 2, "cli_batches": 1}


def per_request_sections(args: argparse.Namespace, workdir: Path, server_cpus: str,
                         loadgen_cpus: str) -> dict[str, Any]:
    """Issue 17's sections, each against its own secured server, one connection."""
    sizes = args.sizes
    done: dict[str, Any] = {"stages": None, "essential": None, "client_report": None}

    def progress(what: str) -> None:
        print(f"  {what}", file=sys.stderr, flush=True)

    if not args.no_stages:
        progress("per-stage costs (--stage-timing server)")
        done["stages"] = stage_costs.measure(workdir, requests=sizes["stage_requests"],
                                             server_cpus=server_cpus, loadgen_cpus=loadgen_cpus)
    if not args.no_essential:
        progress("ingest vs essential work, single-item reports, cache-missing reads")
        done["essential"] = essential.measure(workdir, batches=sizes["batches"],
                                              blocks=sizes["blocks"], server_cpus=server_cpus,
                                              loadgen_cpus=loadgen_cpus)
    if not args.no_client:
        progress("client report side: raw POSTs, HighwayClient, highway-client report")
        done["client_report"] = client_report.measure(
            workdir, batches=sizes["client_batches"], cli_batches=sizes["cli_batches"],
            server_cpus=server_cpus, loadgen_cpus=loadgen_cpus)
    return done


def start_servers(keys: str, ctx: variants.Context) -> tuple[dict[str, Server], dict[str, str]]:
    """Start every requested variant; B first, since A serves a real answer captured from B."""
    running: dict[str, Server] = {}
    unavailable: dict[str, str] = {}
    canned = ctx.workdir / "canned-response.xml"
    for key in sorted(set(keys) | ({"B"} if "A" in keys else set()), key="BACDE".index):
        try:
            if key == "A":
                if "B" not in running:
                    raise variants.NotAvailable("needs B to capture a real answer")
                status, body = variants.post(running["B"].url, variants.workload.plain_request())
                if status != 200:
                    raise variants.NotAvailable(f"B answered {status} when capturing")
                canned.write_bytes(body)
            running[key] = variants.start(key, ctx, canned=canned)
        except (variants.NotAvailable, RuntimeError) as exc:
            unavailable[key] = str(exc).splitlines()[0][:200]
    ordered = {key: running[key] for key in report.VARIANTS if key in running and key in keys}
    for key in set(running) - set(ordered):
        running[key].stop()
    return ordered, unavailable


def _scale(args: argparse.Namespace) -> int:
    """`--scale`: run bench/scale.py, print its table, write scale-latest.json."""
    from bench import scale

    result = scale.run(smoke=args.smoke, observations=args.scale_observations,
                       progress=lambda line: print(line, file=sys.stderr, flush=True))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(scale.markdown(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any answer was wrong, 2 if wrk is missing."""
    args = parse_args(argv)
    if args.scale:
        return _scale(args)
    if not loadgen.available():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    info = machine()
    server_cpus, wide_cpus, loadgen_cpus = placement(info["nproc"])
    connections = [int(c) for c in args.connections.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="highway-bench-") as tmp:
        ctx = variants.Context(Path(tmp), server_cpus, wide_cpus, redis_cpus=loadgen_cpus)
        running, unavailable = start_servers(args.variants.upper(), ctx)
        try:
            measurer = rounds.Measurer(ctx.workdir, duration=args.duration,
                                       loadgen_cpus=loadgen_cpus)
            runs = rounds.interleave(
                measurer, running, {k: variants.SECURED[k] for k in running},
                rounds=args.rounds, connections=connections, warmup=args.warmup,
                progress=lambda r: print(f"  round {r.round} {r.variant} c={r.connections}: "
                                         f"{r.rps:,.0f} req/s p99 {r.p99_ms:.1f} ms"
                                         f"{'' if r.correct else '  WRONG ANSWERS'}",
                                         file=sys.stderr, flush=True))
            client = None
            if not args.no_client and "C" in running:
                client = client_cost.measure(running["C"].url, calls=args.client_calls,
                                             cpus=loadgen_cpus)
            elif not args.no_client:
                unavailable.setdefault("client", "needs C (a secured server of ours)")
        finally:
            for server in running.values():
                server.stop()
            variants.stop_redis(ctx)
        # After the variants stopped, before ingest: each section has its own server.
        per_request = per_request_sections(args, ctx.workdir, server_cpus, loadgen_cpus)
        ingested = None
        if not args.no_ingest:  # after the variants stopped: nothing else runs meanwhile
            ingested = ingest.run(ctx.workdir, duration=args.duration, server_cpus=server_cpus,
                                  wide_cpus=wide_cpus, loadgen_cpus=loadgen_cpus,
                                  progress=lambda line: print(line, file=sys.stderr,
                                                              flush=True))
    info["load_average_at_end"] = os.getloadavg()  # other work on the machine meanwhile
    summary = report.summarise(runs)
    verdicts = report.targets(runs, summary, client, info["nproc"])
    verdicts += report.section_targets(
        essential.targets(per_request["essential"]),
        na=None if per_request["essential"] else "skipped (--no-essential)")
    verdicts += report.section_targets(
        client_report.targets(per_request["client_report"]),
        na=None if per_request["client_report"] else "skipped (--no-client)")
    all_correct = all(run.correct for run in runs) and bool(runs)
    result = {
        "machine": info, "placement": {"server": server_cpus, "server_workers": wide_cpus,
                                       "load_generator": loadgen_cpus},
        "settings": {"rounds": args.rounds, "duration_s": args.duration,
                     "connections": connections, "load_generator": "wrk (bench/requests.lua)"},
        "labels": variants.LABELS, "unavailable": unavailable,
        "summary": {k: {str(c): v for c, v in cells.items()} for k, cells in summary.items()},
        "ratios_16": {f"{a}/{b}": report.ratio(runs, a, b, 16)
                      for a, b in (("C", "B"), ("C", "A"), ("D", "C"), ("E", "C"))},
        "targets": verdicts, "client": client, "ingest": ingested, "all_correct": all_correct,
        **per_request,
        "runs": [dataclasses.asdict(run) for run in runs],
    }
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = args.out / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(result, indent=2))
    (args.out / "latest.json").write_text(json.dumps(result, indent=2))
    title = (f"highway-traffic bench {info['date']}: {info['nproc']} cores, {info['cpu_model']}; "
             f"server on core {server_cpus}, wrk on core {loadgen_cpus}")
    png = args.out / "latest.png"
    drawn = chart.draw(summary, connections, png, title)
    print(f"\n### Benchmark ({info['date']}; nproc={info['nproc']}; {info['cpu_model']}; "
          f"{args.rounds} rounds x {args.duration:g} s; server taskset -c {server_cpus}, "
          f"wrk taskset -c {loadgen_cpus}; load average {info['load_average_at_start'][0]:.2f} "
          f"at start, {info['load_average_at_end'][0]:.2f} at end)\n")
    print(report.markdown(summary, runs, connections, unavailable, variants.LABELS))
    if client:
        print("\n" + client_cost.markdown(client))
    if per_request["stages"]:
        print("\nPer-stage costs (a separate server with --stage-timing; µs per request):\n")
        print(stage_costs.markdown(per_request["stages"]))
    if per_request["essential"]:
        print("\n" + essential.markdown(per_request["essential"]))
    if per_request["client_report"]:
        print("\n" + client_report.markdown(per_request["client_report"]))
    if ingested is not None:
        print("\n" + ingest.markdown(ingested))
    print(f"\nTargets (machine has {info['nproc']} cores):\n")
    print(report.targets_markdown(verdicts))
    print(f"\nresults: {json_path}  chart: {png if drawn else 'not drawn (pip install .[bench])'}")
    if not all_correct:
        print("\nWRONG ANSWERS: see first_bad in the JSON runs", file=sys.stderr)
        return 1
    if ingested is not None and ingested["rows"] and not ingested["correct"]:
        print("\nWRONG ANSWERS under ingest: see first_bad / ingest_first_bad in the JSON",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
