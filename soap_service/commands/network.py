"""`highway-server network import FILE.csv | export [FILE|-]`: load a road network from CSV as a
new network version (every running server picks it up), or write the served one out.

Both take --db and --config like `serve`. An import is checked completely first; any error
(each named by line and column) exits 2 with nothing changed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from soap_service.commands.db import _add_db_options, _db_url
from soap_service.store import database, network_db
from soap_service.store.network_csv import (
    CSV_HEADER,
    NetworkFileError,
    format_network,
    parse_network,
)


def add_network_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `network` command with `import` and `export` to highway-server's subparsers."""
    network = subparsers.add_parser("network", help="import or export the road network (CSV)")
    actions = network.add_subparsers(dest="network_command", required=True, metavar="ACTION")
    load = actions.add_parser(
        "import", help="replace the network by FILE.csv as a new network version (atomic; "
        "running servers serve it within --network-check-seconds)",
        description=f"FILE.csv has the header {CSV_HEADER}, one row per segment.")
    load.add_argument("file", metavar="FILE.csv")
    _add_db_options(load)
    load.set_defaults(handler=_import)
    dump = actions.add_parser("export", help="write the served network as CSV to FILE "
                              "(default -: standard output)")
    dump.add_argument("file", nargs="?", default="-", metavar="FILE|-")
    _add_db_options(dump)
    dump.set_defaults(handler=_export)
    return network


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _import(args: argparse.Namespace) -> int:
    prefix = "highway-server network import"
    try:
        with open(args.file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        print(f"{prefix}: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        print(f"{prefix}: {args.file}: line {line}: not UTF-8 text; nothing changed",
              file=sys.stderr)
        return 2
    try:
        highways = parse_network(text)
    except NetworkFileError as exc:
        print(f"{prefix}: {args.file}: {len(exc.problems)} error(s), nothing changed:",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    try:
        url = _db_url(args)
        conn = database.connect(url)
        try:
            change = network_db.import_network(conn, highways)
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - config, sqlite3, psycopg: one line, exit 2
        print(f"{prefix}: {_one_line(exc)}; nothing changed", file=sys.stderr)
        return 2
    print(f"{database.parse_db_url(url).display()}: network version {change.version}: "
          f"{change.highways} highways, {change.segments} segments ({change.added} added, "
          f"{change.changed} changed, {change.unchanged} unchanged, {change.retired} retired)")
    return 0


def _export(args: argparse.Namespace) -> int:
    try:
        conn = database.connect(_db_url(args))
        try:
            text = format_network(network_db.read_highways(conn))
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - one line, exit 2
        print(f"highway-server network export: {_one_line(exc)}", file=sys.stderr)
        return 2
    data = text.encode("utf-8")
    if args.file == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        with open(args.file, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        print(f"highway-server network export: cannot write {args.file}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
