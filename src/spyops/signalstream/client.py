"""Subscriber side of the signal stream: reconnects with backoff and resumes where it left off."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from spyops.common.retry import Backoff, retry_after_from
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
    client: httpx.AsyncClient | None = None,
) -> AsyncIterator[SignalEnvelope]:
    """Yield signals from ``url`` (the detector's base URL) forever, across disconnects.

    A malformed line is logged and skipped (it cannot be acted on); the stream goes on. A read
    that waits longer than ``heartbeat_timeout`` (the server sends a heartbeat every second or so)
    counts as a disconnect.
    """
    epoch, seq = "", 0
    failures = 0
    backoff = Backoff(base=0.1, cap=max_backoff)
    own_client = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(None, read=heartbeat_timeout))
    try:
        while True:
            retry_after: float | None = None
            try:
                params = {"epoch": epoch, "after": str(seq)}
                async with http.stream(
                    "GET", f"{url.rstrip('/')}/v1/signals/stream", params=params
                ) as response:
                    if response.is_error:
                        retry_after = retry_after_from(response.headers)
                    response.raise_for_status()
                    failures = 0
                    async for raw in response.aiter_lines():
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
            except (httpx.HTTPError, TimeoutError) as exc:
                delay = backoff.delay(failures, retry_after)
                failures += 1
                log.info(
                    "signal stream disconnected; reconnecting",
                    extra={"error": str(exc) or type(exc).__name__, "retry_in_s": round(delay, 2)},
                )
                await asyncio.sleep(delay)
    finally:
        if own_client:
            await http.aclose()
