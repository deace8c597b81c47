"""The `report` command: validate the whole file, then upload it with resumable progress.

Uploading costs one ReportObservations call per batch and nothing else (no reads of the
network first), so a one-row file is one request on a network of any size."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import TextIO

from client import errors
from client.client import HighwayClient
from client.observations_csv import MalformedFile, Row, check_rows, read_rows, shifted
from client.upload import (
    MAX_BATCH,
    PROGRESS_SUFFIX,
    BatchRefused,
    Progress,
    ProgressBar,
    Summary,
    file_sha256,
    shift_for,
    upload,
)

EXIT_OK, EXIT_USAGE, EXIT_FAULT, EXIT_UNREACHABLE = 0, 2, 3, 4
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT


def add_report_arguments(report: argparse.ArgumentParser) -> None:
    """The `report` subcommand's options."""
    report.add_argument("--batch-size", type=_batch_size, default=MAX_BATCH,
                        help=f"observations per request, 1..{MAX_BATCH} (default {MAX_BATCH})")
    report.add_argument("--restart", action="store_true",
                        help="ignore FILE.progress and send every batch again (safe: repeats "
                        "count as duplicates)")
    report.add_argument("--shift-to-now", action="store_true",
                        help="move every observed_at by the same amount so the newest is now "
                        "(for sample files; kept across resumption)")
    report.add_argument("--max-batches", type=int, metavar="N",
                        help="stop after sending N batches; run again to resume")


def _batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_BATCH}")
    return value


def known_segments(client: HighwayClient) -> set[str] | None:
    """Every segment id of the network (one read per highway), or None if it cannot be read.

    Only asked for when the file already has a problem: a clean file is uploaded at once
    (one call per batch), and the service checks its segment ids."""
    try:
        return {s.segment_id for h in client.list_highways()
                for tt in client.travel_times(h.id) for s in tt.segments}
    except errors.HighwayError:
        return None


def _all_problems(client: HighwayClient, rows: list[Row], now: dt.datetime,
                  syntax: list[tuple[int, str]]) -> MalformedFile | None:
    """Every problem of `rows` at once, unknown segment ids included when they can be read."""
    try:
        check_rows(rows, known_segments(client) or (), now, syntax)
    except MalformedFile as exc:
        return exc
    return None


def run_report(args: argparse.Namespace, client: HighwayClient, out: TextIO,
               err: TextIO | None = None) -> int:
    """Validate every row, then upload; returns the exit code."""
    err = err if err is not None else sys.stderr  # looked up per call (tests capture it)
    from_stdin = args.file == "-"
    syntax: list[tuple[int, str]] = []
    try:
        if from_stdin:
            rows = read_rows(sys.stdin)
        else:
            with open(args.file, newline="", encoding="utf-8") as handle:
                rows = read_rows(handle)
    except MalformedFile as exc:
        if not exc.rows:  # nothing readable (bad header or every row broken): say so now
            print(f"highway-client: {args.file}: {exc}", file=err)
            return EXIT_USAGE
        rows, syntax = exc.rows, exc.entries  # checked below with the rest, one report
    progress_path = None if from_stdin else args.file + PROGRESS_SUFFIX
    sha = "stdin" if from_stdin else file_sha256(args.file)
    now = dt.datetime.now(dt.UTC)
    progress = None if args.restart or progress_path is None else Progress.load(progress_path)
    if progress is not None and (progress.sha256 != sha or progress.batch_size != args.batch_size):
        print("highway-client: the file or --batch-size changed since the interrupted upload; "
              "starting over (rows already stored will count as duplicates)", file=err)
        progress = None
    if progress is None:
        shift = shift_for(rows, now) if args.shift_to_now else 0.0
        progress = Progress(sha, args.batch_size, shift)
    rows = shifted(rows, progress.shift_seconds) if progress.shift_seconds else rows
    batches = -(-len(rows) // progress.batch_size)
    try:
        # A clean file goes straight out (one call per batch): ListHighways does not carry
        # segment ids, and one GetTravelTimes per highway would cost more than the upload.
        # A file with a problem is not sent; its report then lists every problem at once,
        # unknown segment ids included (that costs the reads, only in this case).
        check_rows(rows, (), now, syntax)
    except MalformedFile:
        problems = _all_problems(client, rows, now, syntax)
        print(f"highway-client: {args.file}: {problems}", file=err)
        return EXIT_USAGE
    bar = ProgressBar(err, batches, len(rows), done=min(progress.batches_done, batches),
                      batch_size=progress.batch_size)
    try:
        summary = upload(client, rows, progress, progress_path, max_batches=args.max_batches,
                         bar=bar)
    except BatchRefused as exc:
        bar.close()
        print(f"highway-client: {exc}", file=err)
        if exc.fault.code.endswith("Client.UnknownSegment"):
            # Name every unknown id of what was not stored, not only the first, in this run.
            left = rows[progress.batches_done * progress.batch_size:]
            problems = _all_problems(client, left, now, [])
            if problems is not None:
                print(f"highway-client: {args.file}: {problems}", file=err)
        return EXIT_FAULT
    except (errors.TransportError, KeyboardInterrupt) as exc:
        bar.close()
        hint = (f"; {progress.batches_done} of {batches} batches are stored and recorded in "
                f"{progress_path}: run the same command again to resume") if progress_path else ""
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        print(f"highway-client: {reason}{hint}", file=err)
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else EXIT_UNREACHABLE
    except BaseException:
        bar.close()
        raise
    bar.close()
    if summary.complete and progress_path is not None and os.path.exists(progress_path):
        os.remove(progress_path)
    _print_summary(summary, args.json, out, err)
    return EXIT_OK


def _print_summary(summary: Summary, as_json: bool, out: TextIO, err: TextIO) -> None:
    if as_json:
        out.write(json.dumps({
            "rows": summary.rows, "batches": summary.batches,
            "batches_done": summary.batches_done, "accepted": summary.accepted,
            "duplicates": summary.duplicates, "complete": summary.complete,
            "resumed_after_batch": summary.resumed_from,
        }, indent=2) + "\n")
    else:
        resumed = (f", resumed after batch {summary.resumed_from}"
                   if summary.resumed_from else "")
        out.write(f"accepted {summary.accepted}, duplicates {summary.duplicates} "
                  f"({summary.rows} rows, {summary.batches_done}/{summary.batches} "
                  f"batches{resumed})\n")
    if not summary.complete:
        print(f"highway-client: stopped after batch {summary.batches_done} of "
              f"{summary.batches}; run the same command again to resume", file=err)
