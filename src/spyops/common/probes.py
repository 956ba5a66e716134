"""The one health/metrics server of every long-running spyops process (aiohttp).

Paths, the same in every process (the chart, the Deployments the operator builds and the
Prometheus scrape configs use them):

- ``/health`` (alias ``/healthz``): liveness, "the main loop is turning". By default the
  process calls :meth:`ProbeServer.beat` from its loop (or runs :meth:`ProbeServer.beat_every`
  when a turning event loop is all it means); a process with its own sign of life passes
  ``last_sign_of_life``. It fails with 503 once that is older than ``stale_after`` seconds.
- ``/ready`` (alias ``/readyz``): readiness from named checks, each saying whether the
  process can do that part of its job now and why not. 200 only when all pass; the body
  gives each check's result and the reasons, for `kubectl describe` and people.
- ``/metrics``: the process's Prometheus registry in the text format.

A process with more HTTP endpoints on the same port (the detector's signal stream, the
gateway simulator's control API) adds them as ``extra_routes`` or on :attr:`app`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], tuple[bool, str]]
ReadyDetails = Callable[[], Mapping[str, object]]


def readiness_body(
    checks: Mapping[str, ReadinessCheck], details: ReadyDetails | None = None
) -> tuple[bool, dict[str, object]]:
    """Run the named checks; the reason is the failing checks' reasons (all reasons when ready)."""
    results = {name: check() for name, check in checks.items()}
    ready = all(ok for ok, _ in results.values())
    reasons = [reason for ok, reason in results.values() if ok is ready and reason]
    body: dict[str, object] = {
        "ready": ready,
        "reason": "; ".join(reasons),
        "checks": {name: {"ok": ok, "reason": reason} for name, (ok, reason) in results.items()},
    }
    if details is not None:
        body.update(details())
    return ready, body


class ProbeServer:
    def __init__(
        self,
        checks: Mapping[str, ReadinessCheck],
        *,
        stale_after: float = 30.0,
        last_sign_of_life: Callable[[], float] | None = None,
        registry: CollectorRegistry = REGISTRY,
        ready_details: ReadyDetails | None = None,
        extra_routes: list[web.RouteDef] | None = None,
    ) -> None:
        """``last_sign_of_life`` returns a ``time.monotonic()`` instant; the default is the last beat."""
        self._checks = dict(checks)
        self._stale_after = stale_after
        self._last_sign_of_life = last_sign_of_life or self._last_beat_at
        self._ready_details = ready_details
        self._registry = registry
        self._last_beat = time.monotonic()
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/health", self._health),
                web.get("/healthz", self._health),
                web.get("/ready", self._ready),
                web.get("/readyz", self._ready),
                web.get("/metrics", self._metrics),
                *(extra_routes or []),
            ]
        )
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def _last_beat_at(self) -> float:
        return self._last_beat

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    async def beat_every(self, interval: float) -> None:
        """Beat while the event loop turns: liveness for a process whose work is all callbacks."""
        while True:
            self.beat()
            await asyncio.sleep(interval)

    async def _health(self, _request: web.Request) -> web.Response:
        age = time.monotonic() - self._last_sign_of_life()
        if age > self._stale_after:
            return web.json_response(
                {"status": "stalled", "last_beat_seconds_ago": round(age, 1)}, status=503
            )
        return web.json_response({"status": "ok", "last_beat_seconds_ago": round(age, 1)})

    async def _ready(self, _request: web.Request) -> web.Response:
        ready, body = readiness_body(self._checks, self._ready_details)
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port); returns the port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server  # aiohttp exposes the bound socket only here
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
