"""The outbox against the real backend (`spyops backend`, sqlite store, bearer token): the backend is
unreachable while signals and executions are produced; once it starts, it holds exactly those,
in order, once, also when part of them is replayed (lost acknowledgements)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from spyops.outbox import OutboxSender, OutboxStore, SenderSettings
from spyops.outbox.sender import OutboxMetrics
from spyops.schemas import Execution, OrderSide, OutboundMode, OutboundSettings, Signal
from tests.backend.records import BASE_TIME, make_execution, make_signal

TOKEN = "edge-backend-token-7f3a9c21d4e8"
FAST = SenderSettings(
    batch_size=8,
    request_timeout_seconds=5,
    backoff_initial_seconds=0.05,
    backoff_max_seconds=0.3,
    idle_poll_seconds=0.2,
)
SIGNALS = 30
EXECUTIONS = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _until(predicate: Callable[[], bool], within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.05)


class BackendProcess:
    def __init__(self, port: int, db: Path, token_file: Path, log: Path) -> None:
        self.port, self.db, self.token_file, self.log = port, db, token_file, log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SPYOPS_BACKEND_TOKEN"}
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "spyops",
                "backend",
                "--port",
                str(self.port),
                "--store",
                f"sqlite:{self.db}",
                "--token-file",
                str(self.token_file),
                stdout=sink,
                stderr=sink,
                env=env,
            )
        async with httpx.AsyncClient(timeout=2) as client, asyncio.timeout(60):
            while True:
                assert self.process.returncode is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get(self.url + "/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[BackendProcess]:
    token_file = tmp_path / "backend-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    proc = BackendProcess(_free_port(), tmp_path / "history.sqlite3", token_file, tmp_path / "backend.log")
    try:
        yield proc
    finally:
        await proc.stop()


def _produced() -> list[Signal | Execution]:
    """Signals and executions interleaved (every fourth is a fill), times increasing."""
    items: list[Signal | Execution] = []
    signals = executions = 0
    while signals < SIGNALS or executions < EXECUTIONS:
        if executions < EXECUTIONS and (signals % 3 == 2 or signals >= SIGNALS):
            at = BASE_TIME + dt.timedelta(seconds=len(items))
            items.append(make_execution(f"exec-{executions:04d}", OrderSide.BUY, 1, 1.25, at=at))
            executions += 1
        else:
            items.append(make_signal(len(items)))
            signals += 1
    return items


async def _history(client: httpx.AsyncClient, url: str, kind: str) -> list[str]:
    """Ids the backend holds, oldest first (its pages are newest first)."""
    response = await client.get(f"{url}/v1/{kind}", params={"limit": 500})
    assert response.status_code == 200, response.text
    return [item["id"] for item in reversed(response.json()["items"])]


def _arrival_order(db: Path, table: str) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute(f"SELECT id FROM {table} ORDER BY rowid")]  # noqa: S608


async def test_backend_unreachable_then_started_holds_exactly_what_was_produced_in_order(
    backend: BackendProcess, tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    store = OutboxStore(tmp_path / "outbox.db")
    sender = OutboxSender(
        store,
        OutboundSettings(
            mode=OutboundMode.DIRECT, backend_url=backend.url, token_file=str(backend.token_file)
        ),
        FAST,
        OutboxMetrics(registry, "bot"),
    )
    task = asyncio.create_task(sender.run())

    def failures() -> float:
        return (
            registry.get_sample_value(
                "spyops_outbox_send_failures_total", {"component": "bot", "reason": "unreachable"}
            )
            or 0.0
        )

    try:
        produced = _produced()
        for item in produced:
            await sender.submit("signal" if isinstance(item, Signal) else "execution", item)
        await _until(lambda: failures() >= 3)  # nothing listens: the sender keeps trying
        assert sum(store.pending_count().values()) == len(produced)

        await backend.start()
        await _until(lambda: sum(store.pending_count().values()) == 0)

        # Acknowledgements lost in the outage's aftermath: the first items are sent again.
        for item in produced[:10]:
            await sender.submit("signal" if isinstance(item, Signal) else "execution", item)
        await _until(lambda: sum(store.pending_count().values()) == 0)
    finally:
        sender.stop()
        await asyncio.wait_for(task, 30)
        store.close()

    signal_ids = [i.id for i in produced if isinstance(i, Signal)]
    execution_ids = [i.id for i in produced if isinstance(i, Execution)]
    assert len(signal_ids) == SIGNALS
    assert len(execution_ids) == EXECUTIONS
    async with httpx.AsyncClient(timeout=10) as client:
        assert await _history(client, backend.url, "signals") == signal_ids
        assert await _history(client, backend.url, "executions") == execution_ids
        stored = (await client.get(f"{backend.url}/v1/signals", params={"limit": 1})).json()["items"][0]
    assert stored["id"] == signal_ids[-1]
    assert stored["edge"] == 12.5
    await backend.stop()
    # The order they arrived in (sqlite rowid is insertion order), not only the order of their times.
    assert _arrival_order(backend.db, "signals") == signal_ids
    assert _arrival_order(backend.db, "executions") == execution_ids
    assert TOKEN not in backend.log.read_text()
