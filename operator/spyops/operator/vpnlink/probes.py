"""TCP connect probes across the tunnel: can we open a connection to each target, and how fast."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from collections.abc import Sequence
from dataclasses import dataclass

from spyops.operator.vpnlink.model import split_target


@dataclass(frozen=True)
class ProbeResult:
    target: str
    ok: bool
    latency_seconds: float | None  # time to an established connection; None when it failed
    error: str = ""


def _describe(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to host"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


async def probe_tcp(target: str, timeout_seconds: float) -> ProbeResult:
    """Open and close one TCP connection to ``host:port``; never raises."""
    try:
        host, port = split_target(target)
    except ValueError as exc:
        return ProbeResult(target, False, None, str(exc))
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_seconds):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeResult(target, False, None, f"no connection within {timeout_seconds:g} s")
    except OSError as exc:
        return ProbeResult(target, False, None, _describe(exc))
    latency = time.perf_counter() - started
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(target, True, latency)


async def probe_all(targets: Sequence[str], timeout_seconds: float) -> list[ProbeResult]:
    """Probe every target concurrently, in the given order."""
    return list(await asyncio.gather(*(probe_tcp(t, timeout_seconds) for t in targets)))
