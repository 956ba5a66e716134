"""Malformed, truncated, oversized and random frames never crash the simulator or disturb
other clients; the bad client gets an error or is disconnected.

The simulator runs in its own thread and loop, with a well-behaved ib_async client
streaming quotes on it; hypothesis drives raw sockets at it. After every example the
server must still answer a fresh handshake, and at the end the healthy client must
still be connected and receiving ticks.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ib_async import IB, Option

from spyops.gatewaysim.protocol import In
from spyops.gatewaysim.server import GatewayServer, ServerSettings
from tests.gatewaysim.chain_source import ScriptedChain

HANDSHAKE = b"API\0" + struct.pack(">I", 9) + b"v157..178"


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def fields(*values: object) -> bytes:
    return frame("".join(f"{v}\0" for v in values).encode())


@dataclass
class Running:
    server: GatewayServer
    loop: asyncio.AbstractEventLoop
    chain: ScriptedChain
    healthy: IB
    ticker: Any

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="gatewaysim-fuzz", daemon=True)
    thread.start()
    chain = ScriptedChain()
    server = GatewayServer(chain, settings=ServerSettings(port=0, control_port=0))

    async def setup() -> tuple[IB, Any]:
        await server.start()
        ib = IB()
        await ib.connectAsync("127.0.0.1", server.port, clientId=1, timeout=10)
        option = Option("SPY", "20261120", 590, "C", "SMART")
        await ib.qualifyContractsAsync(option)
        return ib, ib.reqMktData(option)

    future: Future[tuple[IB, Any]] = asyncio.run_coroutine_threadsafe(setup(), loop)
    healthy, ticker = future.result(20)
    try:
        yield Running(server, loop, chain, healthy, ticker)
    finally:

        async def teardown() -> None:
            healthy.disconnect()
            await server.stop()

        asyncio.run_coroutine_threadsafe(teardown(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


_client_ids = itertools.count(1000)


def exchange(
    port: int, data: bytes, *, start_api: bool, read_for: float = 0.2, until: bytes | None = None
) -> tuple[bytes, bool]:
    """Send ``data`` (after a valid handshake and startApi when asked); return what came back
    and whether the server closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if start_api:
            sock.sendall(HANDSHAKE + fields(In.START_API, 2, next(_client_ids), ""))
        sock.sendall(data)
        sock.settimeout(read_for)
        received = b""
        closed = False
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
                if until is not None and until in received:
                    break
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
        return received, closed


def assert_server_alive(port: int) -> None:
    received, _ = exchange(port, b"", start_api=True, read_for=5.0, until=b"DU1234567")
    assert b"DU1234567" in received, "the server no longer completes a handshake"


field_text = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["", "0", "1", "-1", "SPY", "OPT", "STK", "BAG", "SMART", "BUY", "LMT", "20261120", "C", "Infinite"]
    ),
)
known_ids = st.sampled_from([int(m) for m in In])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.lists(field_text, min_size=0, max_size=40), msg_id=known_ids)
def test_structured_garbage_for_every_request_type(running: Running, payload: list[str], msg_id: int) -> None:
    data = fields(msg_id, *payload)
    received, _ = exchange(running.server.port, data, start_api=True, read_for=2.0, until=b"2158")
    assert b"DU1234567" in received  # it got through the handshake before the garbage
    assert_server_alive(running.server.port)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(min_size=0, max_size=512))
def test_random_bytes_in_frames(running: Running, blob: bytes) -> None:
    exchange(running.server.port, frame(blob), start_api=True, read_for=0.03)
    assert_server_alive(running.server.port)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(min_size=1, max_size=256))
def test_random_bytes_instead_of_a_handshake(running: Running, blob: bytes) -> None:
    exchange(running.server.port, blob, start_api=False, read_for=0.03)
    assert_server_alive(running.server.port)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=1, max_value=60))
def test_truncated_frames(running: Running, cut: int) -> None:
    whole = fields(
        In.REQ_MKT_DATA, 11, 5, 0, "SPY", "OPT", "20261120", 590, "C", "100", "SMART", "", "USD", "", ""
    )
    exchange(running.server.port, whole[: min(cut, len(whole) - 1)], start_api=True, read_for=0.03)
    assert_server_alive(running.server.port)


def test_oversized_frame_disconnects_the_sender(running: Running) -> None:
    received, closed = exchange(running.server.port, struct.pack(">I", 50 << 20) + b"x" * 100, start_api=True)
    assert closed
    assert b"exceeds the limit" in received
    assert_server_alive(running.server.port)


def test_malformed_request_gets_an_error_naming_the_field(running: Running) -> None:
    received, closed = exchange(
        running.server.port, fields(In.REQ_CONTRACT_DATA, 8, "not-a-number"), start_api=True
    )
    assert not closed
    assert b"321" in received
    assert b"field 'reqId'" in received


def test_healthy_client_was_never_disturbed(running: Running) -> None:
    # Runs last in this module: the client connected before all the abuse still works.
    assert running.healthy.isConnected()
    running.chain.set_quote(590.0, "C", 2.00, 2.10, 5, 5)

    async def quote_arrives() -> float:
        for _ in range(200):
            if running.ticker.bid == 2.0:
                break
            await asyncio.sleep(0.02)
        return float(running.ticker.bid)

    assert running.call(quote_arrives()) == 2.0

    async def current_time() -> object:
        return await running.healthy.reqCurrentTimeAsync()

    assert running.call(current_time()) is not None
    # Garbage was refused as invalid (321), never by a handler failing.
    registry = running.server.gateway.metrics.registry
    assert registry.get_sample_value("gatewaysim_handler_failures_total") == 0.0
    assert (registry.get_sample_value("gatewaysim_bad_messages_total") or 0) > 0
