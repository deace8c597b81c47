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
from client.plain_probe import PLAIN_HINT, plain_url, speaks_plain_http
from client.render import format_highways, format_travel_times, use_colour
from client.report_cmd import add_report_arguments, run_report
from client.security_options import add_security_arguments, security_kwargs
from client.simulate import add_simulate_arguments, run_simulation
from client.watch import watch

EXIT_OK, EXIT_USAGE, EXIT_FAULT, EXIT_UNREACHABLE = 0, 2, 3, 4
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT
DEFAULT_URL = "http://127.0.0.1:8080/soap"


class UsageError(Exception):
    """Bad arguments or input file; exit code 2."""


def _add_global_arguments(parser: argparse.ArgumentParser, *, after: bool) -> None:
    """--url, --timeout, --json and the security options; `after`: a subcommand's copy."""
    def default(value: object) -> Any:
        return argparse.SUPPRESS if after else value

    parser.add_argument(
        "--url", default=default(os.environ.get("HIGHWAY_URL", DEFAULT_URL)),
        help=f"SOAP endpoint (env HIGHWAY_URL; default {DEFAULT_URL})",
    )
    parser.add_argument("--timeout", type=_seconds, default=default(10.0), metavar="SECONDS",
                        help="seconds per call (> 0; default 10)")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="print JSON instead of a table")
    add_security_arguments(parser, after=after)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `highway-client`; global options go before or after COMMAND."""
    parser = argparse.ArgumentParser(prog="highway-client", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _add_global_arguments(parser, after=False)
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
    sim = commands.add_parser("simulate", help="feed plausible observations for a highway "
                              "(demo traffic)")
    add_simulate_arguments(sim)
    for sub in (highways, tt, report, sim):  # global options also after the command name
        _add_global_arguments(sub, after=True)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("highway-traffic")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return
    if "://" in url:
        raise UsageError(f"--url {url!r}: use an http:// or https:// URL")
    raise UsageError(f"--url {url!r} has no scheme: add http:// or https:// "
                     f"(e.g. http://{url})")


def client_from_args(args: argparse.Namespace) -> HighwayClient:
    """A HighwayClient configured from the parsed arguments."""
    _check_url(args.url)
    try:
        security = security_kwargs(args, sys.stdin)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        client = HighwayClient(url=args.url, timeout=args.timeout, **security)
    except ValueError as exc:  # e.g. a certificate file that does not exist
        raise UsageError(str(exc)) from exc
    if args.url.startswith("https://") and speaks_plain_http(
            args.url, args.timeout, client.options.cert_pair()):
        # Fail at once: a TLS handshake with a plain server would only end at the timeout.
        client.close()
        raise errors.TransportError(f"cannot reach {args.url}: "
                                    + PLAIN_HINT.format(url=plain_url(args.url)))
    return client


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
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text}")
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
        colour = use_colour(out)
        if args.command == "highways":
            result = client.list_highways()
            text = format_highways(result, colour=colour)
        else:
            result = client.travel_times(args.highway, args.direction)
            text = format_travel_times(result, colour=colour)
    out.write((json.dumps(_jsonable(result), indent=2) if args.json else text) + "\n")
    return EXIT_OK


def _fault_hint(exc: errors.ServiceFaultError, args: argparse.Namespace) -> str:
    """What to do next after a fault, when we can tell."""
    if isinstance(exc, errors.AuthenticationError):
        if not args.username and not args.cert and not args.tls_client_cert:
            return ("\nhint: no credentials were sent: set HIGHWAY_USERNAME and "
                    "HIGHWAY_PASSWORD (or pass --username and set HIGHWAY_PASSWORD)")
        if exc.code == "wsse:FailedAuthentication" and args.username:
            return ("\nhint: check the user name and the password in HIGHWAY_PASSWORD "
                    "(or --password-stdin)")
    if isinstance(exc, errors.NotAuthorizedError):
        return "\nhint: this account's role does not allow the operation; ask an administrator"
    if isinstance(exc, errors.UnknownHighwayError) and exc.code == "Client.UnknownHighway":
        return "\nhint: `highway-client highways` lists the highway ids"
    if isinstance(exc, errors.ValidationError) and args.command == "travel-times":
        return ("\nhint: a highway is an id like 192 or 'Highway 192'; "
                "`highway-client highways` lists them")
    if isinstance(exc, errors.RETRYABLE_FAULTS) and exc.retry_after is not None:
        return f"\nhint: try again in {exc.retry_after:g} s"
    return ""


def _transport_hint(exc: errors.TransportError) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ("\nhint: the server's certificate is not trusted (self-signed or a private CA); "
                "pass its CA bundle with --ca FILE")
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "\nhint: is the server running, and is --url (or HIGHWAY_URL) right?"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `highway-client`."""
    try:
        args = build_parser().parse_args(argv)
        return run(args, sys.stdout)
    except KeyboardInterrupt:
        print("\nhighway-client: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        print(f"highway-client: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"highway-client: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except errors.ServiceFaultError as exc:
        cid = f" (correlation id {exc.correlation_id})" if exc.correlation_id else ""
        print(f"highway-client: fault {exc.code}: {exc.message}{cid}{_fault_hint(exc, args)}",
              file=sys.stderr)
        return EXIT_FAULT
    except errors.ProtocolError as exc:
        print(f"highway-client: {exc}\nhint: is --url the service's SOAP endpoint (.../soap)?",
              file=sys.stderr)
        return EXIT_FAULT
    except errors.TransportError as exc:
        print(f"highway-client: {exc}{_transport_hint(exc)}", file=sys.stderr)
        return EXIT_UNREACHABLE


if __name__ == "__main__":
    raise SystemExit(main())
