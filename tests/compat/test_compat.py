"""Every library internal soap_service/compat/ relies on still behaves as the code expects."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time

import pytest
from spyne import Application, MethodContext, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server import ServerBase
from twisted.internet.asyncioreactor import AsyncioSelectorReactor
from twisted.internet.testing import StringTransport
from twisted.web import resource, server
from twisted.web.http import HTTPChannel

from soap_service.compat import UnsupportedVersion, require, twisted_http
from soap_service.compat import limits as limits_compat
from soap_service.compat import spyne as spyne_compat


def test_version_outside_the_tested_range_fails_with_the_range() -> None:
    assert require("twisted", "24.7.0", "27", installed="26.10.0") == "26.10.0"
    with pytest.raises(UnsupportedVersion, match=r"twisted 27\.1\.0 .*>= 24\.7\.0, < 27"):
        require("twisted", "24.7.0", "27", installed="27.1.0")
    with pytest.raises(UnsupportedVersion, match="limits 4.9 is installed"):
        require("limits", "5.0", "5.9", installed="4.9")


class _Hold(resource.Resource):
    """Never finishes a request, so the channel stays 'handling' it."""

    isLeaf = True

    def render(self, request: server.Request) -> int:
        return server.NOT_DONE_YET


def _channel() -> tuple[HTTPChannel, StringTransport]:
    site = server.Site(_Hold())
    site.protocol = HTTPChannel  # as the front door installs its channel: no HTTP/2 wrapper
    channel = site.buildProtocol(None)
    transport = StringTransport()
    channel.makeConnection(transport)
    return channel, transport


def test_twisted_partial_line_and_pipelined_bytes_are_visible() -> None:
    channel, _transport = _channel()
    assert not twisted_http.has_partial_input(channel)
    channel.dataReceived(b"GET /a HT")  # part of a request line: LineReceiver's buffer
    assert twisted_http.has_partial_input(channel)
    channel.dataReceived(b"TP/1.1\r\nHost: x\r\n\r\n")
    assert twisted_http.handling_request(channel)  # the resource holds the request
    pipelined = b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    channel.dataReceived(pipelined)
    assert twisted_http.buffered_pipelined_bytes(channel) == len(pipelined)
    assert twisted_http.has_partial_input(channel)
    assert twisted_http.take_pipelined(channel) == pipelined
    assert twisted_http.buffered_pipelined_bytes(channel) == 0
    twisted_http.set_handling_request(channel, False)
    assert not twisted_http.handling_request(channel)


def test_twisted_100_continue_hook_writes_the_interim_answer() -> None:
    channel, transport = _channel()
    channel.dataReceived(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                         b"Expect: 100-continue\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 100 Continue\r\n")
    transport.clear()
    getattr(channel, twisted_http.SEND_100_CONTINUE)()  # the hook FrontDoorChannel overrides
    assert transport.value().startswith(b"HTTP/1.1 100 Continue\r\n")


def test_twisted_flow_control_internals() -> None:
    site = server.Site(_Hold())
    site.protocol = HTTPChannel
    site.timeOut = 30
    channel = site.buildProtocol(None)
    transport = StringTransport()
    channel.makeConnection(transport)
    assert twisted_http.network_producer(channel) is transport
    assert twisted_http.eager_read_size(channel) > 0
    channel.dataReceived(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")  # held by the resource
    assert twisted_http.saved_idle_timeout(channel) == 30  # suspended while handling
    assert not twisted_http.waiting_for_transport(channel)
    channel.pauseProducing()  # what the transport calls when its send buffer is full
    assert twisted_http.waiting_for_transport(channel)
    channel.resumeProducing()
    assert not twisted_http.waiting_for_transport(channel)


def test_twisted_bad_framing_goes_through_the_overridable_hook() -> None:
    channel, transport = _channel()
    called: list[bool] = []
    setattr(channel, twisted_http.RESPOND_BAD_REQUEST, lambda: called.append(True))
    channel.dataReceived(b"BANANA\r\n")  # not a request line
    assert called == [True] and transport.value() == b""  # the hook answers, Twisted does not


def test_limits_redis_storage_key_and_script() -> None:
    from limits.aio.storage import RedisStorage

    async def scenario() -> None:
        # Nothing listens on port 1: building the storage registers the script, sends nothing.
        storage = RedisStorage("async+redis://127.0.0.1:1", implementation="redispy")
        assert limits_compat.redis_key(storage, "k") == "LIMITS:k"
        sha, source = limits_compat.incr_expire_script(storage)
        assert sha == hashlib.sha1(source).hexdigest()
        assert b"incrby" in source.lower() and b"expire" in source.lower()

    asyncio.run(scenario())


def test_twisted_asyncio_reactor_exposes_its_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        assert twisted_http.asyncio_loop(AsyncioSelectorReactor(loop)) is loop
        assert twisted_http.asyncio_loop(object()) is None
    finally:
        loop.close()


def test_limits_memory_storage_asks_before_each_sweep() -> None:
    class Counting(limits_compat.ThrottledSweepMemoryStorage):
        allow = False
        asked = 0

        def should_sweep(self) -> bool:
            self.asked += 1
            return self.allow

    async def scenario() -> None:
        storage = Counting()
        await asyncio.sleep(0)  # the sweep limits schedules at construction
        asked = storage.asked
        await storage.incr("k", 1)
        assert storage.asked == asked + 1 and storage.timer is None  # refused: no sweep task
        storage.allow = True
        await storage.incr("k", 1)
        assert storage.timer is not None  # allowed: limits started its sweep
        await storage.timer
        assert await storage.get("k") == 2

    asyncio.run(scenario())


class _Echo(ServiceBase):
    @rpc(Unicode, _returns=Unicode)
    def Echo(ctx, text):  # noqa: N802, N805 - Spyne's operation signature
        """Answer the text."""
        return text.upper()


def test_spyne_call_and_serialize_runs_the_operation_without_the_catch_all() -> None:
    app = Application([_Echo], "urn:compat-test", in_protocol=Soap11(), out_protocol=Soap11())
    spyne_server = ServerBase(app)
    ctx = MethodContext(spyne_server, MethodContext.SERVER)
    ctx.in_string = [
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:t="urn:compat-test"><e:Body><t:Echo><t:text>abc</t:text></t:Echo>'
        b"</e:Body></e:Envelope>"
    ]
    (ctx, *_others) = spyne_server.generate_contexts(ctx)
    spyne_server.get_in_object(ctx)
    assert ctx.in_error is None
    answer = spyne_compat.call_and_serialize(app, spyne_server, ctx)
    assert b"EchoResponse" in answer and b">ABC<" in answer


def test_the_pinned_versions_are_inside_the_fenced_ranges() -> None:
    """setup.cfg's exact pins and the compat modules' tested ranges agree."""
    import configparser

    from tests.conftest import ROOT

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    pins = dict(
        line.strip().split("==", 1)
        for line in config["options"]["install_requires"].splitlines()
        if "==" in line
    )
    for name, module in (("twisted[tls]", twisted_http), ("limits", limits_compat),
                         ("spyne", spyne_compat)):
        require(name.split("[")[0], *module.TESTED_RANGE, installed=pins[name])


def test_limits_memory_incr_without_the_lock_counts_as_limits_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from limits.aio.storage import MemoryStorage

    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    rng = random.Random(5)

    class NoSweep(limits_compat.ThrottledSweepMemoryStorage):
        def should_sweep(self) -> bool:
            return False

    async def scenario() -> None:
        ours, theirs = NoSweep(), MemoryStorage()
        for _ in range(3000):
            key, expiry, amount = rng.choice("abcd"), rng.choice([1, 2, 5]), rng.choice([1, 1, 3])
            assert await ours.incr(key, expiry, amount) == await theirs.incr(key, expiry, amount)
            assert await ours.get_expiry(key) == await theirs.get_expiry(key)
            now[0] += rng.choice([0.0, 0.1, 0.7, 2.5])
            assert await ours.get(key) == await theirs.get(key)
        if theirs.timer is not None:
            theirs.timer.cancel()

    asyncio.run(scenario())


def test_redis_replies_are_parsed_by_hiredis() -> None:
    # setup.cfg installs hiredis for it; without it redis-py quietly parses in Python.
    from redis.asyncio.connection import DefaultParser
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE and DefaultParser.__name__ == "_AsyncHiredisParser"
