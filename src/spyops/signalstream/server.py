"""HTTP side of the signal stream: `GET /v1/signals/stream?epoch=E&after=N` -> NDJSON lines.

A record is ``{"epoch", "seq", "traceparent"?, "signal"}``; ``traceparent`` (W3C trace context of the
detector's publish span) is there only when the detector traces, so a bot continues the trace.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from spyops.signalstream.log import SignalLog

HEARTBEAT_SECONDS = 1.0


def _resume_point(request: web.Request, log: SignalLog) -> int:
    epoch = request.query.get("epoch", "")
    raw_after = request.query.get("after", "0")
    try:
        after = int(raw_after)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=f"query parameter 'after' must be an integer, got {raw_after!r}"
        ) from exc
    if after < 0:
        raise web.HTTPBadRequest(text="query parameter 'after' must be >= 0")
    # A different epoch means the subscriber's position belongs to an earlier
    # detector process: start from the beginning of this one.
    return after if epoch == log.epoch else 0


def _record(epoch: str, seq: int, body: str, traceparent: str) -> bytes:
    """One NDJSON record; ``traceparent`` (W3C trace context) only when the signal was traced."""
    if traceparent:
        return b'{"epoch":"%s","seq":%d,"traceparent":"%s","signal":%s}\n' % (
            epoch.encode(),
            seq,
            traceparent.encode(),
            body.encode(),
        )
    return b'{"epoch":"%s","seq":%d,"signal":%s}\n' % (epoch.encode(), seq, body.encode())


def add_signal_stream(app: web.Application, log: SignalLog) -> None:
    """Serve ``log`` on ``app``; open streams end when the app shuts down (they never end on their own)."""
    open_streams: set[asyncio.Task[object]] = set()

    async def stream(request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        open_streams.add(task)
        try:
            return await _stream(request, log)
        finally:
            open_streams.discard(task)

    async def end_streams(_app: web.Application) -> None:
        for task in list(open_streams):
            task.cancel()

    app.add_routes([web.get("/v1/signals/stream", stream)])
    app.on_shutdown.append(end_streams)


async def _stream(request: web.Request, log: SignalLog) -> web.StreamResponse:
    after = _resume_point(request, log)
    response = web.StreamResponse(
        headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    await response.write(
        json.dumps({"hello": {"epoch": log.epoch, "last_seq": log.last_seq}}).encode() + b"\n"
    )
    while True:
        entries = log.after(after)
        if entries:
            chunk = b"".join(_record(log.epoch, seq, body, traceparent) for seq, body, traceparent in entries)
            await response.write(chunk)
            after = entries[-1][0]
            continue
        if not await log.wait_beyond(after, HEARTBEAT_SECONDS):
            await response.write(json.dumps({"heartbeat": time.time()}).encode() + b"\n")
