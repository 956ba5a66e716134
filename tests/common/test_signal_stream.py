"""The detector -> bot signal stream over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from spyops.signalstream import SignalEnvelope, SignalLog, add_signal_stream, subscribe
from tests.factories import make_signal


async def _serve(log: SignalLog, port: int = 0) -> tuple[web.AppRunner, int]:
    app = web.Application()
    add_signal_stream(app, log)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def _take(stream: AsyncIterator[SignalEnvelope], n: int) -> list[SignalEnvelope]:
    got = []
    async with asyncio.timeout(20):
        async for envelope in stream:
            got.append(envelope)
            if len(got) == n:
                break
    return got


async def test_subscriber_gets_backlog_then_live_signals_in_order() -> None:
    log = SignalLog()
    runner, port = await _serve(log)
    try:
        for n in range(3):
            await log.append(make_signal(n))
        stream = subscribe(f"http://127.0.0.1:{port}")
        backlog = await _take(stream, 3)
        assert [e.seq for e in backlog] == [1, 2, 3]
        assert [e.signal.id for e in backlog] == [make_signal(n).id for n in range(3)]
        await log.append(make_signal(3))
        live = await _take(stream, 1)
        assert live[0].seq == 4
        assert live[0].signal == make_signal(3)
        await stream.aclose()  # type: ignore[attr-defined]
    finally:
        await runner.cleanup()


async def test_subscriber_resumes_after_the_server_goes_away() -> None:
    log = SignalLog()
    runner, port = await _serve(log)
    stream = subscribe(f"http://127.0.0.1:{port}", heartbeat_timeout=2.0)
    try:
        await log.append(make_signal(0))
        assert [e.seq for e in await _take(stream, 1)] == [1]
        await runner.cleanup()  # the detector's HTTP side dies; the log (same process) survives
        await log.append(make_signal(1))
        await log.append(make_signal(2))
        runner, _ = await _serve(log, port)
        resumed = await _take(stream, 2)
        assert [e.seq for e in resumed] == [2, 3], "no gap and no repeat after a reconnect"
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await runner.cleanup()


async def test_a_new_detector_epoch_restarts_from_its_beginning() -> None:
    first = SignalLog(epoch="a" * 16)
    runner, port = await _serve(first)
    stream = subscribe(f"http://127.0.0.1:{port}", heartbeat_timeout=2.0)
    try:
        for n in range(5):
            await first.append(make_signal(n))
        assert (await _take(stream, 5))[-1].seq == 5
        await runner.cleanup()
        second = SignalLog(epoch="b" * 16)  # detector restarted: new epoch, sequence starts again
        await second.append(make_signal(100))
        runner, _ = await _serve(second, port)
        again = await _take(stream, 1)
        assert (again[0].epoch, again[0].seq) == ("b" * 16, 1)
        assert again[0].signal == make_signal(100)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await runner.cleanup()


@pytest.mark.parametrize("after", ["-1", "x"])
async def test_bad_resume_point_is_a_clear_400(after: str) -> None:
    runner, port = await _serve(SignalLog())
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/v1/signals/stream", params={"after": after}) as response,
        ):
            assert response.status == 400
            assert "after" in await response.text()
    finally:
        await runner.cleanup()


async def test_a_record_carries_the_trace_context_it_was_published_in() -> None:
    log = SignalLog()
    runner, port = await _serve(log)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    try:
        await log.append(make_signal(0), traceparent=parent)
        await log.append(make_signal(1))  # not traced: no traceparent in its record
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/v1/signals/stream") as r,
        ):
            lines = []
            async with asyncio.timeout(20):
                async for raw in r.content:
                    lines.append(raw)
                    if len(lines) == 3:
                        break
        assert f'"traceparent":"{parent}"'.encode() in lines[1]
        assert b"traceparent" not in lines[2]
        stream = subscribe(f"http://127.0.0.1:{port}")
        traced, untraced = await _take(stream, 2)
        assert traced.traceparent == parent
        assert untraced.traceparent is None
        await stream.aclose()  # type: ignore[attr-defined]
    finally:
        await runner.cleanup()


async def test_a_busy_detector_is_retried_after_its_retry_after() -> None:
    """A 503 with Retry-After: 1 makes the subscriber wait a second, not its 0..0.1 s first backoff."""
    log = SignalLog()
    arrivals: list[float] = []

    @web.middleware
    async def busy_once(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            return web.Response(status=503, headers={"Retry-After": "1"}, text="busy")
        return await handler(request)

    app = web.Application(middlewares=[busy_once])
    add_signal_stream(app, log)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stream = subscribe(f"http://127.0.0.1:{port}")
    try:
        await log.append(make_signal(0))
        assert [e.seq for e in await _take(stream, 1)] == [1]
        assert len(arrivals) == 2
        assert arrivals[1] - arrivals[0] >= 0.95
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await runner.cleanup()
