"""A small backend for the outbox tests: records what arrives, dedupes by id, can be taken down.

It stands in for the real backend (built separately) with the same contract: POST a JSON
list to /v1/{signals,executions,orders} with a bearer token; 2xx means stored.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PATHS = ("signals", "executions", "orders")


@dataclass
class RecordingBackend:
    token: str
    port: int = 0
    host: str = "127.0.0.1"  # another address only where the test made it (e.g. inside a network namespace)
    stored: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {p: [] for p in PATHS})
    arrival: list[tuple[str, str]] = field(default_factory=list)  # (path, id) in the order stored
    posts: int = 0
    duplicates: int = 0
    fail_after_store: int = 0  # answer 500 after storing the next N batches (a lost acknowledgement)
    reject_bad: bool = True  # 422 for items with "bad": true
    throttle: list[str] = field(default_factory=list)  # answer 429 with these Retry-After values first
    post_times: list[float] = field(default_factory=list)  # time.monotonic() of every POST
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def total(self) -> int:
        return sum(len(v) for v in self.stored.values())

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/{kind}", self._ingest)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _ingest(self, request: web.Request) -> web.Response:
        self.posts += 1
        self.post_times.append(time.monotonic())
        if self.throttle:
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": self.throttle.pop(0)}
            )
        kind = request.match_info["kind"]
        if kind not in PATHS:
            return web.json_response({"error": "unknown kind"}, status=404)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        items = await request.json()
        if not isinstance(items, list):
            return web.json_response({"error": "body must be a JSON list"}, status=400)
        if self.reject_bad and any(item.get("bad") for item in items):
            return web.json_response({"error": "invalid item"}, status=422)
        seen = {item["id"] for item in self.stored[kind]}
        for item in items:
            if item["id"] in seen:
                self.duplicates += 1
                continue
            seen.add(item["id"])
            self.stored[kind].append(item)
            self.arrival.append((kind, item["id"]))
        if self.fail_after_store > 0:
            self.fail_after_store -= 1
            return web.json_response({"error": "lost ack"}, status=500)
        return web.json_response({"stored": len(items)}, status=201)
