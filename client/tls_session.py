"""Mutual TLS and server verification for the client's requests.Session."""

from __future__ import annotations

from typing import Any

import requests.adapters


def configure_tls(
    session: Any,
    *,
    client_cert: str | None = None,
    client_key: str | None = None,
    ca: str | None = None,
) -> None:
    """Set a requests.Session's client certificate (mTLS) and trusted CA bundle."""
    if (client_cert is None) != (client_key is None):
        raise ValueError("tls_client_cert= and tls_client_key= go together")
    if client_cert is not None:
        session.cert = (client_cert, client_key)
    if ca is not None:
        session.verify = ca
        # requests lets $REQUESTS_CA_BUNDLE override session.verify (psf/requests#3829); an
        # explicit ca= must win, so the HTTPS adapter pins it on every send.
        session.mount("https://", _PinnedCaAdapter(ca))


class _PinnedCaAdapter(requests.adapters.HTTPAdapter):
    """An HTTPS adapter that always verifies the server against one CA bundle."""

    def __init__(self, ca: str) -> None:
        super().__init__()
        self._ca = ca

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Send with `verify` forced to the configured CA bundle."""
        kwargs["verify"] = self._ca
        return super().send(request, *args, **kwargs)
