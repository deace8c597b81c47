"""Replay protection on top of the shared ReplayCache: hashed keys, the full window, fail closed."""

from __future__ import annotations

import hashlib

from soap_service.security import errors
from soap_service.state.replay import ReplayCache, StateUnavailable


class ReplayGuard:
    """Refuses a (kind, owner, value) seen within the acceptance window; fails closed."""

    def __init__(self, cache: ReplayCache, window_seconds: float) -> None:
        self._cache = cache
        # Remember each entry a little longer than a message can be accepted, so no replay
        # can arrive after its entry expired but while its Created is still in the window.
        self._ttl = window_seconds + 1.0

    async def first_use(self, kind: str, owner: str, value: bytes) -> None:
        """Record the value; raise wsse:InvalidSecurity if it was seen, Server.Unavailable if
        the cache cannot answer. Keys are hashed: nonces never sit in Redis or logs in clear."""
        digest = hashlib.sha256(owner.encode("utf-8") + b"\x00" + value).hexdigest()
        try:
            fresh = await self._cache.first_seen(f"wss:{kind}:{digest}", self._ttl)
        except StateUnavailable as exc:
            raise errors.state_unavailable(f"replay cache unavailable: {exc}") from exc
        if not fresh:
            raise errors.invalid_security(f"replayed {kind} for {owner[:64]!r}", why="replay")
