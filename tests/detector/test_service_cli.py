"""`spyops detector` as a process: JSON logs, probes, clean stop on SIGTERM, clear errors."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from spyops.common import metrics_text
from spyops.gatewaysim.gateway import GatewayConfig
from spyops.gatewaysim.model_source import build_model_source
from spyops.gatewaysim.server import GatewayServer, ServerSettings


def test_an_invalid_config_is_refused_with_the_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"strategy": "trading/alpha", "lease_name": "l"}), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "spyops",
            "detector",
            "--config",
            str(config),
            "--outbox",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    [line] = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    assert line["level"] == "error"
    assert str(config) in line["msg"]
    assert "gateway" in line["msg"]


async def test_the_process_serves_probes_and_stops_on_sigterm(tmp_path: Path) -> None:
    sim = GatewayServer(
        build_model_source(7, dt.date(2026, 11, 20), dt.time(10, 0)),
        settings=ServerSettings(port=0, control_port=0),
        config=GatewayConfig(market_data_lines=21),
    )
    await sim.start()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "strategy": "trading/alpha",
                "gateway": {"host": "127.0.0.1", "port": sim.port, "client_id_base": 300},
                "lease_name": "alpha-leader",
                "detector": {"max_market_data_lines": 21},
            }
        ),
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "spyops",
        "detector",
        "--config",
        str(config),
        "--probe-port",
        "0",
        "--stream-port",
        "0",
        "--host",
        "127.0.0.1",
        "--outbox",
        str(tmp_path / "outbox.sqlite3"),
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[dict[str, Any]] = []
    started = asyncio.Event()

    async def read_logs() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            record = json.loads(raw)  # every line is one JSON object
            lines.append(record)
            if record["msg"] == "detector started":
                started.set()

    reader = asyncio.create_task(read_logs())
    try:
        await asyncio.wait_for(started.wait(), 60)
        first = next(r for r in lines if r["msg"] == "detector started")
        assert first["component"] == "detector"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{first['probe_port']}") as probes:
            for _ in range(600):
                if (await probes.get("/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            ready = await probes.get("/ready")
            assert ready.status_code == 200, ready.text
            metrics = (await probes.get("/metrics")).text
            assert metrics_text.value(metrics, "spyops_detector_subscribed_lines") == 21.0
            mode = {"component": "detector", "mode": "direct"}
            assert metrics_text.value(metrics, "spyops_outbox_mode", mode) == 1.0
        async with (
            httpx.AsyncClient(timeout=10) as client,
            client.stream("GET", f"http://127.0.0.1:{first['stream_port']}/v1/signals/stream") as stream,
        ):
            hello = json.loads(await anext(stream.aiter_lines()))
            assert hello["hello"]["epoch"] == first["epoch"]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        await asyncio.wait_for(reader, 10)
        assert lines[-1]["msg"] == "detector stopped"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await sim.stop()
