"""The demo account: created on first start of an empty database behind a loopback listener,
so `highway-server serve` works out of the box without opening an unauthenticated door."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import sys

from soap_service.security.accounts import AccountError, AccountStore

DEMO_NAME = "demo"
DEMO_ROLE = "operator"
log = logging.getLogger("highway.security")


def ensure_demo_account(conn: sqlite3.Connection, *, loopback: bool) -> str | None:
    """Create `demo` (operator, random password) when no account exists and the listener is
    loopback-only; print its credentials once. Returns the password when one was created.

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
    try:
        accounts.add(DEMO_NAME, DEMO_ROLE, password=password)
    except AccountError:
        return None  # another worker process created it first
    # Printed, not logged: log files outlive the terminal session that needs it.
    print(
        f"highway-server: created demo account {DEMO_NAME!r} (role {DEMO_ROLE}) for this "
        f"loopback listener; use it with:\n"
        f"  export HIGHWAY_USERNAME={DEMO_NAME} HIGHWAY_PASSWORD={password}",
        file=sys.stderr, flush=True,
    )
    return password
