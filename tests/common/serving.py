"""A ProbeServer on a free loopback port for the length of a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from spyops.common.probes import ProbeServer


@asynccontextmanager
async def serving(server: ProbeServer) -> AsyncIterator[str]:
    port = await server.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.stop()
