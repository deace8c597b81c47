"""`highway-server users add|list|remove`: managing accounts; passwords come from stdin only."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any, TextIO

from soap_service.security.accounts import Account, AccountError, AccountStore
from soap_service.security.digest_secrets import DigestSecretBox, default_key_path
from soap_service.security.principal import ROLES

MIN_PASSWORD_LENGTH = 8


def add_users_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `users` command (with add, list, remove) to highway-server's subparsers."""
    users = subparsers.add_parser("users", help="manage accounts (principals and roles)")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", default=os.environ.get("HIGHWAY_DB", "./highway.db"),
        help="database: a SQLite file, sqlite:///PATH or postgresql://USER@HOST:PORT/DB "
        "(default: $HIGHWAY_DB or ./highway.db)",
    )
    common.add_argument(
        "--account-key-file", "--accounts-key-file", dest="account_key_file",
        default=os.environ.get("HIGHWAY_ACCOUNT_KEY_FILE")
        or os.environ.get("HIGHWAY_ACCOUNTS_KEY_FILE"),
        help="key file for PasswordDigest secrets (default: <db>.accounts-key)",
    )

    add = actions.add_parser(
        "add", parents=[common], help="add an account; the password is read from stdin",
        description="Add an account. The password is read from standard input (a prompt on "
        "a terminal, else the first line), never from the command line.",
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--digest", action="store_true",
        help="also allow PasswordDigest (keeps the password recoverable, encrypted with the "
        "account key file)",
    )
    add.add_argument(
        "--cert-subject", metavar="DN",
        help="certificate subject mapped to this account (mTLS and signatures), "
        "e.g. CN=acme-traffic,O=Acme; without --with-password no password is set",
    )
    add.add_argument(
        "--with-password", action="store_true",
        help="with --cert-subject: read a password as well",
    )
    add.set_defaults(handler=_add)

    listing = actions.add_parser("list", parents=[common], help="list accounts")
    listing.set_defaults(handler=_list)

    remove = actions.add_parser("remove", parents=[common], help="remove an account")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)
    return users


def read_password(stdin: TextIO) -> str:
    """A password from a terminal prompt (asked twice) or the first line of piped stdin."""
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise AccountError("the passwords do not match")
        password = first
    else:
        password = stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _default_key_path(db: str) -> str:
    """The key file beside a SQLite database; a shared PostgreSQL store needs it configured."""
    from soap_service.store.database import parse_db_url

    target = parse_db_url(db)
    if not target.is_sqlite:
        raise AccountError("--digest with a PostgreSQL database needs --account-key-file "
                           "(the same key file on every machine)")
    return default_key_path(target.location)


def _store(args: argparse.Namespace) -> AccountStore:
    from soap_service.store import database

    return AccountStore(database.connect(args.db))


def _describe(account: Account) -> str:
    methods = []
    if account.password_hash:
        methods.append("password")
    if account.digest_enabled:
        methods.append("digest")
    if account.cert_subject:
        methods.append("certificate")
    return ",".join(methods)


def _add(args: argparse.Namespace, stdin: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    try:
        if args.digest and args.cert_subject and not args.with_password:
            raise AccountError("--digest needs a password: add --with-password")
        wants_password = args.cert_subject is None or args.with_password or args.digest
        password = read_password(stdin) if wants_password else None
        box = None
        if args.digest:
            key_path = args.account_key_file or _default_key_path(args.db)
            box = DigestSecretBox.from_file(key_path, create=True)
        account = _store(args).add(
            args.name, args.role, password=password, digest_box=box,
            cert_subject=args.cert_subject,
        )
    except (AccountError, OSError, ValueError) as exc:
        print(f"highway-server users add: {exc}", file=sys.stderr)
        return 1
    subject = f" subject={account.cert_subject}" if account.cert_subject else ""
    print(f"added {account.name} role={account.role} auth={_describe(account)}{subject}")
    return 0


def _list(args: argparse.Namespace) -> int:
    accounts = _store(args).all()
    print(f"{'NAME':<24} {'ROLE':<9} {'AUTH':<26} CERT SUBJECT")
    for account in accounts:
        print(f"{account.name:<24} {account.role:<9} {_describe(account):<26} "
              f"{account.cert_subject or '-'}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    if not _store(args).remove(args.name):
        print(f"highway-server users remove: no account {args.name!r}", file=sys.stderr)
        return 1
    print(f"removed {args.name}")
    return 0
