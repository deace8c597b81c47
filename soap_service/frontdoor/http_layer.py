"""Fitting the front door's HTTP layer onto a twisted.web Site: limited requests, channels with
deadlines, the idle timeout, rate-limited refusal logs, and the connection caps around it."""

from __future__ import annotations

import functools

from twisted.web import server

from soap_service.core.observers import ReplyExit
from soap_service.frontdoor import refusal_log
from soap_service.frontdoor.channel import Deadlines, FrontDoorChannel
from soap_service.frontdoor.connection_caps import ConnectionCaps
from soap_service.frontdoor.forwarded import ProxyTrust, parse_network
from soap_service.frontdoor.limited_request import limited_request_factory
from soap_service.frontdoor.settings import FrontDoorSettings


def install_front_door(site: server.Site, settings: FrontDoorSettings,
                       reply_exit: ReplyExit | None = None) -> None:
    """Configure `site` (built with `reactor=`) to enforce the body cap and the deadlines.

    The Site's channels become FrontDoorChannel (plain HTTP/1.1: HTTP/2 is never negotiated),
    its requests LimitedRequest; `Site.timeOut` becomes the idle keep-alive timeout. Refusals
    are reported to `reply_exit` (the pipeline's), like every other answer.
    """
    site.requestFactory = limited_request_factory(settings.max_body_bytes)
    deadlines = Deadlines(settings.header_timeout, settings.body_timeout)
    # HTTPFactory.buildProtocol calls self.protocol() and then sets callLater from the Site's
    # reactor and timeOut from the Site, so the channel never touches the global reactor.
    site.protocol = functools.partial(  # type: ignore[assignment]
        FrontDoorChannel, deadlines, reply_exit)
    site.timeOut = settings.idle_timeout
    refusal_log.configure(settings.refusal_log_rate, settings.refusal_log_burst)


def cap_connections(site: server.Site, settings: FrontDoorSettings,
                    reply_exit: ReplyExit | None = None) -> ConnectionCaps:
    """The factory to listen with: `site` behind the per-address and total connection caps."""
    proxies = ProxyTrust(parse_network(n) for n in settings.trusted_proxies)
    return ConnectionCaps(
        site,
        max_total=settings.max_connections,
        max_per_peer=settings.max_connections_per_ip,
        uncapped_peer=proxies.trusts,
        reply_exit=reply_exit,
    )
