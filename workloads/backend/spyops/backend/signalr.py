"""Publishing the live stream through Azure SignalR Service's data-plane REST API (serverless mode).

``POST {endpoint}/api/v1/hubs/{hub}`` with ``{"target": ..., "arguments": [message]}``, authorized
by a JWT signed HS256 with the connection string's AccessKey whose ``aud`` is the exact request
URL (no trailing slash, no query) and whose ``exp`` is a minute away. The service answers 202.

Publishing is off the request path: messages go to a bounded queue that one task drains, so an
unreachable SignalR never slows ingest; when the queue is full the message is dropped and counted
(the WebSocket stream and the history still have it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt

from spyops.backend.metrics import BackendMetrics

log = logging.getLogger(__name__)

_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}$")
TOKEN_LIFETIME_SECONDS = 60
MAX_BODY_BYTES = 1024 * 1024


class SignalRConfigError(ValueError):
    """The SignalR connection string or hub name is unusable (the message never shows the key)."""


@dataclass(frozen=True)
class SignalRConnection:
    endpoint: str  # scheme://host[:port], no trailing slash
    access_key: str

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"SignalRConnection(endpoint={self.endpoint!r}, access_key=<redacted>)"


def parse_connection_string(text: str) -> SignalRConnection:
    """Parse ``Endpoint=...;AccessKey=...;Version=1.0;[Port=...]`` (keys are case-insensitive)."""
    fields: dict[str, str] = {}
    for part in text.strip().split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise SignalRConfigError(f"SignalR connection string: segment {key.strip()!r} has no '='")
        fields[key.strip().lower()] = value.strip()
    endpoint = fields.get("endpoint", "")
    access_key = fields.get("accesskey", "")
    if not endpoint:
        raise SignalRConfigError("SignalR connection string: Endpoint is missing")
    if not access_key:
        if fields.get("authtype"):
            raise SignalRConfigError(
                "SignalR connection string: only AccessKey authentication is supported, not AuthType="
                + fields["authtype"]
            )
        raise SignalRConfigError("SignalR connection string: AccessKey is missing")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SignalRConfigError(f"SignalR connection string: Endpoint {endpoint!r} is not an http(s) URL")
    netloc = parts.netloc
    if "port" in fields:
        if not fields["port"].isdigit() or not 0 < int(fields["port"]) < 65536:
            raise SignalRConfigError(
                f"SignalR connection string: Port {fields['port']!r} is not a port number"
            )
        netloc = f"{parts.hostname}:{fields['port']}"
    return SignalRConnection(endpoint=urlunsplit((parts.scheme, netloc, "", "", "")), access_key=access_key)


def broadcast_url(connection: SignalRConnection, hub: str) -> str:
    if not _HUB_NAME.match(hub):
        raise SignalRConfigError(f"SignalR hub name {hub!r} is invalid")
    return f"{connection.endpoint}/api/v1/hubs/{hub}"


def access_token(url: str, access_key: str, *, now: float | None = None) -> str:
    """The service token for one REST call: aud = the URL without query or trailing slash."""
    issued = time.time() if now is None else now
    audience = url.split("?", 1)[0].rstrip("/")
    claims = {"aud": audience, "iat": int(issued), "exp": int(issued) + TOKEN_LIFETIME_SECONDS}
    return jwt.encode(claims, access_key, algorithm="HS256")


class SignalRPublisher:
    def __init__(
        self,
        connection: SignalRConnection,
        metrics: BackendMetrics,
        *,
        hub: str = "spyops",
        target: str = "spyops",
        queue_size: int = 1000,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._connection = connection
        self._url = broadcast_url(connection, hub)
        self._target = target
        self._metrics = metrics
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self._url

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout)
        self._task = asyncio.create_task(self._run(), name="signalr-publisher")

    async def stop(self, *, drain_seconds: float = 2.0) -> None:
        """Send what is queued (for at most ``drain_seconds``), then stop."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_seconds)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def publish_text(self, message_json: str) -> None:
        """Queue one live-stream message (already JSON text); never waits."""
        try:
            self._queue.put_nowait(message_json)
        except asyncio.QueueFull:
            self._metrics.signalr.labels(outcome="dropped").inc()

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._send(message)
            finally:
                self._queue.task_done()

    async def _send(self, message_json: str) -> None:
        assert self._client is not None
        body = f'{{"target":{_json_string(self._target)},"arguments":[{message_json}]}}'.encode()
        if len(body) > MAX_BODY_BYTES:
            self._metrics.signalr.labels(outcome="failed").inc()
            log.error("SignalR message of %d bytes exceeds the 1 MiB limit; not sent", len(body))
            return
        headers = {
            "Authorization": f"Bearer {access_token(self._url, self._connection.access_key)}",
            "Content-Type": "application/json",
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self._metrics.signalr.labels(outcome="failed").inc()
            log.warning("SignalR publish to %s failed: %s", self._url, type(exc).__name__)
            return
        if response.status_code in (200, 202):
            self._metrics.signalr.labels(outcome="sent").inc()
        else:
            self._metrics.signalr.labels(outcome="failed").inc()
            log.warning("SignalR publish to %s answered %d", self._url, response.status_code)


def _json_string(text: str) -> str:
    import json

    return json.dumps(text)
