"""The demo account: created on first start of an empty database behind a loopback listener,
so `highway-server serve` works out of the box without opening an unauthenticated door."""

from __future__ import annotations

import logging
import secrets
import shlex
import sqlite3
import sys

from soap_service.security.accounts import AccountError, AccountStore
from soap_service.security.digest_secrets import DigestSecretBox

DEMO_NAME = "demo"
DEMO_ROLE = "operator"
log = logging.getLogger("highway.security")


def export_line(password: str, url: str | None = None, username: str = DEMO_NAME) -> str:
    """The shell line that sets what the client reads: HIGHWAY_URL (when known),
    HIGHWAY_USERNAME and HIGHWAY_PASSWORD, each value quoted for a POSIX shell."""
    parts = [f"HIGHWAY_URL={shlex.quote(url)}"] if url else []
    parts += [f"HIGHWAY_USERNAME={shlex.quote(username)}",
              f"HIGHWAY_PASSWORD={shlex.quote(password)}"]
    return "export " + " ".join(parts)


def ensure_demo_account(
    conn: sqlite3.Connection, *, loopback: bool, key_path: str | None = None,
    url: str | None = None,
) -> str | None:
    """Create `demo` (operator, random password) when no account exists and the listener is
    loopback-only; print its credentials. Returns the password when one was created.

    `url` is the SOAP endpoint of the listener actually bound (http or https), printed as
    HIGHWAY_URL on the same line as the credentials, so one pasted line configures the client.

    With `key_path` (the account key file, created if missing) the password is also kept
    encrypted with that key, as for `users add --digest`: PasswordDigest works for the demo
    account and `highway-server users demo` can show the credentials again. The caller has
    already bound its listening socket, so a start that prints them also serves them.

    On a non-loopback listener nothing is created: an exposed service must get its accounts
    from `highway-server users add`, never from a password printed to a console.
    """
    accounts = AccountStore(conn)
    if accounts.all():
        return None
    if not loopback:
        log.warning("no accounts: every request will be refused; add one with "
                    "`highway-server users add NAME --role ROLE`")
        return None
    password = secrets.token_urlsafe(12)
    box = None
    if key_path is not None:
        try:
            box = DigestSecretBox.from_file(key_path, create=True)
        except (OSError, ValueError) as exc:
            log.warning("demo password not kept (account key file %s: %s); "
                        "`users demo` cannot show it again", key_path, exc)
    try:
        accounts.add(DEMO_NAME, DEMO_ROLE, password=password, digest_box=box)
    except AccountError:
        return None  # another worker process created it first
    # Printed, not logged: log files outlive the terminal session that needs it.
    print(
        f"highway-server: created demo account {DEMO_NAME!r} (role {DEMO_ROLE}) for this "
        f"loopback listener; paste the next line where you run highway-client "
        f"(`highway-server users demo` shows it again):\n{export_line(password, url)}",
        file=sys.stderr, flush=True,
    )
    return password


def demo_password(accounts: AccountStore, key_path: str) -> str:
    """The demo account's password, decrypted with the account key; AccountError if it
    cannot be shown (no demo account, its password changed without --digest, no key)."""
    account = accounts.get(DEMO_NAME)
    if account is None:
        raise AccountError("no demo account in this database (it is created only on the first "
                           "start of an empty database behind a loopback listener)")
    if account.digest_secret is None:
        raise AccountError("the demo password was not kept (no account key file when it was "
                           "created, or changed since); set one with `users passwd demo`")
    try:
        return DigestSecretBox.from_file(key_path).open(DEMO_NAME, account.digest_secret)
    except (OSError, ValueError) as exc:
        raise AccountError(f"cannot decrypt the demo password with {key_path}: {exc}") from exc
