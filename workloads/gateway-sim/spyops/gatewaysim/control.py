"""The control API: a small HTTP JSON API for tests and demos, in the simulator's loop.

See workloads/gateway-sim/README.md for the endpoints.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spyops.schemas import AnomalyKind, OptionRight

if TYPE_CHECKING:
    from spyops.gatewaysim.server import GatewayServer

SERVER_KEY = web.AppKey("gateway_server", object)
LIVENESS_STALL_SECONDS = 5.0


class AnomalyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AnomalyKind
    strike: float | None = Field(default=None, gt=0)
    right: OptionRight | None = None
    size: float | None = None
    duration_seconds: float | None = Field(default=None, gt=0)


class RestoredRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_lost: bool = False


class RestartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    downtime_seconds: float = Field(default=2.0, ge=0, le=600)


def _percentiles_ms(samples: list[float]) -> dict[str, float] | None:
    if not samples:
        return None
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"count": len(ordered), "p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1] * 1000, 3)}


def _server(request: web.Request) -> GatewayServer:
    return request.app[SERVER_KEY]  # type: ignore[return-value]


async def _body(request: web.Request, model: type[BaseModel]) -> Any:
    raw = await request.read()
    if not raw.strip():
        data: object = {}
    else:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps(
                    {"error": f"body is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"}
                ),
                content_type="application/json",
            ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]) or "<body>", "error": err["msg"]}
            for err in exc.errors()
        ]
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "invalid request body", "problems": problems}),
            content_type="application/json",
        ) from exc


async def health(request: web.Request) -> web.Response:
    server = _server(request)
    stalled = time.monotonic() - server.last_cycle_wall
    ok = stalled < LIVENESS_STALL_SECONDS
    return web.json_response(
        {"status": "ok" if ok else "stalled", "marketLoopAgeSeconds": round(stalled, 3)},
        status=200 if ok else 503,
    )


async def ready(request: web.Request) -> web.Response:
    server = _server(request)
    ok = server.listening and not server.restarting
    return web.json_response(
        {"ready": ok, "listening": server.listening, "restarting": server.restarting, "port": server.port},
        status=200 if ok else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(_server(request).gateway.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def state(request: web.Request) -> web.Response:
    server = _server(request)
    gateway = server.gateway
    return web.json_response(
        {
            "sessionTime": gateway.now().isoformat(),
            "underlying": gateway.catalog.underlying,
            "expiry": gateway.catalog.expiry.isoformat(),
            "strikes": len(gateway.catalog.strikes),
            "port": server.port,
            "listening": server.listening,
            "restarting": server.restarting,
            "restarts": server.restarts,
            "connectivityOk": gateway.connectivity_ok,
            "marketDataPaused": gateway.market_data_paused,
            "marketDataLines": len(gateway.subscribers),
            "marketDataLineBudget": gateway.config.market_data_lines,
            "connectedClients": sorted(gateway.clients),
            "openOrders": len(gateway.open_orders),
            "orders": len(gateway.orders_by_perm),
            "executions": len(gateway.executions),
            "scenarioEventsFired": server.events_fired,
            "orderToFillMs": _percentiles_ms(list(gateway.fill_latencies)),
        }
    )


async def clients(request: web.Request) -> web.Response:
    return web.json_response(_server(request).gateway.clients_json())


async def orders(request: web.Request) -> web.Response:
    order_ref = request.query.get("orderRef")
    return web.json_response(_server(request).gateway.orders_json(order_ref))


async def executions(request: web.Request) -> web.Response:
    return web.json_response([e.to_json() for e in _server(request).gateway.executions])


async def positions(request: web.Request) -> web.Response:
    return web.json_response(_server(request).gateway.positions_json())


async def account(request: web.Request) -> web.Response:
    gateway = _server(request).gateway
    values = {tag: round(value, 2) for tag, value in gateway.account_values().items()}
    return web.json_response({"account": gateway.config.account, "values": values})


async def inject_anomaly(request: web.Request) -> web.Response:
    from spyops.gatewaysim.server import describe

    body: AnomalyRequest = await _body(request, AnomalyRequest)
    server = _server(request)
    try:
        injected = server.gateway.inject(
            body.kind,
            strike=body.strike,
            right=body.right,
            size=body.size,
            duration_seconds=body.duration_seconds,
        )
    except (ValueError, KeyError) as exc:
        return web.json_response({"error": f"the market model refused the anomaly: {exc}"}, status=422)
    return web.json_response({"injected": describe(injected)}, status=201)


async def drop_connections(request: web.Request) -> web.Response:
    return web.json_response({"dropped": _server(request).gateway.drop_all_connections()})


async def connectivity_lost(request: web.Request) -> web.Response:
    _server(request).gateway.set_connectivity(False)
    return web.json_response({"connectivityOk": False})


async def connectivity_restored(request: web.Request) -> web.Response:
    body: RestoredRequest = await _body(request, RestoredRequest)
    _server(request).gateway.set_connectivity(True, data_lost=body.data_lost)
    return web.json_response({"connectivityOk": True, "dataLost": body.data_lost})


async def restart(request: web.Request) -> web.Response:
    body: RestartRequest = await _body(request, RestartRequest)
    server = _server(request)
    if server.restarting:
        return web.json_response({"error": "a restart is already in progress"}, status=409)
    server.spawn(server.restart(body.downtime_seconds))
    return web.json_response({"restarting": True, "downtimeSeconds": body.downtime_seconds}, status=202)


async def pause_market_data(request: web.Request) -> web.Response:
    _server(request).gateway.set_market_data_paused(True)
    return web.json_response({"marketDataPaused": True})


async def resume_market_data(request: web.Request) -> web.Response:
    _server(request).gateway.set_market_data_paused(False)
    return web.json_response({"marketDataPaused": False})


def build_control_app(server: GatewayServer) -> web.Application:
    app = web.Application()
    app[SERVER_KEY] = server
    app.add_routes(
        [
            web.get("/health", health),
            web.get("/ready", ready),
            web.get("/metrics", metrics),
            web.get("/state", state),
            web.get("/clients", clients),
            web.get("/orders", orders),
            web.get("/executions", executions),
            web.get("/positions", positions),
            web.get("/account", account),
            web.post("/anomalies", inject_anomaly),
            web.post("/connections/drop", drop_connections),
            web.post("/connectivity/lost", connectivity_lost),
            web.post("/connectivity/restored", connectivity_restored),
            web.post("/restart", restart),
            web.post("/market-data/pause", pause_market_data),
            web.post("/market-data/resume", resume_market_data),
        ]
    )
    return app
