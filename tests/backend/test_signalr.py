"""SignalR publishing against a local endpoint that checks the token like the service does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from aiohttp import web

from spyops.backend.app import create_app
from spyops.backend.metrics import BackendMetrics
from spyops.backend.signalr import (
    SignalRConfigError,
    SignalRPublisher,
    access_token,
    parse_connection_string,
)
from spyops.backend.store.sqlite import SqliteStore
from spyops.common import metrics_text
from tests.backend.conftest import AUTH, TOKEN
from tests.backend.records import make_signal
from tests.backend.server import serving

ACCESS_KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"


@dataclass
class FakeSignalR:
    """Serves POST /api/v1/hubs/{hub}: 202 for a valid HS256 token whose aud is the exact URL."""

    key: str
    port: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    async def broadcast(self, request: web.Request) -> web.Response:
        url = f"http://127.0.0.1:{self.port}{request.path}"
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            self.refusals.append("no bearer token")
            return web.Response(status=401)
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "),
                self.key,
                algorithms=["HS256"],
                audience=url,
                options={"require": ["aud", "exp"]},
            )
        except jwt.InvalidTokenError as exc:
            self.refusals.append(type(exc).__name__)
            return web.Response(status=401)
        if claims["exp"] > time.time() + 3600:
            self.refusals.append("token lives too long")
            return web.Response(status=401)
        body = await request.json()
        if not body.get("target") or not isinstance(body.get("arguments"), list):
            return web.Response(status=400)
        self.messages.append(body)
        return web.Response(status=202)


@asynccontextmanager
async def fake_signalr(key: str = ACCESS_KEY) -> AsyncIterator[FakeSignalR]:
    fake = FakeSignalR(key)
    app = web.Application()
    app.router.add_post("/api/v1/hubs/{hub}", fake.broadcast)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    fake.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield fake
    finally:
        await runner.cleanup()


def conn_string(port: int, key: str = ACCESS_KEY) -> str:
    return f"Endpoint=http://127.0.0.1;Port={port};AccessKey={key};Version=1.0;"


def test_connection_string_parsing() -> None:
    parsed = parse_connection_string("endpoint=https://x.service.signalr.net;accesskey=k1;version=1.0;")
    assert parsed.endpoint == "https://x.service.signalr.net"
    assert "k1" not in repr(parsed)
    assert parse_connection_string(conn_string(8888)).endpoint == "http://127.0.0.1:8888"
    for bad, fragment in (
        ("AccessKey=k;Version=1.0", "Endpoint is missing"),
        ("Endpoint=https://x;Version=1.0", "AccessKey is missing"),
        ("Endpoint=https://x;AuthType=azure.msi", "only AccessKey"),
        ("Endpoint=ftp://x;AccessKey=k", "not an http"),
        ("Endpoint=https://x;AccessKey=k;Port=99999", "not a port"),
    ):
        with pytest.raises(SignalRConfigError, match=fragment):
            parse_connection_string(bad)


def test_token_claims() -> None:
    token = access_token("https://x.service.signalr.net/api/v1/hubs/spyops/?a=1", ACCESS_KEY, now=1_000_000)
    claims = jwt.decode(
        token, ACCESS_KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False}
    )
    assert claims == {
        "aud": "https://x.service.signalr.net/api/v1/hubs/spyops",
        "iat": 1_000_000,
        "exp": 1_000_060,
    }


async def test_ingested_signals_are_published_to_signalr(tmp_path: Path) -> None:
    async with fake_signalr() as fake:
        app = create_app(
            SqliteStore(tmp_path / "s.sqlite3"),
            TOKEN,
            signalr=parse_connection_string(conn_string(fake.port)),
        )
        async with serving(app) as base, httpx.AsyncClient(base_url=base, headers=AUTH) as http:
            await http.post("/v1/signals", json=json.loads(make_signal(1).model_dump_json()))
            await http.post("/v1/signals", json=json.loads(make_signal(1).model_dump_json()))  # duplicate
            for _ in range(200):
                if fake.messages:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            metrics = (await http.get("/metrics")).text
        assert fake.refusals == []
        assert len(fake.messages) == 1
        message = fake.messages[0]
        assert message["target"] == "spyops"
        assert message["arguments"][0]["type"] == "signal"
        assert message["arguments"][0]["data"]["id"] == make_signal(1).id
        assert (
            metrics_text.value(metrics, "spyops_backend_signalr_publishes_total", {"outcome": "sent"}) == 1.0
        )


async def test_wrong_key_is_refused_and_counted() -> None:
    async with fake_signalr() as fake:
        metrics = BackendMetrics()
        publisher = SignalRPublisher(
            parse_connection_string(conn_string(fake.port, key="wrong" * 8)), metrics
        )
        await publisher.start()
        publisher.publish_text('{"type":"signal","data":{}}')
        await publisher.stop(drain_seconds=10)
        assert fake.messages == []
        assert fake.refusals == ["InvalidSignatureError"]
        assert metrics.signalr.labels(outcome="failed")._value.get() == 1


async def test_unreachable_signalr_never_blocks_publishing() -> None:
    metrics = BackendMetrics()
    publisher = SignalRPublisher(
        parse_connection_string(conn_string(9)), metrics, queue_size=2, timeout_seconds=0.5
    )  # port 9 (discard) is closed on loopback
    await publisher.start()
    for n in range(10):
        publisher.publish_text(json.dumps({"n": n}))
    await publisher.stop(drain_seconds=5)
    assert metrics.signalr.labels(outcome="dropped")._value.get() >= 7
