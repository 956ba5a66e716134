"""The live-stream hub: a client that stops reading is dropped; the others get every message."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from spyops.backend.hub import CLOSE_TOO_SLOW, Hub
from spyops.backend.metrics import BackendMetrics
from spyops.common.polling import until


class StubSocket:
    """Stands in for Starlette's WebSocket: records what is sent; ``stalled`` never finishes a send."""

    def __init__(self, *, stalled: bool = False) -> None:
        self.stalled = stalled
        self.sent: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self._incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send_text(self, text: str) -> None:
        if self.stalled and self.sent:
            await asyncio.Event().wait()  # a peer whose TCP window never opens
        self.sent.append(json.loads(text))

    async def receive(self) -> dict[str, Any]:
        return await self._incoming.get()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code

    def disconnect(self) -> None:
        self._incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})


async def test_slow_client_is_dropped_and_others_get_everything() -> None:
    metrics = BackendMetrics()
    hub = Hub(metrics, queue_size=4)
    fast, slow = StubSocket(), StubSocket(stalled=True)
    tasks = [asyncio.create_task(hub.serve(ws, {"n": 0})) for ws in (fast, slow)]  # type: ignore[arg-type]
    await until(lambda: hub.client_count == 2, 5)
    for n in range(20):
        hub.publish("signal", {"n": n})
        await asyncio.sleep(0)  # let the fast client's sender run, as the event loop would between requests
    await asyncio.wait_for(tasks[1], timeout=5)
    assert slow.closed_with == CLOSE_TOO_SLOW
    assert hub.client_count == 1
    assert metrics.ws_dropped._value.get() == 1
    await until(lambda: len(fast.sent) == 21, 5)
    assert [m["data"]["n"] for m in fast.sent[1:]] == list(range(20))
    fast.disconnect()
    await asyncio.wait_for(tasks[0], timeout=5)
    assert hub.client_count == 0
    assert fast.closed_with is None
