"""TLS for the client's requests.Session: server verification and the TLS client certificate."""

from __future__ import annotations

from typing import Any

import requests.adapters

from client.options import ClientOptions


def configure_tls(session: Any, options: ClientOptions) -> None:
    """Set a requests.Session's client certificate (mTLS) and server verification."""
    pair = options.cert_pair()
    if pair is not None:
        session.cert = pair[0] if pair[1] is None else pair
    if options.verify is False:
        session.verify = False
        session.mount("https://", _PinnedVerifyAdapter(False))
    elif isinstance(options.verify, str):
        session.verify = options.verify
        # requests lets $REQUESTS_CA_BUNDLE override session.verify (psf/requests#3829); an
        # explicit CA bundle must win, so the HTTPS adapter pins it on every send.
        session.mount("https://", _PinnedVerifyAdapter(options.verify))


class _PinnedVerifyAdapter(requests.adapters.HTTPAdapter):
    """An HTTPS adapter that always verifies (or not) as configured, whatever the environment."""

    def __init__(self, verify: bool | str) -> None:
        super().__init__()
        self._verify = verify

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Send with `verify` forced to the configured value."""
        kwargs["verify"] = self._verify
        return super().send(request, *args, **kwargs)
