"""`highway-server users add|list|show|passwd|set-role|remove|demo`: managing accounts.

Passwords come from a terminal prompt or stdin only, never from the command line. The
database and key file are found like `serve` finds them (--config file < HIGHWAY_* < flags).
Running servers read accounts per request, so every change applies to the next request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import getpass
import os
import sqlite3
import sys
from typing import Any, TextIO

from soap_service.core.principal import ROLES
from soap_service.security.accounts import Account, AccountError, AccountStore
from soap_service.security.digest_secrets import DigestSecretBox, key_file_for

MIN_PASSWORD_LENGTH = 8


def add_users_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `users` command (with add, list, remove) to highway-server's subparsers."""
    users = subparsers.add_parser("users", help="manage accounts (principals and roles)")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE",
                        help="TOML configuration file, as for serve ([core] db, "
                        "[security] account_key_file); default $HIGHWAY_CONFIG")
    common.add_argument(
        "--db", dest="core__db", default=None,
        help="database: a SQLite file, sqlite:///PATH or postgresql://USER@HOST:PORT/DB "
        "(default: the configuration's, $HIGHWAY_DB or ./highway.db)",
    )
    common.add_argument(
        "--account-key-file", "--accounts-key-file", dest="security__account_key_file",
        default=None,
        help="key file for PasswordDigest secrets (default: the configuration's, "
        "$HIGHWAY_ACCOUNT_KEY_FILE or <db>.accounts-key)",
    )
    common.add_argument("--create", action="store_true",
                        help="create the database if it does not exist (else: refused)")

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
    add.set_defaults(handler=functools.partial(run_users, _add))

    listing = actions.add_parser("list", parents=[common], help="list accounts")
    listing.set_defaults(handler=functools.partial(run_users, _list))

    remove = actions.add_parser("remove", parents=[common], help="remove an account")
    remove.add_argument("name")
    remove.set_defaults(handler=functools.partial(run_users, _remove))

    show = actions.add_parser("show", parents=[common], help="show one account")
    show.add_argument("name")
    show.set_defaults(handler=functools.partial(run_users, _show))

    passwd = actions.add_parser(
        "passwd", parents=[common], help="change an account's password",
        description="Set a new password, from a terminal prompt (asked twice) or the first "
        "line of stdin. An account that allowed PasswordDigest keeps it (the secret is "
        "re-encrypted with the account key file) unless --no-digest.",
    )
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (no prompt)")
    passwd.add_argument("--digest", action=argparse.BooleanOptionalAction, default=None,
                        help="allow PasswordDigest (default: as before)")
    passwd.set_defaults(handler=functools.partial(run_users, _passwd))

    set_role = actions.add_parser("set-role", parents=[common], help="change an account's role")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=ROLES)
    set_role.set_defaults(handler=functools.partial(run_users, _set_role))

    demo = actions.add_parser(
        "demo", parents=[common],
        help="show the demo account's credentials again (kept encrypted with the account key)",
        description="Print the line `serve` printed on first start: export HIGHWAY_URL=... "
        "HIGHWAY_USERNAME=demo HIGHWAY_PASSWORD=... The URL is the listener's, from the "
        "configuration (--config, HIGHWAY_HOST/HIGHWAY_PORT, TLS settings) or --host/--port.",
    )
    demo.add_argument("--host", dest="core__host", default=None,
                      help="the address serve listens on (default: the configuration's)")
    demo.add_argument("--port", dest="core__port", default=None,
                      help="the port serve listens on (default: the configuration's)")
    demo.set_defaults(handler=functools.partial(run_users, _demo))
    return users


class UsersError(Exception):
    """The database or configuration cannot be used; one line, exit 2."""


def run_users(handler: Any, args: argparse.Namespace) -> int:
    """Run one `users` action: configuration and database problems are one line, exit 2;
    refused account changes exit 1."""
    action = getattr(args, "users_command", "users")
    try:
        return int(handler(args))
    except UsersError as exc:
        print(f"highway-server users {action}: {exc}", file=sys.stderr)
        return 2
    except AccountError as exc:
        print(f"highway-server users {action}: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        where = getattr(args, "db", "?")
        print(f"highway-server users {action}: database {where}: {exc}", file=sys.stderr)
        return 2


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


def _resolve(args: argparse.Namespace) -> None:
    """Fill args.db and args.account_key_file from flags, HIGHWAY_* and the config file."""
    if getattr(args, "db", None) is not None:
        return
    from soap_service.settings_loader import ConfigError, load_settings

    try:
        settings = load_settings(args)
    except ConfigError as exc:
        raise UsersError(f"configuration error: {exc}") from None
    args.db = settings.core.db
    # The rule `serve` uses: the configured file (either spelling, flag, env or TOML), else
    # beside a SQLite file; a shared PostgreSQL store has none unless configured.
    args.account_key_file = key_file_for(args.db, settings.security.digest_key_file)


def _store(args: argparse.Namespace) -> AccountStore:
    from soap_service.store import database

    _resolve(args)
    target = database.parse_db_url(args.db)
    if target.is_sqlite and not os.path.exists(target.location):
        if not getattr(args, "create", False):
            raise UsersError(f"no database at {args.db} (check --db/--config; "
                             "--create makes a new one)")
        parent = os.path.dirname(os.path.abspath(target.location))
        if not os.path.isdir(parent):
            raise UsersError(f"cannot create {args.db}: no such directory {parent}")
    try:
        return AccountStore(database.connect(args.db))
    except Exception as exc:  # noqa: BLE001 - sqlite3/psycopg/OS errors: one line, no traceback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsersError(f"cannot open database {target.display()}: {first}") from None


def _key_path(args: argparse.Namespace) -> str:
    _resolve(args)
    if args.account_key_file is None:
        raise UsersError("PasswordDigest with a PostgreSQL database needs --account-key-file "
                         "(the same key file on every machine)")
    return str(args.account_key_file)


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
        store = _store(args)
        wants_password = args.cert_subject is None or args.with_password or args.digest
        password = read_password(stdin) if wants_password else None
        box = None
        if args.digest:
            box = DigestSecretBox.from_file(_key_path(args), create=True)
        account = store.add(
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


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    account = store.get(args.name)
    if account is None:
        raise AccountError(f"no account {args.name!r}")
    created = store.created_at(args.name)
    when = (dt.datetime.fromtimestamp(created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if created is not None else "-")
    print(f"name: {account.name}\nrole: {account.role}\nauth: {_describe(account) or '-'}\n"
          f"cert subject: {account.cert_subject or '-'}\ncreated: {when}")
    return 0


def _passwd(args: argparse.Namespace, stdin: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    store = _store(args)
    account = store.get(args.name)
    if account is None:
        raise AccountError(f"no account {args.name!r}")
    if args.password_stdin:
        password = stdin.readline().rstrip("\r\n")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    else:
        password = read_password(stdin)
    digest = account.digest_enabled if args.digest is None else args.digest
    box = None
    if digest:
        try:
            box = DigestSecretBox.from_file(_key_path(args), create=True)
        except (OSError, ValueError) as exc:
            raise UsersError(f"account key file {_key_path(args)}: {exc}") from None
    account = store.set_password(args.name, password, digest_box=box)
    print(f"password changed for {account.name} auth={_describe(account)}")
    return 0


def _set_role(args: argparse.Namespace) -> int:
    account = _store(args).set_role(args.name, args.role)
    print(f"{account.name} role={account.role}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from soap_service.security.demo import DEMO_NAME, demo_password, export_line
    from soap_service.settings_loader import ConfigError, load_settings

    try:
        settings = load_settings(args)
    except ConfigError as exc:
        raise UsersError(f"configuration error: {exc}") from None
    password = demo_password(_store(args), _key_path(args))
    # Port 0 means "any free port": only the running server knows which, so no URL then.
    url = settings.listener_url() if settings.core.port else None
    print(export_line(password, url, DEMO_NAME))
    return 0
