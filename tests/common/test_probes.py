"""/health, /ready and /metrics of the shared probe server."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from spyops.common.probes import ProbeServer


async def test_health_follows_the_loop_and_ready_gives_its_reason() -> None:
    registry = CollectorRegistry()
    Counter("spyops_test_things", "things", registry=registry).inc(3)
    state = {"ready": False}
    server = ProbeServer(
        lambda: (state["ready"], "connected" if state["ready"] else "gateway not connected"),
        stale_after=0.3,
        registry=registry,
    )
    port = await server.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/ready") as r:
                assert r.status == 503
                assert (await r.json())["reason"] == "gateway not connected"
            state["ready"] = True
            async with http.get(f"{base}/ready") as r:
                assert r.status == 200
            server.beat()
            async with http.get(f"{base}/health") as r:
                assert r.status == 200
            await asyncio.sleep(0.4)  # no beat: the loop is considered stuck
            async with http.get(f"{base}/health") as r:
                assert r.status == 503
                assert (await r.json())["status"] == "stalled"
            async with http.get(f"{base}/metrics") as r:
                assert "spyops_test_things_total 3.0" in await r.text()
    finally:
        await server.stop()
