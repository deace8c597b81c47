"""highway-client's security options: WS-Security credentials and mutual TLS files.

The password is read from the HIGHWAY_PASSWORD environment variable or, with
--password-stdin, from the first line of standard input; never from argv, where other users
of the machine could read it in the process list.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

PASSWORD_ENV = "HIGHWAY_PASSWORD"


def add_security_arguments(parser: argparse.ArgumentParser, *, after: bool = False) -> None:
    """Add --username/--digest/--password-stdin, --cert/--key and the mTLS options.

    With `after` (a subcommand's copy of the global options) nothing gets a default, so a
    value given before the subcommand is kept unless repeated after it."""
    group = parser.add_argument_group("security")

    def default(value: object) -> dict[str, object]:
        return {"default": argparse.SUPPRESS} if after else {"default": value}

    group.add_argument(
        "--username", **default(os.environ.get("HIGHWAY_USERNAME")),  # type: ignore[arg-type]
        help=f"WS-Security UsernameToken user (env HIGHWAY_USERNAME); password from "
        f"${PASSWORD_ENV} or --password-stdin",
    )
    group.add_argument("--password-stdin", action="store_true", **default(False),  # type: ignore[arg-type]
                       help="read the password from stdin's first line")
    group.add_argument("--digest", action="store_true", **default(False),  # type: ignore[arg-type]
                       help="send PasswordDigest, not text")
    for flag, text in (
        ("--cert", "PEM certificate for signing requests (X.509 token)"),
        ("--key", "PEM private key of --cert"),
        ("--tls-client-cert", "PEM client certificate for mutual TLS"),
        ("--tls-client-key", "PEM private key of --tls-client-cert"),
        ("--ca", "PEM CA bundle to verify the server's certificate"),
    ):
        group.add_argument(flag, metavar="FILE", help=text, **default(None))  # type: ignore[arg-type]


def security_kwargs(args: argparse.Namespace, stdin: TextIO) -> dict[str, Any]:
    """HighwayClient keyword arguments from the parsed options; ValueError on misuse."""
    password: str | None = None
    if args.username:
        if args.password_stdin:
            if getattr(args, "file", None) == "-":
                raise ValueError("--password-stdin cannot be combined with reading data from '-'")
            password = stdin.readline().rstrip("\r\n")
        else:
            password = os.environ.get(PASSWORD_ENV)
        if not password:
            raise ValueError(f"--username needs a password: set {PASSWORD_ENV} or "
                             "use --password-stdin")
    elif args.digest or args.password_stdin:
        raise ValueError("--digest and --password-stdin need --username")
    if (args.cert is None) != (args.key is None):
        raise ValueError("--cert and --key go together")
    if (args.tls_client_cert is None) != (args.tls_client_key is None):
        raise ValueError("--tls-client-cert and --tls-client-key go together")
    # The flags keep their names; the library's keywords follow httpx (client/options.py).
    tls_cert = (None if args.tls_client_cert is None
                else (args.tls_client_cert, args.tls_client_key))
    return {
        "username": args.username or None,
        "password": password,
        "digest": bool(args.digest),
        "signing_cert": args.cert,
        "signing_key": args.key,
        "cert": tls_cert,
        "verify": args.ca if args.ca is not None else True,
    }
