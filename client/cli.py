"""`highway-client`: query travel times and report observations from the command line.

Exit codes: 0 success, 2 usage error, 3 the service answered with a fault,
4 the service could not be reached (or did not answer in time), 130 interrupted (Ctrl-C;
`report` can then be resumed).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import json
import os
import sys
import urllib.parse
from collections.abc import Sequence
from typing import Any, TextIO

from client import errors
from client.client import HighwayClient
from client.models import HighwaySummary
from client.render import format_travel_times, use_colour
from client.report_cmd import add_report_arguments, run_report
from client.security_options import add_security_arguments, security_kwargs
from client.simulate import add_simulate_arguments, run_simulation
from client.watch import watch

EXIT_OK, EXIT_USAGE, EXIT_FAULT, EXIT_UNREACHABLE = 0, 2, 3, 4
DEFAULT_URL = "http://127.0.0.1:8080/soap"


class UsageError(Exception):
    """Bad arguments or input file; exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `highway-client`."""
    parser = argparse.ArgumentParser(prog="highway-client", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("HIGHWAY_URL", DEFAULT_URL),
        help=f"SOAP endpoint (env HIGHWAY_URL; default {DEFAULT_URL})",
    )
    parser.add_argument("--timeout", type=_seconds, default=10.0, help="seconds per call (> 0)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_security_arguments(parser)  # --username/--digest/--cert/--key/--tls-client-*/--ca
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    highways = commands.add_parser("highways", help="list the highways")
    tt = commands.add_parser("travel-times", help="current travel times on a highway")
    tt.add_argument("highway", help="highway id, e.g. 192 or 'Highway 192'")
    tt.add_argument("--direction", choices=["NB", "SB", "EB", "WB"], type=str.upper)
    tt.add_argument("--watch", type=_seconds, metavar="SECONDS",
                    help="refresh every SECONDS until Ctrl-C (with --json: one JSON line each)")
    tt.add_argument("--iterations", type=int, metavar="N", help="with --watch: stop after N")
    report = commands.add_parser("report", help="report observations from a CSV file")
    report.add_argument(
        "file", help="CSV with header sensor_id,segment_id,observed_at,speed_kph ('-' = stdin)"
    )
    add_report_arguments(report)  # client/report_cmd.py: batches, progress, resumption
    for sub in (highways, tt, report):  # global options also after the command name
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                         help="print JSON instead of a table")
        sub.add_argument("--url", default=argparse.SUPPRESS, help="SOAP endpoint")
        sub.add_argument("--timeout", type=_seconds, default=argparse.SUPPRESS,
                         help="seconds per call (> 0)")
    add_simulate_arguments(commands.add_parser(
        "simulate", help="feed plausible observations for a highway (demo traffic)"))
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("highway-traffic")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def client_from_args(args: argparse.Namespace) -> HighwayClient:
    """A HighwayClient configured from the parsed arguments."""
    if urllib.parse.urlsplit(args.url).scheme not in ("http", "https"):
        raise UsageError(f"--url {args.url!r} needs a scheme, e.g. http://{args.url}")
    try:
        security = security_kwargs(args, sys.stdin)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return HighwayClient(url=args.url, timeout=args.timeout, **security)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def format_highways(highways: Sequence[HighwaySummary]) -> str:
    """A readable table of highways."""
    return _table(
        ["ID", "NAME", "DIRECTIONS", "KM", "SEGMENTS"],
        [(h.id, h.name, "/".join(h.directions), f"{h.length_km:.1f}", h.segment_count)
         for h in highways],
    )


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return value


def _watch_travel_times(args: argparse.Namespace, client: HighwayClient, out: TextIO) -> int:
    colour = use_colour(out)

    def render() -> str:
        result = client.travel_times(args.highway, args.direction)
        if args.json:
            return json.dumps(_jsonable(result))
        return format_travel_times(result, colour=colour)

    return watch(render, args.watch, out, iterations=args.iterations, decorate=not args.json)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Execute one command; returns the exit code."""
    with client_from_args(args) as client:
        if args.command == "report":
            return run_report(args, client, out)
        if args.command == "simulate":
            return run_simulation(client, args, out)
        if args.command == "travel-times" and args.watch is not None:
            return _watch_travel_times(args, client, out)
        result: Any
        if args.command == "highways":
            result = client.list_highways()
            text = format_highways(result)
        else:
            result = client.travel_times(args.highway, args.direction)
            text = format_travel_times(result, colour=use_colour(out))
    out.write((json.dumps(_jsonable(result), indent=2) if args.json else text) + "\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `highway-client`."""
    args = build_parser().parse_args(argv)
    try:
        return run(args, sys.stdout)
    except UsageError as exc:
        print(f"highway-client: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"highway-client: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except errors.ServiceFaultError as exc:
        cid = f" (correlation id {exc.correlation_id})" if exc.correlation_id else ""
        hint = ""
        if isinstance(exc, errors.AuthenticationError) and not args.username:
            hint = "\nhint: set HIGHWAY_USERNAME and HIGHWAY_PASSWORD (or pass --username)"
        print(f"highway-client: fault {exc.code}: {exc.message}{cid}{hint}", file=sys.stderr)
        return EXIT_FAULT
    except errors.ProtocolError as exc:
        print(f"highway-client: {exc}", file=sys.stderr)
        return EXIT_FAULT
    except errors.TransportError as exc:
        hint = ""
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            hint = ("\nhint: the server's certificate is not trusted; pass its CA bundle "
                    "with --ca FILE.pem")
        print(f"highway-client: {exc}{hint}", file=sys.stderr)
        return EXIT_UNREACHABLE


if __name__ == "__main__":
    raise SystemExit(main())
