"""The control API: a small HTTP JSON API for tests and demos, in the simulator's loop.

See workloads/gateway-sim/README.md for the endpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from spyops.common.json_body import read_model
from spyops.common.probes import ProbeServer
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

    body: AnomalyRequest = await read_model(request, AnomalyRequest, empty_is_defaults=True)
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
    body: RestoredRequest = await read_model(request, RestoredRequest, empty_is_defaults=True)
    _server(request).gateway.set_connectivity(True, data_lost=body.data_lost)
    return web.json_response({"connectivityOk": True, "dataLost": body.data_lost})


async def restart(request: web.Request) -> web.Response:
    body: RestartRequest = await read_model(request, RestartRequest, empty_is_defaults=True)
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


def _listening(server: GatewayServer) -> tuple[bool, str]:
    if server.listening:
        return True, f"listening on port {server.port}"
    return False, "the API port is not listening"


def _not_restarting(server: GatewayServer) -> tuple[bool, str]:
    return (False, "restarting") if server.restarting else (True, "not restarting")


def build_control_server(server: GatewayServer) -> ProbeServer:
    """The shared probe server (/health: the market loop turns; /ready; /metrics) plus the control API."""
    probes = ProbeServer(
        {"listening": lambda: _listening(server), "restart": lambda: _not_restarting(server)},
        stale_after=LIVENESS_STALL_SECONDS,
        last_sign_of_life=lambda: server.last_cycle_wall,
        registry=server.gateway.metrics.registry,
        ready_details=lambda: {
            "listening": server.listening,
            "restarting": server.restarting,
            "port": server.port,
        },
        extra_routes=[
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
        ],
    )
    probes.app[SERVER_KEY] = server
    return probes
