"""The options both clients share: endpoint, credentials, TLS (named as in httpx) and signing.

`verify=` (True, False, or a CA bundle path) and `cert=` (a PEM file holding certificate and
key, or a `(certificate, key)` pair) configure TLS exactly as httpx and requests name them;
the WS-Security X.509 signature has its own `signing_cert=`/`signing_key=`. The keywords of
earlier releases (`ca=`, `tls_client_cert=`/`tls_client_key=`, and `cert=`/`key=` for signing)
still work and emit a DeprecationWarning naming the new keyword.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import warnings
from typing import Any

TlsCert = str | tuple[str, str]
Verify = bool | str


@dataclasses.dataclass(frozen=True)
class ClientOptions:
    """Validated settings of one client; `password` never appears in repr."""

    url: str
    timeout: float
    username: str | None
    password: str | None = dataclasses.field(repr=False)
    digest: bool
    verify: Verify
    cert: TlsCert | None
    signing_cert: str | None
    signing_key: str | None

    def describe(self, cls_name: str) -> str:
        """The repr of a client with these options: secrets masked, defaults left out."""
        parts = [f"url={self.url!r}", f"timeout={self.timeout!r}"]
        if self.username:
            parts += [f"username={self.username!r}", "password='***'"]
        if self.verify is not True:
            parts.append(f"verify={self.verify!r}")
        if self.cert is not None:
            parts.append(f"cert={self.cert!r}")
        if self.signing_cert is not None:
            parts.append(f"signing_cert={self.signing_cert!r}, signing_key='***'")
        return f"{cls_name}({', '.join(parts)})"

    def cert_pair(self) -> tuple[str, str | None] | None:
        """The TLS client certificate as (certificate file, key file or None)."""
        if self.cert is None:
            return None
        if isinstance(self.cert, str):
            return self.cert, None
        return self.cert[0], self.cert[1]

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What httpx's `verify=` wants: True/False, or a context with our CA and client cert."""
        pair = self.cert_pair()
        if pair is None and isinstance(self.verify, bool):
            return self.verify
        if self.verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif isinstance(self.verify, str):
            context = ssl.create_default_context(cafile=self.verify)
        else:
            import certifi  # requests' and httpx's default trust store

            context = ssl.create_default_context(cafile=certifi.where())
        if pair is not None:
            context.load_cert_chain(pair[0], pair[1])
        return context


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"HighwayClient({old}) is deprecated; use {new}", DeprecationWarning,
                  stacklevel=4)


def _require_file(keyword: str, path: str) -> None:
    if not os.path.isfile(path):
        raise ValueError(f"{keyword}{path!r}: no such file")


def resolve_options(
    *,
    url: str | None,
    timeout: float,
    username: str | None,
    password: str | None,
    digest: bool,
    verify: Verify,
    cert: TlsCert | None,
    signing_cert: str | None,
    signing_key: str | None,
    legacy: dict[str, Any],
) -> ClientOptions:
    """Apply the environment fallback and the deprecated keywords; ValueError on misuse.

    `legacy` holds the old keywords that were given: key, tls_client_cert, tls_client_key, ca.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds above 0, not {timeout!r}")
    # Explicit arguments win; otherwise the same variables the CLI reads.
    url = url or os.environ.get("HIGHWAY_URL")
    if not url:
        raise ValueError("url= is required (or set HIGHWAY_URL)")
    if username is None:
        username = os.environ.get("HIGHWAY_USERNAME") or None
    if username is not None and password is None:
        password = os.environ.get("HIGHWAY_PASSWORD") or None
    old_key = legacy.get("key")
    if old_key is not None:
        # Before: cert=/key= named the WS-Security signing pair. cert= is now TLS (httpx).
        if not isinstance(cert, str):
            raise ValueError("key= (deprecated) needs cert=; use signing_cert=/signing_key=")
        if signing_cert is not None or signing_key is not None:
            raise ValueError("give signing_cert=/signing_key= or the deprecated cert=/key=, "
                             "not both")
        _deprecated("cert=..., key=... for the WS-Security signature",
                    "signing_cert=..., signing_key=... (cert= is now the TLS client "
                    "certificate, as in httpx)")
        signing_cert, signing_key, cert = cert, old_key, None
    old_tls = (legacy.get("tls_client_cert"), legacy.get("tls_client_key"))
    if old_tls != (None, None):
        if None in old_tls:
            raise ValueError("tls_client_cert= and tls_client_key= go together")
        if cert is not None:
            raise ValueError("give cert= or the deprecated tls_client_cert=, not both")
        _deprecated("tls_client_cert=..., tls_client_key=...", "cert=(certfile, keyfile)")
        cert = (str(old_tls[0]), str(old_tls[1]))
    old_ca = legacy.get("ca")
    if old_ca is not None:
        if verify is not True:
            raise ValueError("give verify= or the deprecated ca=, not both")
        _deprecated("ca=...", "verify='ca.pem'")
        verify = str(old_ca)
    if not isinstance(verify, (bool, str)):
        raise ValueError("verify= takes True, False or the path of a CA bundle (PEM)")
    if isinstance(verify, str):
        _require_file("verify=", verify)
    if cert is not None:
        files = (cert,) if isinstance(cert, str) else tuple(cert)
        if len(files) != 2 and not isinstance(cert, str):
            raise ValueError("cert= takes 'client.pem' or ('client.pem', 'key.pem')")
        for path in files:
            _require_file("cert=", path)
    if (signing_cert is None) != (signing_key is None):
        raise ValueError("signing_cert= and signing_key= go together")
    return ClientOptions(url=url, timeout=float(timeout), username=username, password=password,
                         digest=digest, verify=verify, cert=cert, signing_cert=signing_cert,
                         signing_key=signing_key)
