"""The HTTP API, in process (ASGI) and over a real uvicorn server for the live stream."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from fastapi.testclient import TestClient

from spyops.backend.app import create_app
from spyops.backend.store.sqlite import SqliteStore
from spyops.common import metrics_text
from spyops.schemas import OrderSide
from tests.backend.conftest import AUTH, TOKEN
from tests.backend.records import BASE_TIME, make_chain, make_execution, make_order_update, make_signal
from tests.backend.server import serving


def as_json(model: object) -> object:
    return json.loads(model.model_dump_json())  # type: ignore[attr-defined]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(SqliteStore(tmp_path / "api.sqlite3"), TOKEN)) as test_client:
        yield test_client


WRITES = {
    "/v1/signals": as_json(make_signal(1)),
    "/v1/executions": as_json(make_execution("e1", OrderSide.BUY, 1, 1.0)),
    "/v1/orders": as_json(make_order_update(1)),
    "/v1/chain": as_json(make_chain()),
}


@pytest.mark.parametrize("path", sorted(WRITES))
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["anonymous", "wrong-token", "wrong-scheme"],
)
def test_writes_refuse_without_the_token(client: TestClient, path: str, headers: dict[str, str]) -> None:
    response = client.post(path, json=WRITES[path], headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/v1/signals").json()["items"] == []
    assert TOKEN not in response.text


def test_reads_are_open_and_writes_work_with_the_token(client: TestClient) -> None:
    for path, body in WRITES.items():
        assert client.post(path, json=body, headers=AUTH).status_code == 200, path
    assert client.get("/v1/signals").json()["items"] == [WRITES["/v1/signals"]]
    assert client.get("/v1/executions").json()["items"] == [WRITES["/v1/executions"]]
    assert client.get("/v1/orders").json()["items"] == [WRITES["/v1/orders"]]
    assert client.get("/v1/chain/latest").json() == WRITES["/v1/chain"]


def test_outbox_replay_is_stored_once(client: TestClient) -> None:
    batch = [as_json(make_signal(n)) for n in range(5)]
    first = client.post("/v1/signals", json=batch, headers=AUTH).json()
    assert (first["stored"], first["duplicates"]) == (5, 0)
    replay = client.post("/v1/signals", json=[*batch, as_json(make_signal(5))], headers=AUTH).json()
    assert (replay["stored"], replay["duplicates"]) == (1, 5)
    assert replay["stored_ids"] == [make_signal(5).id]
    ids = [s["id"] for s in client.get("/v1/signals").json()["items"]]
    assert sorted(ids) == sorted(make_signal(n).id for n in range(6))
    metrics = client.get("/metrics").text
    labels = {"kind": "signal", "outcome": "duplicate"}
    assert metrics_text.value(metrics, "spyops_backend_ingested_records_total", labels) == 5.0


def test_pagination_over_http(client: TestClient) -> None:
    client.post("/v1/signals", json=[as_json(make_signal(n)) for n in range(25)], headers=AUTH)
    ids: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/v1/signals", params=params).json()
        pages += 1
        ids.extend(s["id"] for s in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert ids == [make_signal(n).id for n in reversed(range(25))]
    assert client.get("/v1/signals", params={"cursor": "garbage"}).status_code == 400
    assert client.get("/v1/signals", params={"limit": 0}).status_code == 422
    assert client.get("/v1/signals", params={"since": "2026-11-20T15:00:00"}).status_code == 422
    since = (BASE_TIME + dt.timedelta(seconds=20)).isoformat()
    assert len(client.get("/v1/signals", params={"since": since}).json()["items"]) == 5


def test_validation_names_the_field_at_fault(client: TestClient) -> None:
    good = as_json(make_signal(1))
    assert isinstance(good, dict)
    missing = {k: v for k, v in good.items() if k != "rule"}
    response = client.post("/v1/signals", json=[good, missing], headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "rule"]

    naive = dict(good, event_time="2026-11-20T15:00:00")
    detail = client.post("/v1/signals", json=naive, headers=AUTH).json()["detail"]
    assert detail[0]["loc"] == ["body", "event_time"]
    assert "timezone" in detail[0]["msg"]

    bad_quantity = as_json(make_execution("e1", OrderSide.BUY, 1, 1.0))
    assert isinstance(bad_quantity, dict)
    detail = client.post("/v1/executions", json=dict(bad_quantity, quantity=0), headers=AUTH).json()["detail"]
    assert detail[0]["loc"] == ["body", "quantity"]

    for raw, fragment in (
        (b"{nope", "not valid JSON"),
        (b"[]", "empty"),
        (b'"text"', "JSON object or an array"),
    ):
        response = client.post("/v1/signals", content=raw, headers=AUTH)
        assert response.status_code == 422
        assert fragment in response.json()["detail"][0]["msg"]
    too_many = json.dumps([good] * 1001).encode()
    assert "at most 1000" in client.post("/v1/signals", content=too_many, headers=AUTH).text
    assert (
        client.post("/v1/signals", content=b"[" + b"1," * 5_000_000 + b"1]", headers=AUTH).status_code == 413
    )
    assert client.get("/v1/signals").json()["items"] == []


def test_positions_and_daily_pnl(client: TestClient) -> None:
    fills = [
        make_execution("a", OrderSide.BUY, 2, 1.00, at=BASE_TIME),
        make_execution("b", OrderSide.SELL, 1, 1.50, at=BASE_TIME + dt.timedelta(minutes=1)),
    ]
    client.post("/v1/executions", json=[as_json(f) for f in fills], headers=AUTH)
    positions = client.get("/v1/positions").json()
    assert [(p["quantity"], p["average_cost"]) for p in positions["items"]] == [(1, 1.0)]
    assert positions["realized_pnl"] == 50.0
    days = client.get("/v1/pnl/daily").json()["items"]
    assert days == [
        {
            "day": "2026-11-20",
            "realized_pnl": 50.0,
            "commissions": 1.3,
            "net_pnl": 48.7,
            "fills": 2,
            "contracts": 3,
        }
    ]
    assert client.get("/v1/pnl/daily", params={"since_day": "2026-11-21"}).json()["items"] == []


def test_probes_and_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "detail": ""}
    assert client.get("/ready").json()["status"] == "ready"
    assert "spyops_backend_http_requests_total" in metrics_text.names(client.get("/metrics").text)
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["paths"]["/v1/signals"]["post"]["security"] == [{"bearer": []}]
    assert "Signal" in schema["components"]["schemas"]
    assert client.get("/v1/chain/latest").status_code == 404
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert "<canvas" in page.text


async def test_not_ready_when_the_store_is_gone(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gone.sqlite3")
    app = create_app(store, TOKEN)
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/ready")).status_code == 200
        await store.close()
        response = await http.get("/ready")
        assert response.status_code == 503
        assert (await http.get("/v1/signals")).status_code == 503
        assert (await http.get("/health")).status_code == 200


async def test_every_new_record_reaches_every_dashboard_once(tmp_path: Path) -> None:
    app = create_app(SqliteStore(tmp_path / "live.sqlite3"), TOKEN)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, headers=AUTH) as http:
        url = base.replace("http", "ws") + "/v1/stream"
        clients = [await websockets.connect(url) for _ in range(3)]
        try:
            for ws in clients:
                assert json.loads(await ws.recv())["type"] == "hello"
            await http.post("/v1/signals", json=as_json(make_signal(1)))
            await http.post("/v1/signals", json=as_json(make_signal(1)))  # replay: stored once, sent once
            await http.post("/v1/executions", json=as_json(make_execution("x1", OrderSide.BUY, 1, 1.0)))
            for ws in clients:
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                second = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert (first["type"], first["data"]["id"]) == ("signal", make_signal(1).id)
                assert (second["type"], second["data"]["id"]) == ("execution", "x1")
        finally:
            for ws in clients:
                await ws.close()


def test_dashboard_is_served_with_a_strict_content_policy(client: TestClient) -> None:
    for path in ("/dashboard/", "/dashboard/app.js", "/dashboard/i18n.js", "/dashboard/styles.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/dashboard/").text
    assert "http://" not in page
    assert "https://" not in page  # nothing is fetched from a CDN


async def close_code_after_draining(ws: websockets.ClientConnection) -> int | None:
    """Read what was buffered until the server's close frame; return its code."""
    try:
        async with asyncio.timeout(60):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def test_a_stalled_dashboard_is_dropped_and_never_slows_the_others(tmp_path: Path) -> None:
    """Real sockets: one client stops reading; its TCP buffers fill, its queue fills, it is closed
    with 1013, while a reading client gets every message in order."""
    app = create_app(SqliteStore(tmp_path / "slow.sqlite3"), TOKEN, ws_queue_size=32)
    hub = app.state.hub
    async with serving(app) as base:
        url = base.replace("http", "ws") + "/v1/stream"
        fast = await websockets.connect(url, compression=None)
        # max_queue=1: the client library stops reading the socket after one unread message.
        stalled = await websockets.connect(url, compression=None, max_queue=1)
        try:
            assert json.loads(await fast.recv())["type"] == "hello"
            assert json.loads(await stalled.recv())["type"] == "hello"
            padding = "x" * 100_000
            for n in range(600):  # 60 MB: far more than loopback socket buffers hold
                hub.publish("chain", {"n": n, "padding": padding})
                message = json.loads(await asyncio.wait_for(fast.recv(), 30))
                assert message["data"]["n"] == n
                if hub.client_count == 1:
                    break
            assert hub.client_count == 1, "the stalled client was never dropped"
            assert app.state.metrics.ws_dropped._value.get() == 1
            hub.publish("chain", {"n": -1})
            assert json.loads(await asyncio.wait_for(fast.recv(), 30))["data"]["n"] == -1
            assert await close_code_after_draining(stalled) == 1013
        finally:
            await fast.close()
            await stalled.close()


async def test_a_commission_report_updates_the_fill_live_and_in_the_ledger(tmp_path: Path) -> None:
    app = create_app(SqliteStore(tmp_path / "commission.sqlite3"), TOKEN)
    fill = make_execution("k1", OrderSide.BUY, 2, 1.0, commission=0.0)
    reported = fill.model_copy(update={"commission": 1.30})
    async with serving(app) as base, httpx.AsyncClient(base_url=base, headers=AUTH) as http:
        ws = await websockets.connect(base.replace("http", "ws") + "/v1/stream")
        try:
            assert json.loads(await ws.recv())["type"] == "hello"
            assert (await http.post("/v1/executions", json=as_json(fill))).json()["stored_ids"] == ["k1"]
            answer = (await http.post("/v1/executions", json=[as_json(reported)])).json()
            assert (answer["updated"], answer["updated_ids"], answer["duplicates"]) == (1, ["k1"], 0)
            replay = (await http.post("/v1/executions", json=[as_json(fill), as_json(reported)])).json()
            assert (replay["updated"], replay["duplicate_ids"]) == (0, ["k1", "k1"])
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            second = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (first["data"]["id"], first["data"]["commission"]) == ("k1", 0.0)
            assert (second["type"], second["data"]["id"], second["data"]["commission"]) == (
                "execution",
                "k1",
                1.30,
            )
            with pytest.raises(TimeoutError):  # the replay changed nothing, so nothing is sent
                await asyncio.wait_for(ws.recv(), 0.5)
        finally:
            await ws.close()
        positions = (await http.get("/v1/positions")).json()
        assert positions["commissions"] == 1.30
        assert (await http.get("/v1/executions")).json()["items"] == [as_json(reported)]


def test_the_document_lists_every_answer_and_the_api_refuses_what_it_does_not_allow(
    client: TestClient,
) -> None:
    """What `schemathesis run --checks all` found on the first try, pinned (the full run is in
    test_schemathesis_cli.py)."""
    document = client.get("/openapi.json").json()
    for path in WRITES:
        assert {"401", "413", "422", "503"} <= set(document["paths"][path]["post"]["responses"]), path
    assert "400" in document["paths"]["/v1/signals"]["get"]["responses"]  # a cursor it did not issue
    assert "400" not in document["paths"]["/v1/pnl/daily"]["get"]["responses"]
    execution = document["components"]["schemas"]["Execution"]["properties"]
    assert execution["price"]["maximum"] == 1e12
    assert execution["time"]["pattern"].startswith("^(19[7-9][0-9]|2[01][0-9]{2})-")

    for query in (
        "/v1/pnl/daily?until_day=0",
        "/v1/pnl/daily?since_day=20261120",
        "/v1/signals?since=0",
        "/v1/signals?limit=5.0",
        "/v1/positions?include_flat=1",
    ):
        assert client.get(query).status_code == 422, query
    assert client.get("/v1/pnl/daily?until_day=2026-11-20").status_code == 200

    body = as_json(make_execution("e9", OrderSide.BUY, 3, 1.0))
    assert isinstance(body, dict)
    assert client.post("/v1/executions", json=dict(body, time=0), headers=AUTH).status_code == 422
    assert client.post("/v1/executions", json=dict(body, price="1.0"), headers=AUTH).status_code == 422
    assert client.post("/v1/executions", json=dict(body, quantity=3.0), headers=AUTH).status_code == 200
    late = dict(body, id="e10", time="2199-12-31T23:00:00-05:00")  # 2200 in UTC: the year as written
    assert client.post("/v1/executions", json=late, headers=AUTH).status_code == 200

    refused = client.request("OPTIONS", "/v1/signals")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, POST"
