"""`--watch SECONDS`: redraw a view until interrupted, surviving a service that comes and goes."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TextIO

from client import errors
from client.render import console_for, is_terminal

EXIT_FAULT, EXIT_INTERRUPTED = 3, 130
# Faults that no later refresh can cure (wrong highway, bad credentials, wrong role, bad
# request): retrying them forever would hide the mistake.
PERMANENT = (errors.UnknownHighwayError, errors.AuthenticationError, errors.NotAuthorizedError,
             errors.ValidationError)


def watch(
    render: Callable[[], str],
    seconds: float,
    out: TextIO,
    *,
    iterations: int | None = None,
    decorate: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Print `render()` every `seconds` (clearing a terminal first); Ctrl-C ends with 130,
    a permanent fault (see PERMANENT) is raised at once (the CLI exits 3).
    Without `decorate` (JSON lines for scripts): no clearing, no footer.

    A failed refresh (service unreachable, a fault) is shown and retried at the next tick,
    so a watch keeps running through a restart of the service."""
    terminal = decorate and is_terminal(out)
    screen = console_for(out) if terminal else None
    done = 0
    try:
        while iterations is None or done < iterations:
            try:
                text = render()
            except PERMANENT:
                raise
            except (errors.TransportError, errors.ServiceFaultError,
                    errors.ProtocolError) as exc:
                text = f"(refresh failed: {exc}; retrying in {seconds:g} s)"
            if decorate:
                stamp = dt.datetime.now().strftime("%H:%M:%S")
                text += f"\n\nrefreshed {stamp}, every {seconds:g} s; Ctrl-C to stop"
                if screen is not None:
                    screen.clear()  # home and clear, through rich
                elif done:
                    text = "\n" + text
            out.write(text + "\n")
            out.flush()
            done += 1
            if iterations is None or done < iterations:
                sleep(seconds)
    except KeyboardInterrupt:
        out.write("\n")
        return EXIT_INTERRUPTED
    return 0
