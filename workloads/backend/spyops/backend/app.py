"""The backend's FastAPI application: ingest, history, ledger, live stream, probes and the dashboard.

Write endpoints (``POST /v1/...``) need ``Authorization: Bearer <token>``. Read endpoints, the live
stream and the dashboard are open to anyone who can reach the service: they carry market and
paper-trading data, and the service is meant to sit behind the cluster's network policy (or the
Azure side's access restrictions), not on the open internet.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.routing import BaseRoute

from spyops.backend import ledger
from spyops.backend.auth import BearerAuth
from spyops.backend.hub import DEFAULT_QUEUE_SIZE, Hub
from spyops.backend.ingest import MAX_BATCH, IngestError, parse_one, parse_records
from spyops.backend.metrics import BackendMetrics
from spyops.backend.openapi_doc import build_openapi
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
from spyops.common import tracing
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
    updated: int = Field(default=0, description="Executions whose commission report this call stored.")
    updated_ids: list[str] = Field(default_factory=list)


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


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(
        description='Where: ["body", <index in a batch>, "field", ...] or ["query", name].'
    )
    msg: str
    type: str


class InvalidRequest(BaseModel):
    detail: list[FieldProblem]


# Query values only in the text the document describes: pydantic alone would also read `0` or
# `1.5e9` as a Unix time, `1.0` or ` 5` as an integer and `yes` or `1` as true.
def _text_matching(pattern: str, expected: str) -> BeforeValidator:
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise ValueError(f"expected {expected}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[dt.date, _text_matching(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "a date as YYYY-MM-DD")]
IsoDateTime = Annotated[
    dt.datetime,
    _text_matching(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ].+", "an ISO 8601 time such as 2026-11-20T14:30:00Z"),
]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE), _text_matching(r"-?[0-9]+", "a whole number")]
QueryBool = Annotated[bool, _text_matching(r"true|false", "true or false")]


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> list[str]:
    """Every method some route serves at ``path`` (this API has no path parameters)."""
    return sorted({m for r in routes if getattr(r, "path", None) == path for m in getattr(r, "methods", ())})


def history_query(
    strategy: Annotated[str | None, Query(max_length=200, description="namespace/name")] = None,
    since: Annotated[IsoDateTime | None, Query(description="Inclusive, with timezone")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Exclusive, with timezone")] = None,
    limit: Annotated[PageSize, Query()] = 100,
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


def record_ingest(span: trace.Span, records: Sequence[BaseModel]) -> None:
    """The ids that find an ingest span: record ids, signal ids, orderRefs and strategies."""
    if not span.is_recording():
        return
    attributes: dict[str, list[str]] = {}
    for record in records:
        for key, name in (
            ("spyops.ids", "id"),
            ("spyops.signal_ids", "signal_id"),
            ("spyops.order_refs", "order_ref"),
            ("spyops.strategies", "strategy"),
        ):
            value = getattr(record, name, None)
            if isinstance(value, str) and value and value not in attributes.setdefault(key, []):
                attributes[key].append(value)
    if all(isinstance(r, Signal) for r in records):
        attributes["spyops.signal_ids"] = attributes.get("spyops.ids", [])
    span.set_attributes({key: values for key, values in attributes.items() if values})
    if len(records) == 1:
        # One record (the outbox's usual request): the same scalar attributes the edge's spans carry.
        for key, values in attributes.items():
            if key != "spyops.ids" and values:
                span.set_attribute(_SCALAR[key], values[0])


_SCALAR = {
    "spyops.signal_ids": "spyops.signal.id",
    "spyops.order_refs": "spyops.order_ref",
    "spyops.strategies": "spyops.strategy",
}


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
        if not items:
            return
        with tracing.tracer().start_as_current_span(
            "backend.broadcast",
            kind=SpanKind.PRODUCER,
            attributes={
                "spyops.broadcast.kind": kind,
                "spyops.broadcast.items": len(items),
                "spyops.broadcast.websocket_clients": hub.client_count,
                "spyops.broadcast.signalr": publisher is not None,
            },
        ):
            for item in items:
                text = hub.publish_json(kind, item.model_dump_json())
                if publisher is not None:
                    publisher.publish_text(text)

    @contextmanager
    def ingest_span(request: Request, kind: str) -> Iterator[trace.Span]:
        """``backend.ingest``, continuing the trace of the outbox attempt that sent the request."""
        with tracing.tracer().start_as_current_span(
            "backend.ingest",
            context=tracing.context_from(request.headers.get("traceparent")),
            kind=SpanKind.SERVER,
            attributes={"spyops.ingest.kind": kind},
        ) as span:
            yield span

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
        if response.status_code == 405:
            # Starlette names only the first matching route's methods; a path has GET and POST.
            response.headers["Allow"] = ", ".join(allowed_methods(app.routes, request.url.path))
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
        metrics.ingested.labels(kind=kind, outcome="updated").inc(len(result.updated))
        return IngestResult(
            stored=len(result.stored),
            duplicates=len(result.duplicates),
            stored_ids=result.stored,
            duplicate_ids=result.duplicates,
            updated=len(result.updated),
            updated_ids=result.updated,
        )

    def stored_only(records: Sequence[M], result: WriteResult) -> list[M]:
        """What to broadcast: a stored id as first written; an updated one (a commission report)
        as the last record of the batch that carries a commission."""
        stored, updated = set(result.stored), set(result.updated)
        out: dict[str, M] = {}
        for record in records:
            if record.id in stored and record.id not in out:
                out[record.id] = record
            if record.id in updated and isinstance(record, Execution) and record.commission:
                out[record.id] = record
        return list(out.values())

    def ingest_route(
        path: str,
        kind: str,
        model: type[M],
        put: Callable[[Sequence[M]], Awaitable[WriteResult]],
        summary: str,
    ) -> None:
        """A write endpoint: parse one record or a batch, store, broadcast what was new, count."""

        async def endpoint(request: Request) -> IngestResult:
            with ingest_span(request, kind) as span:
                records = parse_records(await read_body(request), model)
                record_ingest(span, records)
                result = await put(records)
                broadcast(kind, stored_only(records, result))
                return result_of(kind, result)

        endpoint.__name__ = f"post_{path.rsplit('/', 1)[1]}"  # the OpenAPI operationId, as before
        app.post(
            path,
            tags=["ingest"],
            dependencies=writer,
            responses=write_responses,
            openapi_extra=batch_body(model.__name__),
            summary=summary,
        )(endpoint)

    writer = [Depends(require_writer)]
    write_responses: dict[int | str, dict[str, Any]] = {
        401: {"model": Problem, "description": "Missing or wrong bearer token."},
        413: {"model": Problem, "description": "Body too large."},
        422: {
            "model": InvalidRequest,
            "description": "The body is not JSON or a record is invalid; `loc` names the field.",
        },
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

    ingest_route(
        "/v1/signals", "signal", Signal, store.put_signals, "Store signals (one or a batch); idempotent by id"
    )
    ingest_route(
        "/v1/executions",
        "execution",
        Execution,
        store.put_executions,
        "Store executions (fills), one or a batch; idempotent by id",
    )
    ingest_route(
        "/v1/orders",
        "order",
        OrderUpdate,
        store.put_order_updates,
        "Store order status updates, one or a batch; idempotent by id",
    )

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
        503: {"model": Problem, "description": "The history store is unavailable."},
    }
    page_responses: dict[int | str, dict[str, Any]] = {
        400: {
            "model": Problem,
            "description": "A cursor this API did not issue (or issued for another list).",
        },
        **read_responses,
    }

    @app.get("/v1/signals", tags=["history"], responses=page_responses, summary="Signals, newest first")
    async def get_signals(query: History, rule: AnomalyKind | None = None) -> SignalPage:
        page = await store.list_signals(replace(query, rule=rule.value if rule else None))
        return SignalPage(items=page.items, next_cursor=page.next_cursor)

    @app.get("/v1/executions", tags=["history"], responses=page_responses, summary="Executions, newest first")
    async def get_executions(
        query: History, order_ref: Annotated[str | None, Query(max_length=128)] = None
    ) -> ExecutionPage:
        page = await store.list_executions(replace(query, order_ref=order_ref))
        return ExecutionPage(items=page.items, next_cursor=page.next_cursor)

    @app.get("/v1/orders", tags=["history"], responses=page_responses, summary="Order updates, newest first")
    async def get_orders(
        query: History, order_ref: Annotated[str | None, Query(max_length=128)] = None
    ) -> OrderUpdatePage:
        page = await store.list_order_updates(replace(query, order_ref=order_ref))
        return OrderUpdatePage(items=page.items, next_cursor=page.next_cursor)

    @app.get(
        "/v1/positions", tags=["ledger"], responses=read_responses, summary="Open positions (average cost)"
    )
    async def get_positions(
        strategy: Annotated[str | None, Query(max_length=200)] = None, include_flat: QueryBool = False
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
        since_day: Annotated[IsoDate | None, Query(description="Inclusive, YYYY-MM-DD")] = None,
        until_day: Annotated[IsoDate | None, Query(description="Inclusive, YYYY-MM-DD")] = None,
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
            app.openapi_schema = build_openapi(app, (Signal, Execution, OrderUpdate, ChainSnapshot))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
