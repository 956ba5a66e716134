"""One API connection: handshake, framing, pacing and writes. Requests go to the gateway."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from spyops.gatewaysim.protocol import MARKET_DATA_LIVE
from spyops.gatewaysim.versions import HandshakeError, negotiate, parse_offer
from spyops.gatewaysim.wire import FrameBuffer, ProtocolViolationError, encode_text_fields

if TYPE_CHECKING:
    from spyops.gatewaysim.gateway import Gateway

log = logging.getLogger("spyops.gatewaysim.session")

LINGER_SECONDS = 1.0


class ClientSession(asyncio.Protocol):
    """Server side of one TWS API socket."""

    def __init__(self, gateway: Gateway, connection_id: int) -> None:
        self.gateway = gateway
        self.connection_id = connection_id
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.framer = FrameBuffer(gateway.config.max_frame_bytes)
        # Negotiated in the handshake; every message to this client is laid out for it.
        self.server_version: int | None = None
        self.client_id: int | None = None
        self.closed = False
        self.connected_at = time.time()
        self.messages_in = 0
        self.messages_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.recent_in: deque[float] = deque()
        self.pacing_violation_seconds: deque[int] = deque()
        self.pacing_notified_second = -1
        self._out_second = 0
        self._out_this_second = 0
        self._out_last_second = 0
        self.market_data_type = MARKET_DATA_LIVE
        self.subscriptions: dict[int, int] = {}  # reqId -> conId
        self.positions_subscribed = False
        self.account_updates_subscribed = False
        self.account_summary_requests: dict[int, frozenset[str]] = {}
        self.account_multi_requests: set[int] = set()
        self.pnl_requests: set[int] = set()
        self.pnl_single_requests: dict[int, int] = {}  # reqId -> conId

    @property
    def version(self) -> int:
        """The negotiated server version; messages are only built after the handshake."""
        if self.server_version is None:
            raise RuntimeError("no server version before the handshake")
        return self.server_version

    # asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        self.gateway.connection_opened(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.bytes_in += len(data)
        try:
            frames = self.framer.feed(data)
        except ProtocolViolationError as exc:
            self.gateway.protocol_violation(self, str(exc))
            return
        for payload in frames:
            if self.closed:
                return
            if self.server_version is None:
                self._handshake(payload)
            else:
                self.gateway.handle_frame(self, payload)
        try:
            self.framer.check()
        except ProtocolViolationError as exc:
            if not self.closed:
                self.gateway.protocol_violation(self, str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.gateway.connection_closed(self)

    # handshake --------------------------------------------------------------------
    def _handshake(self, payload: bytes) -> None:
        text = payload.decode("ascii", errors="replace")
        try:
            version = negotiate(*parse_offer(text))
        except HandshakeError as exc:
            self.gateway.protocol_violation(self, str(exc))
            return
        self.server_version = version
        self.send(encode_text_fields([str(version), self.gateway.connection_time_text()]))

    # writes -----------------------------------------------------------------------
    def _count_out(self, messages: int) -> None:
        self.messages_out += messages
        second = int(time.monotonic())
        if second != self._out_second:
            self._out_last_second = self._out_this_second if second == self._out_second + 1 else 0
            self._out_second = second
            self._out_this_second = 0
        self._out_this_second += messages

    @property
    def messages_out_last_second(self) -> int:
        second = int(time.monotonic())
        if second == self._out_second:
            return self._out_last_second
        if second == self._out_second + 1:
            return self._out_this_second
        return 0

    def messages_in_last_second(self, now: float) -> int:
        recent = self.recent_in
        while recent and now - recent[0] > 1.0:
            recent.popleft()
        return len(recent)

    def send(self, message: bytes) -> None:
        transport = self.transport
        if self.closed or transport is None:
            return
        transport.write(message)
        self.bytes_out += len(message)
        self._count_out(1)
        self._check_backlog(transport)

    def send_many(self, messages: Iterable[bytes], count: int) -> None:
        transport = self.transport
        if self.closed or transport is None:
            return
        data = b"".join(messages)
        transport.write(data)
        self.bytes_out += len(data)
        self._count_out(count)
        self._check_backlog(transport)

    def _check_backlog(self, transport: asyncio.Transport) -> None:
        if transport.get_write_buffer_size() > self.gateway.config.max_write_buffer_bytes:
            log.warning(
                "client %s (%s) is not reading; dropping it",
                self.client_id,
                self.peer,
            )
            self.abort()

    def close(self) -> None:
        """Send what is queued, then end the connection.

        Closing a socket that still has unread input makes the kernel send a reset, which
        can destroy the error we just wrote before the client reads it. So: half-close
        (FIN after the queued bytes), ignore further input, and close shortly after.
        """
        transport = self.transport
        if transport is None or self.closed:
            return
        self.closed = True
        if transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
        else:
            transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()

    def describe(self, now: float) -> dict[str, object]:
        return {
            "connectionId": self.connection_id,
            "clientId": self.client_id,
            "peer": self.peer,
            "connectedAt": self.connected_at,
            "messagesIn": self.messages_in,
            "messagesOut": self.messages_out,
            "messagesInLastSecond": self.messages_in_last_second(now),
            "messagesOutLastSecond": self.messages_out_last_second,
            "bytesIn": self.bytes_in,
            "bytesOut": self.bytes_out,
            "marketDataType": self.market_data_type,
            "marketDataSubscriptions": len(self.subscriptions),
        }
