"""wsu:Timestamp checks: one Created, one Expires, ordered, and inside the accepted window."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from lxml import etree

from soap_service.faults import WSU_NS
from soap_service.security import errors
from soap_service.security.settings import SecuritySettings
from soap_service.security.wsxml import parse_datetime, q, text_of

CREATED = q(WSU_NS, "Created")
EXPIRES = q(WSU_NS, "Expires")


class TimestampVerifier:
    """Checks one wsu:Timestamp the way WSS4J does; MessageExpired for anything out of range."""

    def __init__(
        self,
        settings: SecuritySettings,
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))

    def verify(self, timestamp: etree._Element) -> None:
        """Return if the Timestamp is well-formed and current; raise a ServiceFault otherwise."""
        created_els: list[etree._Element] = []
        expires_els: list[etree._Element] = []
        for child in timestamp:
            if child.tag == CREATED:
                created_els.append(child)
            elif child.tag == EXPIRES:
                expires_els.append(child)
            elif isinstance(child.tag, str):
                # BSP R3222: only Created and Expires; a stray element could smuggle content.
                raise errors.invalid_security(
                    "Timestamp has an unexpected child element", why="malformed_token")
        if len(created_els) != 1:
            raise errors.invalid_security(
                f"Timestamp has {len(created_els)} Created", why="malformed_token")
        if len(expires_els) > 1 or (
            self._settings.require_timestamp_expires and not expires_els
        ):
            raise errors.invalid_security(
                f"Timestamp has {len(expires_els)} Expires", why="malformed_token")
        created = parse_datetime(text_of(created_els[0]))
        expires = parse_datetime(text_of(expires_els[0])) if expires_els else None
        if created is None or (expires_els and expires is None):
            raise errors.invalid_security(
                "Timestamp value is not an xsd:dateTime with a timezone", why="malformed_token")
        if expires is not None and expires <= created:
            raise errors.invalid_security(
                "Timestamp Expires is not after Created", why="malformed_token")

        now = self._clock()
        if created > now + datetime.timedelta(seconds=self._settings.future_skew_seconds):
            raise errors.message_expired("Timestamp Created is in the future", why="timing")
        if created < now - datetime.timedelta(seconds=self._settings.max_age_seconds):
            raise errors.message_expired("Timestamp Created is too old", why="timing")
        if expires is not None and expires <= now:
            raise errors.message_expired("Timestamp has expired", why="timing")
