"""Subscriber side of the signal stream: reconnects with backoff and resumes where it left off."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from pydantic import ValidationError

from spyops.schemas import Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignalEnvelope:
    epoch: str
    seq: int
    signal: Signal
    traceparent: str | None = None  # W3C trace context the detector published it under, if traced


async def subscribe(
    url: str,
    *,
    heartbeat_timeout: float = 5.0,
    max_backoff: float = 5.0,
    session: aiohttp.ClientSession | None = None,
) -> AsyncIterator[SignalEnvelope]:
    """Yield signals from ``url`` (the detector's base URL) forever, across disconnects.

    A malformed line is logged and skipped (it cannot be acted on); the stream goes on.
    """
    epoch, seq = "", 0
    failures = 0
    own_session = session is None
    http = session or aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_read=heartbeat_timeout)
    )
    try:
        while True:
            try:
                params = {"epoch": epoch, "after": str(seq)}
                async with http.get(f"{url.rstrip('/')}/v1/signals/stream", params=params) as response:
                    response.raise_for_status()
                    failures = 0
                    async for raw in response.content:
                        line = raw.strip()
                        if not line:
                            continue
                        try:
                            message = json.loads(line)
                        except ValueError:
                            log.warning(
                                "signal stream sent a line that is not JSON", extra={"line": line[:200]}
                            )
                            continue
                        if "hello" in message:
                            if message["hello"].get("epoch") != epoch:
                                epoch, seq = str(message["hello"].get("epoch", "")), 0
                            continue
                        if "signal" not in message:
                            continue  # heartbeat
                        try:
                            signal = Signal.model_validate(message["signal"])
                        except ValidationError as exc:
                            log.warning(
                                "signal stream sent an invalid signal", extra={"error": str(exc)[:500]}
                            )
                            seq = int(message.get("seq", seq))
                            continue
                        seq = int(message["seq"])
                        raw_parent = message.get("traceparent")
                        yield SignalEnvelope(
                            epoch=epoch,
                            seq=seq,
                            signal=signal,
                            traceparent=raw_parent if isinstance(raw_parent, str) else None,
                        )
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures += 1
                delay = min(max_backoff, 0.1 * 2 ** min(failures, 6)) * (0.5 + random.random() / 2)  # noqa: S311
                log.info(
                    "signal stream disconnected; reconnecting",
                    extra={"error": str(exc) or type(exc).__name__, "retry_in_s": round(delay, 2)},
                )
                await asyncio.sleep(delay)
    finally:
        if own_session:
            await http.close()
