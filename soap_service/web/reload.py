"""SIGHUP: reload what can change without dropping a connection, and log what was done.

Reloaded: the TLS certificate and key and the client CA (new handshakes use them; open
connections keep theirs), the log level, and the road network from the database (a check of
its version is started at once, read off the reactor thread; store/network_watch.py logs the
version it then serves; it is also polled every --network-check-seconds). Every other
setting that changed is named in the log as needing a restart. A reload that fails (a bad
config file, an unreadable or mismatched key) changes nothing and is logged; it never stops
the server.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from zope.interface import implementer

from soap_service.security.settings import TlsSettings
from soap_service.settings import ServerSettings

log = logging.getLogger("highway.server")

# (section, field) pairs applied live by `Reloader.reload`.
RELOADABLE: frozenset[tuple[str, str]] = frozenset({
    ("tls", "tls_cert"), ("tls", "tls_key"), ("tls", "client_ca"), ("ops", "log_level"),
})


@implementer(IOpenSSLServerConnectionCreator)
class ReloadableTLS:
    """The listener's TLS connection creator; `load` swaps the certificate for new handshakes."""

    def __init__(self, tls: TlsSettings) -> None:
        self.options: Any = None
        self.load(tls)

    def load(self, tls: TlsSettings) -> None:
        """Read certificate, key and client CA; raises ValueError (and keeps the old ones)."""
        from soap_service.security.tls import server_tls_options

        options = server_tls_options(tls)
        try:
            options.getContext()  # builds the context now: a key that does not match fails here
        except SSL.Error as exc:
            raise ValueError(f"the TLS certificate and key do not work together: {exc}") from exc
        self.options = options

    def serverConnectionForTLS(self, protocol: Any) -> Any:
        """A server-side OpenSSL connection with the current certificate (Twisted's hook)."""
        return self.options.serverConnectionForTLS(protocol)


class Reloader:
    """Applies a fresh reading of the configuration to a running process."""

    def __init__(
        self,
        settings: ServerSettings,
        load_settings: Callable[[], ServerSettings] | None,
        *,
        tls: ReloadableTLS | None,
        reload_network: Callable[[], Any] | None,
    ) -> None:
        self.settings = settings
        self._load = load_settings
        self._tls = tls
        self._reload_network = reload_network

    def reload(self) -> list[str]:
        """Re-read the configuration and apply what can be applied; returns what was done."""
        done: list[str] = []
        new = self.settings
        if self._load is not None:
            try:
                new = self._load()
            except Exception as exc:  # noqa: BLE001 - ConfigError or anything: keep running
                log.error("SIGHUP: configuration not reloaded (%s); keeping the running one", exc)
                return done
        if self._tls is not None and new.uses_tls:
            try:
                self._tls.load(new.tls)
                done.append("tls certificate, key and client CA")
            except (ValueError, OSError) as exc:
                log.error("SIGHUP: TLS files not reloaded (%s); keeping the current ones", exc)
                new = dataclasses.replace(new, tls=self.settings.tls)
        level = new.ops.log_level
        logging.getLogger().setLevel(getattr(logging, level))
        done.append(f"log level {level}")
        if self._reload_network is not None:
            try:
                self._reload_network()
                done.append("road network")
            except Exception as exc:  # noqa: BLE001 - a locked or broken database: keep running
                log.error("SIGHUP: road network not reloaded (%s)", exc)
        restart = _changed_fields(self.settings, new) - RELOADABLE
        # The running configuration takes only what was applied; the rest waits for a restart.
        self.settings = dataclasses.replace(
            self.settings,
            tls=new.tls if self._tls is not None and new.uses_tls else self.settings.tls,
            ops=dataclasses.replace(self.settings.ops, log_level=level),
        )
        log.info("SIGHUP: reloaded %s", ", ".join(done) or "nothing")
        if restart:
            names = ", ".join(sorted(f"{s}.{f}" for s, f in restart))
            log.warning("SIGHUP: changed settings that need a restart: %s", names)
        return done


def _changed_fields(old: ServerSettings, new: ServerSettings) -> set[tuple[str, str]]:
    changed: set[tuple[str, str]] = set()
    for section in dataclasses.fields(old):
        before, after = getattr(old, section.name), getattr(new, section.name)
        for field in dataclasses.fields(before):
            if getattr(before, field.name) != getattr(after, field.name):
                changed.add((section.name, field.name))
    return changed
