"""Backend benchmark (`spyops bench backend`): live fan-out latency and store ingest rate.

- Fan-out: a real backend process (`spyops backend`, SQLite store) on loopback; N WebSocket
  clients (asyncio, one process); one signal POSTed at a time; delivery = time from the POST to
  each client receiving it. Baseline in the same run: the same with one client.
- Ingest: signals per second written through the store interface into SQLite and into Azurite's
  Table service (when installed), in batches and, as the baseline, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets

from spyops.backend.azurite import find_azurite, running_azurite
from spyops.backend.store import Store
from spyops.backend.store.sqlite import SqliteStore
from spyops.backend.store.table import TableStore
from spyops.schemas import AnomalyKind, OptionContract, OptionRight, Signal

TARGET_P99_MS = 100.0  # docs/architecture.md, "Targets"
_SIGNAL_ID = re.compile(r'\{"type":"signal","data":\{"id":"([0-9a-f]{32})"')


def bench_signal(n: int, run: str) -> Signal:
    now = dt.datetime.now(dt.UTC)
    contract = OptionContract(
        underlying="SPY", expiry=now.date(), strike=500.0 + n % 100, right=OptionRight.CALL
    )
    return Signal(
        id=hashlib.sha256(f"{run}-{n}".encode()).hexdigest()[:32],
        strategy="bench/backend",
        event_time=now,
        detected_at=now,
        underlying="SPY",
        expiry=now.date(),
        culprit=contract,
        rule=AnomalyKind.PARITY,
        edge=10.0,
        score=1.0,
    )


def raise_open_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextlib.asynccontextmanager
async def backend_process(workdir: Path, token: str) -> AsyncIterator[str]:
    """A real `spyops backend` on a free loopback port; yields its base URL."""
    log_path = workdir / "backend.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "spyops",
            "backend",
            "--port",
            "0",
            "--store",
            f"sqlite:{workdir / 'bench.sqlite3'}",
            "--log-level",
            "INFO",  # the "listening" line carries the port
            "--ws-queue-size",
            "1024",
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SPYOPS_BACKEND_TOKEN": token},
            start_new_session=True,
        )
    try:
        base = await _wait_ready(process, log_path)
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_ready(process: asyncio.subprocess.Process, log_path: Path) -> str:
    port = None
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            text = await asyncio.to_thread(log_path.read_text, errors="replace")
            found = re.search(r'"event": "listening".*?"port": (\d+)', text)
            if found:
                port = int(found.group(1))
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{port}/ready")).status_code == 200:
                        return f"http://127.0.0.1:{port}"
            if process.returncode is not None:
                raise RuntimeError(f"backend exited: {text[-2000:]}")
            await asyncio.sleep(0.05)
    raise RuntimeError("backend did not become ready in 30 s")


async def fan_out(base: str, token: str, clients: int, rounds: int, run: str) -> dict[str, Any]:
    url = base.replace("http", "ws", 1) + "/v1/stream"
    sockets: list[Any] = []
    for start in range(0, clients, 100):  # connect in waves: a listen backlog is finite
        sockets.extend(
            await asyncio.gather(
                *(
                    websockets.connect(url, max_queue=None, ping_interval=None, compression=None)
                    for _ in range(start, min(clients, start + 100))
                )
            )
        )
    await asyncio.gather(*(ws.recv() for ws in sockets))  # the hello
    received: dict[str, list[float]] = {}
    pending: dict[str, asyncio.Event] = {}

    async def reader(ws: Any) -> None:
        async for raw in ws:
            now = time.perf_counter()
            # Only the id is needed; a full json.loads per client would measure the client's CPU.
            found = _SIGNAL_ID.match(raw)
            if found:
                arrivals = received.setdefault(found.group(1), [])
                arrivals.append(now)
                if len(arrivals) == clients:
                    pending[found.group(1)].set()

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    delivery_ms: list[float] = []
    post_ms: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            for n in range(rounds):
                signal = bench_signal(n, f"{run}-fan{clients}")
                body = signal.model_dump_json()
                pending[signal.id] = asyncio.Event()
                started = time.perf_counter()
                response = await http.post(
                    "/v1/signals", content=body, headers={"Content-Type": "application/json"}
                )
                post_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                await asyncio.wait_for(pending[signal.id].wait(), timeout=60)
                delivery_ms.extend((t - started) * 1000 for t in received[signal.id])
                await asyncio.sleep(0.2)
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "clients": clients,
        "signals": rounds,
        "deliveries": len(delivery_ms),
        "p50_ms": round(statistics.median(delivery_ms), 2),
        "p99_ms": round(percentile(delivery_ms, 99), 2),
        "max_ms": round(max(delivery_ms), 2),
        "post_p50_ms": round(statistics.median(post_ms), 2),
    }


async def ingest_rate(store: Store, count: int, batch_size: int, run: str) -> dict[str, Any]:
    signals = [bench_signal(n, f"{run}-ingest-{batch_size}") for n in range(count)]
    started = time.perf_counter()
    for start in range(0, count, batch_size):
        result = await store.put_signals(signals[start : start + batch_size])
        if len(result.stored) != len(signals[start : start + batch_size]):
            raise RuntimeError("benchmark signals were not all stored")
    elapsed = time.perf_counter() - started
    return {
        "signals": count,
        "batch_size": batch_size,
        "seconds": round(elapsed, 3),
        "signals_per_s": round(count / elapsed, 1),
    }


async def store_ingest(
    store: Store, count: int, batch_size: int, baseline_count: int, run: str
) -> dict[str, Any]:
    await store.open()
    try:
        return {
            "batched": await ingest_rate(store, count, batch_size, run),
            "baseline_one_at_a_time": await ingest_rate(store, baseline_count, 1, run),
        }
    finally:
        await store.close()


async def run_backend_benchmark(
    *, clients: int, rounds: int, ingest_signals: int, batch_size: int
) -> dict[str, Any]:
    limit = raise_open_file_limit(2 * clients + 512)  # inherited by the backend process
    run = secrets.token_hex(4)
    token = secrets.token_urlsafe(24)
    result: dict[str, Any] = {
        "benchmark": "backend",
        "open_file_limit": limit,
        "cpu_count": os.cpu_count(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),  # a shared machine skews absolute times
    }
    with tempfile.TemporaryDirectory(prefix="spyops-bench-") as tmp:
        workdir = Path(tmp)
        async with backend_process(workdir, token) as base:
            baseline = await fan_out(base, token, 1, rounds, run)
            loaded = await fan_out(base, token, clients, rounds, run)
        result["fanout"] = {
            "baseline_one_client": baseline,
            "many_clients": loaded,
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": loaded["p99_ms"] < TARGET_P99_MS,
        }
        baseline_count = max(10, ingest_signals // 10)
        ingest: dict[str, Any] = {
            "sqlite": await store_ingest(
                SqliteStore(workdir / "ingest.sqlite3"), ingest_signals, batch_size, baseline_count, run
            )
        }
        if find_azurite() is None:
            ingest["azurite"] = {
                "skipped": "azurite-table not found: run `make node-tools` or set SPYOPS_AZURITE_TABLE"
            }
        else:
            with running_azurite() as connection_string:
                ingest["azurite"] = await store_ingest(
                    TableStore(connection_string, prefix="bench" + run),
                    ingest_signals,
                    batch_size,
                    baseline_count,
                    run,
                )
        result["ingest"] = ingest
    result["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    return result
