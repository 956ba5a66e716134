"""The live stream: every new signal, order update, execution and chain snapshot fanned out to all
connected dashboards over WebSocket.

Each client has a bounded queue. Publishing never waits: a message is serialized once and put on
every queue without blocking; a client whose queue is full is too slow and is disconnected
(close code 1013, "try again later": the dashboard reconnects and reloads history), so one slow
client never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from spyops.backend.metrics import BackendMetrics

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 256
CLOSE_TOO_SLOW = 1013


@dataclass(eq=False)
class _Client:
    websocket: WebSocket
    queue: asyncio.Queue[str]
    dropped: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    def __init__(self, metrics: BackendMetrics, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._metrics = metrics
        self._queue_size = queue_size
        self._clients: set[_Client] = set()

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def publish(self, kind: str, data: Any) -> str:
        """Queue ``{"type": kind, "data": data}`` for every client; return the text that was sent."""
        text = json.dumps({"type": kind, "data": data}, separators=(",", ":"))
        self.publish_text(kind, text)
        return text

    def publish_json(self, kind: str, data_json: str) -> str:
        """Like publish, for data already serialized to JSON (no decode and re-encode)."""
        text = f'{{"type":{json.dumps(kind)},"data":{data_json}}}'
        self.publish_text(kind, text)
        return text

    def publish_text(self, kind: str, text: str) -> None:
        self._metrics.broadcasts.labels(kind=kind).inc()
        for client in list(self._clients):
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._drop(client)

    def _drop(self, client: _Client) -> None:
        if client in self._clients:
            self._clients.discard(client)
            self._metrics.ws_clients.set(len(self._clients))
            self._metrics.ws_dropped.inc()
            client.dropped.set()
            log.warning("live-stream client dropped: its queue of %d messages was full", self._queue_size)

    async def serve(self, websocket: WebSocket, hello: dict[str, Any]) -> None:
        """Run one accepted connection until it closes or is dropped."""
        client = _Client(websocket, asyncio.Queue(maxsize=self._queue_size + 1))
        # The hello goes first in the client's own queue, so nothing published meanwhile is missed.
        client.queue.put_nowait(json.dumps({"type": "hello", "data": hello}, separators=(",", ":")))
        self._clients.add(client)
        self._metrics.ws_clients.set(len(self._clients))
        sender = asyncio.create_task(self._send_loop(client))
        receiver = asyncio.create_task(self._receive_loop(client))
        dropped = asyncio.create_task(client.dropped.wait())
        try:
            await asyncio.wait({sender, receiver, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver, dropped):
                task.cancel()
            await asyncio.gather(sender, receiver, dropped, return_exceptions=True)
            if client.dropped.is_set():
                with contextlib.suppress(Exception):
                    await websocket.close(
                        code=CLOSE_TOO_SLOW, reason="too slow: reconnect and reload history"
                    )
            else:
                self._clients.discard(client)
                self._metrics.ws_clients.set(len(self._clients))

    @staticmethod
    async def _send_loop(client: _Client) -> None:
        while True:
            text = await client.queue.get()
            await client.websocket.send_text(text)

    @staticmethod
    async def _receive_loop(client: _Client) -> None:
        # Dashboards send nothing but keepalives; reading is how a disconnect is noticed.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await client.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
