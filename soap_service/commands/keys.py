"""`highway-server keys rotate`: re-encrypt every PasswordDigest secret under a new key.

Servers open a secret with any key of their key file (the first key seals), so a rotation
needs no downtime: every machine gets the new key as an additional line first, then this
command re-encrypts the secrets, one transaction per batch, recording each row's key id in
`accounts.digest_key_id`; finally the old line is retired (README, "Rotating the account
key"). It can be run again at any time: secrets already under the new key are left alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any

from soap_service.security.digest_secrets import DigestSecretBox, key_file_for, read_keys
from soap_service.settings_loader import ConfigError, iter_settings, load_settings

DEFAULT_BATCH = 200


class KeysError(Exception):
    """The rotation cannot start or go on; one line, exit 2."""


@dataclasses.dataclass
class RotationResult:
    """What a rotation did, row by row."""

    key_id: str
    rotated: int = 0
    already: int = 0
    changed: list[str] = dataclasses.field(default_factory=list)
    undecryptable: list[str] = dataclasses.field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every digest secret is now under the new key."""
        return not self.changed and not self.undecryptable


def add_keys_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `keys` command (with `rotate`) to highway-server's subparsers."""
    keys = subparsers.add_parser("keys", help="the account key encrypting PasswordDigest secrets")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    rotate = actions.add_parser(
        "rotate", help="re-encrypt every digest secret under a new key, without downtime",
        description="Re-encrypt every account's PasswordDigest secret under the first key of "
        "NEW, one transaction per batch. The current key comes from the configured account "
        "key file (--accounts-key-file, $HIGHWAY_ACCOUNTS_KEY_FILE, [security] in --config, or "
        "<db>.accounts-key for SQLite), which must already hold the new key as an additional "
        "line, so that every server given that file opens both old and new secrets.",
    )
    rotate.add_argument("--new-key-file", required=True, metavar="NEW",
                        help="key file whose first key encrypts from now on")
    rotate.add_argument("--config", metavar="FILE",
                        help="TOML configuration file, as for serve; default $HIGHWAY_CONFIG")
    dests = {ref.key: ref.dest for ref in iter_settings()}
    rotate.add_argument("--db", dest=dests["core.db"], default=None, metavar="URL",
                        help="database URL or SQLite path (default: [core] db, $HIGHWAY_DB, "
                        "./highway.db)")
    rotate.add_argument("--account-key-file", "--accounts-key-file",
                        dest=dests["security.accounts_key_file"], default=None, metavar="FILE",
                        help="the key file the servers read (default: the configuration's)")
    rotate.add_argument("--batch-size", type=_batch_size, default=DEFAULT_BATCH, metavar="N",
                        help=f"accounts per transaction (default {DEFAULT_BATCH})")
    rotate.set_defaults(handler=_rotate)
    return keys


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("between 1 and 100000")
    return value


def rotate_secrets(conn: Any, current: DigestSecretBox, new: DigestSecretBox, *,
                   batch_size: int = DEFAULT_BATCH) -> RotationResult:
    """Re-encrypt every digest secret that `current` or `new` opens under `new`'s first key,
    one transaction per `batch_size` accounts (by name). A row changed meanwhile (e.g. by
    `users passwd`) is left as it is now and listed in `changed`; a secret no key opens is
    listed in `undecryptable`. Safe to run again: rows already under the new key are kept."""
    from soap_service.store import database

    target = new.key_id
    opener = DigestSecretBox(*new.keys, *current.keys)
    result = RotationResult(target)
    last = ""
    while True:
        with database.transaction(conn):
            rows = conn.execute(
                "SELECT name, digest_secret, digest_key_id FROM accounts"
                " WHERE digest_secret IS NOT NULL AND name > ? ORDER BY name LIMIT ?",
                (last, batch_size),
            ).fetchall()
            for name, stored, stored_id in rows:
                blob = bytes(stored)
                try:
                    plain, opened_by = opener.open_with_id(name, blob)
                except ValueError:
                    result.undecryptable.append(name)
                    continue
                if opened_by == target:
                    if stored_id != target:  # sealed under the new key without its id
                        conn.execute("UPDATE accounts SET digest_key_id = ? WHERE name = ?"
                                     " AND digest_secret = ?", (target, name, blob))
                    result.already += 1
                    continue
                cursor = conn.execute(
                    "UPDATE accounts SET digest_secret = ?, digest_key_id = ?"
                    " WHERE name = ? AND digest_secret = ?",
                    (new.seal(name, plain), target, name, blob),
                )
                if cursor.rowcount == 1:
                    result.rotated += 1
                else:
                    result.changed.append(name)
        if len(rows) < batch_size:
            return result
        last = rows[-1][0]


def _boxes(args: argparse.Namespace) -> tuple[str, str, DigestSecretBox, DigestSecretBox]:
    """(db URL, current key file, its keys, the new keys) from flags, env and config."""
    try:
        settings = load_settings(args)
    except ConfigError as exc:
        raise KeysError(f"configuration error: {exc}") from None
    url = settings.core.db
    current_path = key_file_for(url, settings.security.digest_key_file)
    if current_path is None:
        raise KeysError("no account key file configured (a PostgreSQL store needs "
                        "--accounts-key-file, the file every server reads)")
    try:
        new = DigestSecretBox(*read_keys(args.new_key_file))
    except (OSError, ValueError) as exc:
        raise KeysError(f"new key file: {_one_line(exc)}") from None
    try:
        current = DigestSecretBox(*read_keys(current_path))
    except (OSError, ValueError) as exc:
        raise KeysError(f"account key file: {_one_line(exc)}") from None
    if new.key_id not in current.key_ids:
        raise KeysError(
            f"the account key file {current_path} does not hold the new key {new.key_id}: add "
            f"it there as an additional line on every machine first, so every server opens "
            f"both old and new secrets (README, \"Rotating the account key\")")
    return url, current_path, current, new


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _rotate(args: argparse.Namespace) -> int:
    from soap_service.store import database

    try:
        url, current_path, current, new = _boxes(args)
        target = database.parse_db_url(url)
        if target.is_sqlite and not os.path.exists(target.location):
            raise KeysError(f"no database at {target.display()} (check --db/--config)")
        try:
            conn = database.connect(url, migrate_schema=False)
            if database.pending(conn):
                raise KeysError(f"{target.display()} needs `highway-server db migrate` first")
            result = rotate_secrets(conn, current, new, batch_size=args.batch_size)
        except KeysError:
            raise
        except Exception as exc:  # noqa: BLE001 - sqlite3/psycopg/OS errors: one line
            raise KeysError(f"database {target.display()}: {_one_line(exc)}") from None
    except KeysError as exc:
        print(f"highway-server keys rotate: {exc}", file=sys.stderr)
        return 2
    print(f"{target.display()}: {result.rotated} digest secrets re-encrypted under key "
          f"{result.key_id}, {result.already} already under it")
    if result.changed:
        print(f"  changed while rotating (run again): {', '.join(result.changed)}",
              file=sys.stderr)
    if result.undecryptable:
        print(f"  not opened by any key of {current_path} or {args.new_key_file} (left "
              f"as they are): {', '.join(result.undecryptable)}", file=sys.stderr)
    return 0 if result.complete else 1
