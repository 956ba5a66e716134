"""`/health`, `/ready` and `/metrics` for a long-running process, on its own small HTTP server.

Liveness means "the main loop is turning": the process calls ``beat()`` from its
loop, and `/health` fails once no beat came for ``stale_after`` seconds.
Readiness is a callable that says whether the process can do its job now, and
why not (the reason is in the response body, for `kubectl describe` and people).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], tuple[bool, str]]


class ProbeServer:
    def __init__(
        self,
        readiness: ReadinessCheck,
        *,
        stale_after: float = 30.0,
        registry: CollectorRegistry = REGISTRY,
        extra_routes: list[web.RouteDef] | None = None,
    ) -> None:
        self._readiness = readiness
        self._stale_after = stale_after
        self._registry = registry
        self._last_beat = time.monotonic()
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/health", self._health),
                web.get("/ready", self._ready),
                web.get("/metrics", self._metrics),
                *(extra_routes or []),
            ]
        )
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    async def _health(self, _request: web.Request) -> web.Response:
        age = time.monotonic() - self._last_beat
        if age > self._stale_after:
            return web.json_response(
                {"status": "stalled", "last_beat_seconds_ago": round(age, 1)}, status=503
            )
        return web.json_response({"status": "ok", "last_beat_seconds_ago": round(age, 1)})

    async def _ready(self, _request: web.Request) -> web.Response:
        ready, reason = self._readiness()
        return web.json_response({"ready": ready, "reason": reason}, status=200 if ready else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port); returns the port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
