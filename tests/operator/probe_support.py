"""`spyops gateway-probe` as its own process, and a gateway simulator for it to probe."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from spyops.gatewaysim.server import GatewayServer, ServerSettings
from tests.gatewaysim.chain_source import ScriptedChain


@asynccontextmanager
async def running_simulator() -> AsyncIterator[GatewayServer]:
    server = GatewayServer(ScriptedChain(), settings=ServerSettings(port=0, control_port=0))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def run_probe(port: int, *extra: str) -> tuple[int, dict[str, Any]]:
    """(exit code, the JSON line it printed); ``extra`` may override ``--timeout`` (the last wins)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "spyops", "gateway-probe", "--port", str(port), "--timeout", "10", *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    lines = stdout.decode().strip().splitlines()
    assert lines, stderr.decode()[-3000:]
    return process.returncode, json.loads(lines[-1])
