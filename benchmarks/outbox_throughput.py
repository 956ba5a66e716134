"""Outbox cost of durability and delivery rate; prints JSON.

- enqueue latency with synchronous=FULL (what the outbox ships) next to its baseline,
  the same insert with synchronous=OFF (no fsync), in the same run and directory;
- drain rate: items/second posted to a local backend after an outage, batch 100 vs batch 1.

Usage: .venv/bin/python benchmarks/outbox_throughput.py [N]
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from spyops.outbox import OutboxSender, OutboxStore, SenderSettings
from spyops.outbox.sender import OutboxMetrics
from spyops.schemas import OutboundMode, OutboundSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.outbox.backend import RecordingBackend


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1),
    }


def enqueue_latency(directory: Path, n: int) -> dict[str, object]:
    store = OutboxStore(directory / "full.db")
    full = []
    for i in range(n):
        t = time.perf_counter()
        store.enqueue("signal", {"id": f"{i:032x}", "edge": 1.0})
        full.append(time.perf_counter() - t)
    store.close()
    baseline = sqlite3.connect(directory / "off.db", isolation_level=None)
    baseline.execute("PRAGMA journal_mode=WAL")
    baseline.execute("PRAGMA synchronous=OFF")
    baseline.execute(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind, item_id, payload, created_at)"
    )
    off = []
    for i in range(n):
        t = time.perf_counter()
        baseline.execute(
            "INSERT INTO outbox (kind, item_id, payload, created_at) VALUES (?, ?, ?, ?)",
            ("signal", f"{i:032x}", json.dumps({"id": f"{i:032x}", "edge": 1.0}), time.time()),
        )
        off.append(time.perf_counter() - t)
    baseline.close()
    return {"outbox_synchronous_full": _percentiles(full), "baseline_synchronous_off": _percentiles(off)}


async def drain_rate(directory: Path, n: int, batch: int) -> float:
    secret = secrets.token_hex(16)
    backend = RecordingBackend(token=secret)
    await backend.start()
    token = directory / f"token-{batch}"
    token.write_text(secret)
    store = OutboxStore(directory / f"drain-{batch}.db")
    for i in range(n):
        store.enqueue("signal", {"id": f"{i:032x}", "edge": 1.0})
    sender = OutboxSender(
        store,
        OutboundSettings(mode=OutboundMode.DIRECT, backend_url=backend.url, token_file=str(token)),
        SenderSettings(batch_size=batch, idle_poll_seconds=0.05),
        OutboxMetrics(CollectorRegistry()),
    )
    started = time.perf_counter()
    task = asyncio.create_task(sender.run())
    while True:
        if backend.total() >= n:
            break
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    sender.stop()
    await task
    store.close()
    await backend.stop()
    return n / elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        result: dict[str, object] = {"items": n, "enqueue": enqueue_latency(directory, n)}
        result["drain_items_per_second"] = {
            "batch_100": round(asyncio.run(drain_rate(directory, n, 100)), 1),
            "baseline_batch_1": round(asyncio.run(drain_rate(directory, n, 1)), 1),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
