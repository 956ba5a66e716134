"""The operator's HTTP endpoints: /health (liveness), /ready (readiness), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from spyops.operator.metrics import REGISTRY

# The loop heartbeat must have ticked within this long for /health to pass.
_STALE_AFTER = 30.0


@dataclass
class HealthState:
    """Set by the operator as it comes up; read by the probes."""

    connected: bool = False  # talked to the API server (leader election or first reconcile)
    leader: bool = False
    watching: bool = False  # kopf's watches are up
    standby: bool = False  # leader election on and another replica leads
    heartbeat: float = field(default_factory=time.monotonic)

    @property
    def live(self) -> bool:
        return time.monotonic() - self.heartbeat < _STALE_AFTER

    @property
    def ready(self) -> bool:
        if not self.live or not self.connected:
            return False
        # A standby replica is ready to take over; the leader is ready once it watches.
        return self.standby or (self.leader and self.watching)


async def heartbeat(state: HealthState, interval: float = 2.0) -> None:
    while True:
        state.heartbeat = time.monotonic()
        await asyncio.sleep(interval)


def _app(state: HealthState) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"live": state.live}, status=200 if state.live else 503)

    async def ready(_: web.Request) -> web.Response:
        body = {
            "ready": state.ready,
            "leader": state.leader,
            "watching": state.watching,
            "standby": state.standby,
        }
        return web.json_response(body, status=200 if state.ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/healthz", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(state: HealthState, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start the endpoints; return the runner and the bound port (port 0 picks a free one)."""
    runner = web.AppRunner(_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None)
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    return runner, bound
