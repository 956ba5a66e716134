"""The shared health/metrics server: liveness, named readiness checks, /metrics, the path aliases."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from spyops.common.probes import ProbeServer, readiness_body
from tests.common.serving import serving


async def test_health_follows_the_loop_and_ready_gives_its_reason() -> None:
    registry = CollectorRegistry()
    Counter("spyops_test_things", "things", registry=registry).inc(3)
    state = {"ready": False}
    server = ProbeServer(
        {"gateway": lambda: (state["ready"], "connected" if state["ready"] else "gateway not connected")},
        stale_after=0.3,
        registry=registry,
    )
    async with serving(server) as base, aiohttp.ClientSession() as http:
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


def test_ready_needs_every_named_check_and_names_the_failing_ones() -> None:
    checks = {"api": lambda: (True, "connected"), "role": lambda: (False, "not leading yet")}
    ready, body = readiness_body(checks, lambda: {"leader": False})
    assert not ready
    assert body == {
        "ready": False,
        "reason": "not leading yet",
        "checks": {
            "api": {"ok": True, "reason": "connected"},
            "role": {"ok": False, "reason": "not leading yet"},
        },
        "leader": False,
    }
    ready, body = readiness_body({"api": lambda: (True, "connected"), "role": lambda: (True, "leading")})
    assert ready
    assert body["reason"] == "connected; leading"


async def test_aliases_own_sign_of_life_details_and_extra_routes() -> None:
    """/healthz and /readyz answer like /health and /ready (the operator served both spellings)."""
    last = {"at": time.monotonic()}

    async def hello(_request: web.Request) -> web.Response:
        return web.json_response({"hello": True})

    server = ProbeServer(
        {"listening": lambda: (True, "listening")},
        stale_after=0.3,
        last_sign_of_life=lambda: last["at"],
        ready_details=lambda: {"port": 4002},
        extra_routes=[web.get("/hello", hello)],
    )
    async with serving(server) as base, aiohttp.ClientSession() as http:
        async with http.get(f"{base}/readyz") as r:
            assert r.status == 200
            body = await r.json()
            assert body["port"] == 4002
            assert body["checks"] == {"listening": {"ok": True, "reason": "listening"}}
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200
        last["at"] = time.monotonic() - 1.0  # the process's own loop stopped a second ago
        server.beat()  # beats do not count when the process gives its own sign of life
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 503
        async with http.get(f"{base}/hello") as r:
            assert (await r.json()) == {"hello": True}


async def test_beat_every_keeps_a_turning_loop_alive() -> None:
    server = ProbeServer({}, stale_after=0.2)
    task = asyncio.create_task(server.beat_every(0.02))
    try:
        async with serving(server) as base, aiohttp.ClientSession() as http:
            await asyncio.sleep(0.4)
            async with http.get(f"{base}/health") as r:
                assert r.status == 200
            task.cancel()
            await asyncio.sleep(0.3)
            async with http.get(f"{base}/health") as r:
                assert r.status == 503
    finally:
        task.cancel()
