"""`highway-server`: serve the SOAP service, print its contract, manage accounts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from soap_service import __version__
from soap_service.contract import contract
from soap_service.settings_loader import ConfigError, add_setting_arguments, load_settings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="highway-server", description="Highway traffic SOAP service."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the SOAP service")
    add_setting_arguments(serve)
    serve.set_defaults(handler=_serve)

    from soap_service.commands.config import add_config_commands

    add_config_commands(commands)  # `config show`, `config example`

    from soap_service.commands.users import add_users_parser

    add_users_parser(commands)  # `users add|list|remove`

    from soap_service.commands.db import add_db_parser

    add_db_parser(commands)  # `db migrate|check|backup|copy`

    from soap_service.commands.keys import add_keys_parser

    add_keys_parser(commands)  # `keys rotate`

    from soap_service.commands.network import add_network_parser

    add_network_parser(commands)  # `network import|export`

    wsdl = commands.add_parser("wsdl", help="print the WSDL contract")
    wsdl.add_argument("--public-url", help="soap:address to put in the printed contract")
    wsdl.set_defaults(handler=_wsdl)
    return parser


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args)
    except ConfigError as exc:
        print(f"highway-server: configuration error: {exc}", file=sys.stderr)
        return 2
    from soap_service.ops.logs import configure_logging

    configure_logging(settings.ops)  # json or text, with the log-hygiene filters
    from soap_service.web import workers
    from soap_service.web.assembly import StoreOpenError
    from soap_service.web.listener import ListenError, serve

    try:
        if settings.core.workers > 1 and workers.worker_index() is None:
            return workers.run_workers(settings)  # supervise N processes sharing one socket
        # SIGHUP re-reads the same sources (--config file, HIGHWAY_*, flags): web/reload.py.
        return serve(settings, lambda: load_settings(args))
    except ListenError as exc:  # a busy port: found before the database is touched
        print(f"highway-server: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # found while starting, e.g. an unreadable key file
        print(f"highway-server: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreOpenError as exc:  # missing, unreadable, damaged or unreachable database
        print(f"highway-server: {exc}", file=sys.stderr)
        return 2


def _wsdl(args: argparse.Namespace) -> int:
    data = contract.render_wsdl(args.public_url) if args.public_url else contract.wsdl_bytes()
    sys.stdout.buffer.write(data)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `highway-server` command."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
