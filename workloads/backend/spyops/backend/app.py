"""The backend's FastAPI application: ingest, history, ledger, live stream, probes and the dashboard.

Write endpoints (``POST /v1/...``) need ``Authorization: Bearer <token>``. Read endpoints, the live
stream and the dashboard are open to anyone who can reach the service: they carry market and
paper-trading data, and the service is meant to sit behind the cluster's network policy (or the
Azure side's access restrictions), not on the open internet.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from spyops.backend import ledger
from spyops.backend.auth import BearerAuth
from spyops.backend.hub import DEFAULT_QUEUE_SIZE, Hub
from spyops.backend.ingest import MAX_BATCH, IngestError, parse_one, parse_records
from spyops.backend.metrics import BackendMetrics
from spyops.backend.origins import stream_origin_allowed
from spyops.backend.signalr import SignalRConnection, SignalRPublisher
from spyops.backend.store import (
    MAX_PAGE_SIZE,
    HistoryQuery,
    InvalidCursorError,
    Store,
    StoreError,
    StoreLimitError,
    WriteResult,
)
from spyops.schemas import AnomalyKind, ChainSnapshot, Execution, OptionContract, OrderUpdate, Signal

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 8 * 1024 * 1024
DASHBOARD_CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'"
)
API_VERSION = "v1"

M = TypeVar("M", Signal, Execution, OrderUpdate)


# --- response models ----------------------------------------------------------


class IngestResult(BaseModel):
    stored: int = Field(description="Records stored by this call.")
    duplicates: int = Field(description="Records whose id was already stored (replays); ignored.")
    stored_ids: list[str]
    duplicate_ids: list[str]


class SignalPage(BaseModel):
    items: list[Signal]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


class ExecutionPage(BaseModel):
    items: list[Execution]
    next_cursor: str | None


class OrderUpdatePage(BaseModel):
    items: list[OrderUpdate]
    next_cursor: str | None


class PositionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    contract: OptionContract
    quantity: int = Field(description="Signed: positive long, negative short.")
    average_cost: float = Field(description="Average cost per share of the open quantity.")
    realized_pnl: float = Field(description="Dollars realized on this contract, before commissions.")
    commissions: float
    last_fill: dt.datetime


class PositionList(BaseModel):
    items: list[PositionOut]
    realized_pnl: float
    commissions: float


class DailyPnlOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: dt.date = Field(description="Trading day in America/New_York.")
    realized_pnl: float
    commissions: float
    net_pnl: float
    fills: int
    contracts: int


class DailyPnlList(BaseModel):
    items: list[DailyPnlOut]


class Probe(BaseModel):
    status: str
    detail: str = ""


class Problem(BaseModel):
    detail: str


def history_query(
    strategy: Annotated[str | None, Query(max_length=200, description="namespace/name")] = None,
    since: Annotated[dt.datetime | None, Query(description="Inclusive, with timezone")] = None,
    until: Annotated[dt.datetime | None, Query(description="Exclusive, with timezone")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the previous page")
    ] = None,
) -> HistoryQuery:
    for name, value in (("since", since), ("until", until)):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise HTTPException(
                status_code=422,
                detail=[{"loc": ["query", name], "msg": "must carry a timezone", "type": "timezone_aware"}],
            )
    return HistoryQuery(strategy=strategy, since=since, until=until, limit=limit, cursor=cursor)


History = Annotated[HistoryQuery, Depends(history_query)]


# --- app factory ---------------------------------------------------------------


def create_app(
    store: Store,
    token: str,
    *,
    signalr: SignalRConnection | None = None,
    signalr_hub: str = "spyops",
    ws_queue_size: int = DEFAULT_QUEUE_SIZE,
    static_dir: Path = STATIC_DIR,
    cors_origins: tuple[str, ...] = (),
) -> FastAPI:
    metrics = BackendMetrics()
    hub = Hub(metrics, queue_size=ws_queue_size)
    publisher = SignalRPublisher(signalr, metrics, hub=signalr_hub) if signalr is not None else None
    require_writer = BearerAuth(token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        if publisher is not None:
            await publisher.start()
        log.info("backend ready", extra={"event": "ready", "store": store.description})
        try:
            yield
        finally:
            if publisher is not None:
                await publisher.stop()
            await store.close()

    app = FastAPI(
        title="spyops backend",
        version="1",
        summary="Ingest, history and live broadcast of SPY 0DTE signals, orders and fills.",
        description=__doc__,
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    app.state.metrics = metrics
    app.state.hub = hub
    app.state.store = store
    app.state.signalr = publisher

    def broadcast(kind: str, items: Sequence[BaseModel]) -> None:
        for item in items:
            text = hub.publish_json(kind, item.model_dump_json())
            if publisher is not None:
                publisher.publish_text(text)

    # --- middleware and error mapping ---------------------------------------

    if cors_origins:
        # A dashboard served from another origin (Static Web Apps) reads the API: exactly those
        # origins, reads only. Writes come from the edge, which is no browser and needs no CORS.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET"],
            allow_headers=["Accept"],
            max_age=600,
        )

    @app.middleware("http")
    async def measure_and_harden(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.url.path.startswith("/dashboard"):
            # The dashboard loads nothing from elsewhere: its own files, its API and stream.
            response.headers.setdefault("Content-Security-Policy", DASHBOARD_CSP)
            response.headers.setdefault("Referrer-Policy", "no-referrer")
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.requests.labels(route=template, method=request.method, status=str(response.status_code)).inc()
        metrics.request_seconds.labels(route=template).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(IngestError)
    async def ingest_error(request: Request, exc: IngestError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": exc.errors})

    @app.exception_handler(StoreLimitError)
    async def store_limit(request: Request, exc: StoreLimitError) -> JSONResponse:
        return JSONResponse(
            status_code=422, content={"detail": [{"loc": ["body"], "msg": str(exc), "type": "store_limit"}]}
        )

    @app.exception_handler(InvalidCursorError)
    async def bad_cursor(request: Request, exc: InvalidCursorError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(StoreError)
    async def store_unavailable(request: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return JSONResponse(status_code=503, content={"detail": "the history store is unavailable"})

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail=f"body larger than {MAX_BODY_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                raise HTTPException(status_code=413, detail=f"body larger than {MAX_BODY_BYTES} bytes")
        return bytes(body)

    def result_of(kind: str, result: WriteResult) -> IngestResult:
        metrics.ingested.labels(kind=kind, outcome="stored").inc(len(result.stored))
        metrics.ingested.labels(kind=kind, outcome="duplicate").inc(len(result.duplicates))
        return IngestResult(
            stored=len(result.stored),
            duplicates=len(result.duplicates),
            stored_ids=result.stored,
            duplicate_ids=result.duplicates,
        )

    def stored_only(records: Sequence[M], result: WriteResult) -> list[M]:
        stored = set(result.stored)
        return [r for r in records if r.id in stored]

    writer = [Depends(require_writer)]
    write_responses: dict[int | str, dict[str, Any]] = {
        401: {"model": Problem, "description": "Missing or wrong bearer token."},
        413: {"model": Problem, "description": "Body too large."},
        503: {"model": Problem, "description": "The history store is unavailable."},
    }

    def batch_body(name: str) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{name}"}
        return {
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                ref,
                                {"type": "array", "items": ref, "minItems": 1, "maxItems": MAX_BATCH},
                            ]
                        }
                    }
                },
            }
        }

    # --- write endpoints ----------------------------------------------------

    @app.post(
        "/v1/signals",
        tags=["ingest"],
        dependencies=writer,
        responses=write_responses,
        openapi_extra=batch_body("Signal"),
        summary="Store signals (one or a batch); idempotent by id",
    )
    async def post_signals(request: Request) -> IngestResult:
        signals = parse_records(await read_body(request), Signal)
        result = await store.put_signals(signals)
        broadcast("signal", stored_only(signals, result))
        return result_of("signal", result)

    @app.post(
        "/v1/executions",
        tags=["ingest"],
        dependencies=writer,
        responses=write_responses,
        openapi_extra=batch_body("Execution"),
        summary="Store executions (fills), one or a batch; idempotent by id",
    )
    async def post_executions(request: Request) -> IngestResult:
        executions = parse_records(await read_body(request), Execution)
        result = await store.put_executions(executions)
        broadcast("execution", stored_only(executions, result))
        return result_of("execution", result)

    @app.post(
        "/v1/orders",
        tags=["ingest"],
        dependencies=writer,
        responses=write_responses,
        openapi_extra=batch_body("OrderUpdate"),
        summary="Store order status updates, one or a batch; idempotent by id",
    )
    async def post_orders(request: Request) -> IngestResult:
        updates = parse_records(await read_body(request), OrderUpdate)
        result = await store.put_order_updates(updates)
        broadcast("order", stored_only(updates, result))
        return result_of("order", result)

    @app.post(
        "/v1/chain",
        tags=["ingest"],
        dependencies=writer,
        responses=write_responses,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChainSnapshot"}}},
            }
        },
        summary="Store the latest option chain snapshot of an underlying",
    )
    async def post_chain(request: Request) -> Probe:
        snapshot = parse_one(await read_body(request), ChainSnapshot)
        await store.put_chain(snapshot)
        broadcast("chain", [snapshot])
        return Probe(status="stored")

    # --- read endpoints -----------------------------------------------------

    read_responses: dict[int | str, dict[str, Any]] = {
        400: {"model": Problem, "description": "Cursor not issued by this API."},
        503: {"model": Problem, "description": "The history store is unavailable."},
    }

    @app.get("/v1/signals", tags=["history"], responses=read_responses, summary="Signals, newest first")
    async def get_signals(query: History, rule: AnomalyKind | None = None) -> SignalPage:
        page = await store.list_signals(replace(query, rule=rule.value if rule else None))
        return SignalPage(items=page.items, next_cursor=page.next_cursor)

    @app.get("/v1/executions", tags=["history"], responses=read_responses, summary="Executions, newest first")
    async def get_executions(
        query: History, order_ref: Annotated[str | None, Query(max_length=128)] = None
    ) -> ExecutionPage:
        page = await store.list_executions(replace(query, order_ref=order_ref))
        return ExecutionPage(items=page.items, next_cursor=page.next_cursor)

    @app.get("/v1/orders", tags=["history"], responses=read_responses, summary="Order updates, newest first")
    async def get_orders(
        query: History, order_ref: Annotated[str | None, Query(max_length=128)] = None
    ) -> OrderUpdatePage:
        page = await store.list_order_updates(replace(query, order_ref=order_ref))
        return OrderUpdatePage(items=page.items, next_cursor=page.next_cursor)

    @app.get(
        "/v1/positions", tags=["ledger"], responses=read_responses, summary="Open positions (average cost)"
    )
    async def get_positions(
        strategy: Annotated[str | None, Query(max_length=200)] = None, include_flat: bool = False
    ) -> PositionList:
        executions = await store.all_executions(strategy)
        items = ledger.positions(executions, include_flat=True)
        return PositionList(
            items=[PositionOut.model_validate(p) for p in items if include_flat or p.quantity != 0],
            realized_pnl=round(sum(p.realized_pnl for p in items), 2),
            commissions=round(sum(p.commissions for p in items), 2),
        )

    @app.get(
        "/v1/pnl/daily",
        tags=["ledger"],
        responses=read_responses,
        summary="Realized P&L per New York trading day",
    )
    async def get_daily_pnl(
        strategy: Annotated[str | None, Query(max_length=200)] = None,
        since_day: dt.date | None = None,
        until_day: Annotated[dt.date | None, Query(description="Inclusive")] = None,
    ) -> DailyPnlList:
        days = ledger.daily_pnl(await store.all_executions(strategy))
        return DailyPnlList(
            items=[
                DailyPnlOut.model_validate(d)
                for d in days
                if (since_day is None or d.day >= since_day) and (until_day is None or d.day <= until_day)
            ]
        )

    @app.get(
        "/v1/chain/latest",
        tags=["history"],
        responses={404: {"model": Problem, "description": "No snapshot yet."}, **read_responses},
        summary="The latest option chain snapshot of an underlying",
    )
    async def get_latest_chain(
        underlying: Annotated[str, Query(pattern=r"^[A-Z][A-Z0-9.]{0,9}$")] = "SPY",
    ) -> ChainSnapshot:
        snapshot = await store.latest_chain(underlying)
        if snapshot is None:
            raise HTTPException(status_code=404, detail=f"no chain snapshot for {underlying} yet")
        return snapshot

    # --- live stream ----------------------------------------------------------

    @app.websocket("/v1/stream")
    async def stream(websocket: WebSocket) -> None:
        # Browsers do not apply CORS to WebSockets; the Origin header is checked here instead.
        if not stream_origin_allowed(
            websocket.headers.get("origin"), websocket.headers.get("host"), cors_origins
        ):
            await websocket.close(code=1008)  # before accept: the handshake is refused with 403
            return
        await websocket.accept()
        await hub.serve(websocket, {"server_time": dt.datetime.now(dt.UTC).isoformat(), "api": API_VERSION})

    # --- probes -----------------------------------------------------------------

    @app.get("/health", tags=["probes"], summary="Liveness: the process serves requests")
    async def health() -> Probe:
        return Probe(status="ok")

    @app.get(
        "/ready",
        tags=["probes"],
        summary="Readiness: the history store answers",
        responses={503: {"model": Probe, "description": "The store does not answer."}},
    )
    async def ready() -> JSONResponse:
        try:
            await store.ping()
        except StoreError as exc:
            log.warning("not ready: %s", exc)
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "detail": "store does not answer"}
            )
        return JSONResponse(content={"status": "ready", "detail": store.description})

    @app.get("/metrics", tags=["probes"], summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        return Response(content=generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # --- dashboard ----------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(url="/dashboard/")

    app.mount("/dashboard", StaticFiles(directory=static_dir, html=True), name="dashboard")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            _, defs = models_json_schema(
                [(m, "validation") for m in (Signal, Execution, OrderUpdate, ChainSnapshot)],
                ref_template="#/components/schemas/{model}",
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in defs.get("$defs", {}).items():
                components.setdefault(name, jsonable_encoder(definition))
            schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            for path, operations in schema["paths"].items():
                if "post" in operations and path.startswith("/v1/"):
                    operations["post"]["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
